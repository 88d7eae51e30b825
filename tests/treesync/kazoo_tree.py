#!/usr/bin/python3
"""Dumps a ZooKeeper subtree with kazoo (an independent client) as JSON lines,
sorted by path, with what a restore must reproduce: data, ACL, shape, and
whether the node is ephemeral. Stats that a restore cannot keep (zxids,
times, versions) are left out. Paths are relative to ROOT ("/" for ROOT).

usage: kazoo_tree.py HOSTS ROOT [--auth SCHEME:CREDENTIAL] [--skip PREFIX]...
"""
import argparse
import json

from kazoo.client import KazooClient


def walk(zk, root, skip):
    """Level by level, each level's reads sent at once (kazoo's async API)."""
    out = []
    level = [root]
    while level:
        level = [p for p in level
                 if not any(p == s or p.startswith(s.rstrip("/") + "/") for s in skip)]
        reads = [(p, zk.get_async(p), zk.get_acls_async(p), zk.get_children_async(p))
                 for p in level]
        level = []
        for path, data_read, acl_read, children_read in reads:
            data, stat = data_read.get(timeout=60)
            acls, _ = acl_read.get(timeout=60)
            relative = path[len(root):] if root != "/" else path
            out.append({
                "path": relative or "/",
                # None: ZooKeeper's null data, which is not empty data.
                "data_hex": None if data is None else data.hex(),
                "acl": sorted([a.perms, a.id.scheme, a.id.id] for a in acls),
                "ephemeral": stat.ephemeralOwner != 0,
                "num_children": stat.numChildren,
            })
            for child in children_read.get(timeout=60):
                level.append(path.rstrip("/") + "/" + child)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("hosts")
    parser.add_argument("root")
    parser.add_argument("--auth")
    parser.add_argument("--skip", action="append", default=[])
    args = parser.parse_args()
    auth = []
    if args.auth:
        scheme, credential = args.auth.split(":", 1)
        auth = [(scheme, credential)]
    zk = KazooClient(hosts=args.hosts, auth_data=auth, timeout=30)
    zk.start(timeout=30)
    try:
        out = walk(zk, args.root, args.skip)
    finally:
        zk.stop()
        zk.close()
    out.sort(key=lambda row: row["path"].encode())
    for row in out:
        print(json.dumps(row, sort_keys=True))


if __name__ == "__main__":
    main()
