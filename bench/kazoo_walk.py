#!/usr/bin/python3
"""Reads the whole tree (children, data and stat of every node) with kazoo.

    kazoo_walk.py HOST:PORT sync      # plain recursive get_children + get
    kazoo_walk.py HOST:PORT async [N] # N (default 1000) requests in flight

`sync` is what zk-shell and most scripts do; `async` is the most a kazoo
program gets out of the pipelined protocol. Prints
{"nodes": N, "data_bytes": B, "errors": E} on stdout.
"""
import collections
import json
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError


def child_path(parent, name):
    return "/" + name if parent == "/" else parent + "/" + name


def walk_sync(zk):
    nodes = data_bytes = 0
    stack = ["/"]
    while stack:
        path = stack.pop()
        try:
            data, _stat = zk.get(path)
            children = zk.get_children(path)
        except NoNodeError:
            continue
        nodes += 1
        data_bytes += len(data or b"")
        stack.extend(child_path(path, name) for name in children)
    return nodes, data_bytes, 0


def walk_async(zk, window):
    """Breadth-first; completions queue children, the main thread submits."""
    lock = threading.Condition()
    pending = collections.deque(["/"])
    state = {"outstanding": 0, "nodes": 0, "data_bytes": 0, "errors": 0}

    def on_data(result):
        with lock:
            try:
                data, _stat = result.get()
                state["nodes"] += 1
                state["data_bytes"] += len(data or b"")
            except NoNodeError:
                pass
            except Exception:
                state["errors"] += 1
            state["outstanding"] -= 1
            lock.notify()

    def on_children(path):
        def done(result):
            with lock:
                try:
                    pending.extend(child_path(path, name) for name in result.get())
                except NoNodeError:
                    pass
                except Exception:
                    state["errors"] += 1
                state["outstanding"] -= 1
                lock.notify()
        return done

    with lock:
        while True:
            while state["outstanding"] + 2 <= window and pending:
                path = pending.popleft()
                state["outstanding"] += 2
                zk.get_async(path).rawlink(on_data)
                zk.get_children_async(path).rawlink(on_children(path))
            if state["outstanding"] == 0 and not pending:
                break
            lock.wait()
    return state["nodes"], state["data_bytes"], state["errors"]


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("sync", "async"):
        sys.exit(__doc__)
    zk = KazooClient(hosts=sys.argv[1], timeout=30)
    zk.start(timeout=30)
    try:
        if sys.argv[2] == "sync":
            nodes, data_bytes, errors = walk_sync(zk)
        else:
            window = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
            nodes, data_bytes, errors = walk_async(zk, window)
    finally:
        zk.stop()
        zk.close()
    print(json.dumps({"nodes": nodes, "data_bytes": data_bytes, "errors": errors}))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
