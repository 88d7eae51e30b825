#!/usr/bin/python3
"""zkcopy's approach with kazoo, the peer of `zkarrow copy` in
bench/treesync_bench: read the source tree (data and ACLs, level by level,
every read of a level in flight at once), then write it to the target in
`multi` transactions of up to BATCH creates (and under 1 MB), many of them in
flight on one session, parents first. Ephemeral nodes are skipped, and so is
/zookeeper (the server's own subtree) when SOURCE_ROOT is "/", as zkarrow
does.

usage: kazoo_copy.py SOURCE_HOSTS SOURCE_ROOT TARGET_HOSTS TARGET_ROOT
                     [--batch N] [--in-flight N]
Prints one JSON line: {"znodes": N, "read_s": S, "write_s": S}.
"""
import argparse
import json
import time

from kazoo.client import KazooClient

LIMIT_BYTES = 900 * 1024  # under jute.maxbuffer (1 MiB), with room for headers


def read_tree(zk, root):
    nodes = []  # (relative path, data, acl) in parents-first order
    level = [root]
    while level:
        reads = [(p, zk.get_async(p), zk.get_acls_async(p), zk.get_children_async(p))
                 for p in level]
        level = []
        for path, data_read, acl_read, children_read in reads:
            data, stat = data_read.get(timeout=120)
            acls, _ = acl_read.get(timeout=120)
            children = children_read.get(timeout=120)
            if stat.ephemeralOwner != 0:
                continue
            relative = path[len(root):] if root != "/" else path
            nodes.append((relative, data, acls))
            level.extend(path.rstrip("/") + "/" + c for c in children
                         if not (path == "/" and c == "zookeeper"))
    return nodes


def write_tree(zk, root, nodes, batch_size, in_flight):
    pending = []
    transaction = zk.transaction()
    count = 0
    size = 0
    for relative, data, acls in nodes:
        if relative in ("", "/"):
            if root != "/" and not zk.exists(root):
                zk.create(root, data, acl=acls, makepath=True)
            continue
        path = root.rstrip("/") + relative
        transaction.create(path, data, acl=acls)
        count += 1
        size += len(data) + len(path) + 64
        if count >= batch_size or size >= LIMIT_BYTES:
            pending.append(transaction.commit_async())
            transaction = zk.transaction()
            count = size = 0
            if len(pending) >= in_flight:
                check(pending.pop(0).get(timeout=120))
    if count:
        pending.append(transaction.commit_async())
    for result in pending:
        check(result.get(timeout=120))


def check(results):
    for result in results:
        if isinstance(result, Exception):
            raise result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source_hosts")
    parser.add_argument("source_root")
    parser.add_argument("target_hosts")
    parser.add_argument("target_root")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=8)
    args = parser.parse_args()
    source = KazooClient(hosts=args.source_hosts, timeout=30)
    target = KazooClient(hosts=args.target_hosts, timeout=30)
    source.start(timeout=30)
    target.start(timeout=30)
    try:
        started = time.monotonic()
        nodes = read_tree(source, args.source_root)
        read_done = time.monotonic()
        write_tree(target, args.target_root, nodes, args.batch, args.in_flight)
        write_done = time.monotonic()
    finally:
        source.stop()
        target.stop()
    print(json.dumps({"znodes": len(nodes), "read_s": read_done - started,
                      "write_s": write_done - read_done}))


if __name__ == "__main__":
    main()
