#!/usr/bin/python3
"""Writes ZooKeeper's null data (a jute buffer of length -1, what getData
then returns as null) with kazoo, an independent client: `create` makes each
PATH with null data, `set` sets each existing PATH's data to null.

usage: kazoo_null_data.py HOSTS create|set PATH... [--auth SCHEME:CREDENTIAL]
"""
import argparse

from kazoo.client import KazooClient


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("hosts")
    parser.add_argument("action", choices=["create", "set"])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--auth")
    args = parser.parse_args()
    auth = [tuple(args.auth.split(":", 1))] if args.auth else []
    zk = KazooClient(hosts=args.hosts, auth_data=auth, timeout=30)
    zk.start(timeout=30)
    try:
        for path in args.paths:
            if args.action == "create":
                zk.create(path, None)
            else:
                zk.set(path, None)
            data, _ = zk.get(path)
            assert data is None, "%s: expected null data, found %r" % (path, data)
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()
