#!/usr/bin/python3
"""kazoo's TreeCache on ROOT, reporting what its listener is told, for
watch_bench to compare with zkarrow watch and Curator's CuratorCache on the
same tree and writer. Runs until stdin closes.

Output (stdout), the same protocol as java/CuratorCacheEvents.java:
  "ready" once the initial load is done, then one line per event,
  "EVENT PATH CZXID MZXID SEQ NANOS": EVENT is created, changed or deleted;
  SEQ the node's value read as a little-endian int64 when it is 8 bytes
  long (the bench writes sequence numbers), else -1; NANOS
  time.monotonic_ns() when the listener was called (CLOCK_MONOTONIC, the
  clock of the bench's steady_clock). When stdin closes, what the cache
  holds: one "cached PATH CZXID MZXID SEQ 0" line per node.
The listener only appends to a list; a second thread writes the lines every
100 ms, so printing does not slow the cache down.

usage: watch_treecache.py HOSTS ROOT SESSION_TIMEOUT_MS
"""
import struct
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.recipe.cache import TreeCache, TreeEvent

EVENTS = {
    TreeEvent.NODE_ADDED: "created",
    TreeEvent.NODE_UPDATED: "changed",
    TreeEvent.NODE_REMOVED: "deleted",
}


def describe(name, data, nanos):
    value = data.data or b""
    seq = struct.unpack("<q", value)[0] if len(value) == 8 else -1
    stat = data.stat
    czxid, mzxid = (stat.czxid, stat.mzxid) if stat else (0, 0)
    return f"{name} {data.path} {czxid} {mzxid} {seq} {nanos}"


def main():
    hosts, root, timeout_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # Retry forever: the bench cuts the connection on purpose.
    zk = KazooClient(hosts=hosts, timeout=timeout_ms / 1000.0,
                     connection_retry={"max_tries": -1, "max_delay": 1})
    zk.start(timeout=60)
    initialized = threading.Event()
    lines = []
    lock = threading.Lock()

    def listener(event):
        if event.event_type == TreeEvent.INITIALIZED:
            initialized.set()
            return
        name = EVENTS.get(event.event_type)
        if name is None or not initialized.is_set():
            return  # the initial load, or a connection state change
        line = describe(name, event.event_data, time.monotonic_ns())
        with lock:
            lines.append(line)

    def drain():
        with lock:
            taken = lines[:]
            del lines[:]
        if taken:
            sys.stdout.write("\n".join(taken) + "\n")
            sys.stdout.flush()

    cache = TreeCache(zk, root)
    cache.listen(listener)
    cache.start()
    if not initialized.wait(120):
        sys.exit("watch_treecache.py: the initial load took over 120 s")
    print("ready", flush=True)

    stopping = threading.Event()

    def writer():
        while not stopping.wait(0.1):
            drain()

    thread = threading.Thread(target=writer)
    thread.start()
    sys.stdin.read()  # until the bench closes stdin
    stopping.set()
    thread.join()
    pending = [root]
    while pending:
        path = pending.pop()
        data = cache.get_data(path)
        if data is not None:
            lines.append(describe("cached", data, 0))
        for child in cache.get_children(path) or ():
            pending.append(path.rstrip("/") + "/" + child)
    drain()
    cache.close()
    zk.stop()


if __name__ == "__main__":
    main()
