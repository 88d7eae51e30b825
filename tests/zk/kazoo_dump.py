#!/usr/bin/python3
"""Dumps a ZooKeeper subtree with kazoo, the reference Python client, as JSON
lines (depth first, children sorted): path, data as hex, and every stat field.
Run with Debian's /usr/bin/python3, which has python3-kazoo.

usage: kazoo_dump.py HOST:PORT[,...] PATH
"""
import json
import sys

from kazoo.client import KazooClient

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
               "ephemeralOwner", "dataLength", "numChildren", "pzxid")


def dump(zk, path):
    data, stat = zk.get(path)
    record = {"path": path, "data_hex": (data or b"").hex()}
    for field in STAT_FIELDS:
        record[field] = getattr(stat, field)
    print(json.dumps(record, separators=(",", ":")))
    for child in sorted(zk.get_children(path)):
        dump(zk, path.rstrip("/") + "/" + child)


def main():
    hosts, root = sys.argv[1], sys.argv[2]
    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start(timeout=10)
    try:
        dump(zk, root)
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()
