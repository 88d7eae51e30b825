#!/usr/bin/python3
"""Counts kazoo TreeCache events under ROOT for SECONDS after its initial load
and prints their rate over the time from the first to the last event
(watch_bench runs it beside zkarrow watch while a writer sets nodes).

usage: watch_treecache.py HOSTS ROOT SECONDS
"""
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.recipe.cache import TreeCache, TreeEvent


def main():
    hosts, root, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    zk = KazooClient(hosts=hosts, timeout=15)
    zk.start(timeout=15)
    initialized = threading.Event()
    counts = {"events": 0, "first": None, "last": None}

    def listener(event):
        if event.event_type == TreeEvent.INITIALIZED:
            initialized.set()
        elif event.event_type in (TreeEvent.NODE_ADDED, TreeEvent.NODE_UPDATED,
                                  TreeEvent.NODE_REMOVED):
            now = time.monotonic()
            counts["events"] += 1
            counts["first"] = counts["first"] or now
            counts["last"] = now

    cache = TreeCache(zk, root)
    cache.listen(listener)
    cache.start()
    initialized.wait(60)
    counts.update(events=0, first=None, last=None)
    time.sleep(seconds)
    span = (counts["last"] or 0) - (counts["first"] or 0)
    print(f"{counts['events'] / span if span > 0 else 0:.0f}", flush=True)
    cache.close()
    zk.stop()


if __name__ == "__main__":
    main()
