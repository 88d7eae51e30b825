#!/usr/bin/python3
"""Dumps a ZooKeeper subtree with kazoo (an independent client), one JSON object
per znode, sorted by path: the oracle the znode table is compared against.

usage: kazoo_dump.py HOSTS ROOT [--auth SCHEME:CREDENTIAL]
                     [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]
                     [--sasl-user USER --sasl-password-file FILE]  (DIGEST-MD5)

Mirrors what a careful client can read: a node whose data cannot be read
(NOAUTH) still gets its stat from exists() and an "error", and its children
are not visited when they cannot be listed.
"""
import argparse
import json
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError, NoNodeError

STAT_FIELDS = {
    "czxid": "czxid", "mzxid": "mzxid", "ctime": "ctime", "mtime": "mtime",
    "version": "version", "cversion": "cversion", "aversion": "aversion",
    "ephemeral_owner": "ephemeralOwner", "data_length": "dataLength",
    "num_children": "numChildren", "pzxid": "pzxid",
}


def stat_dict(stat):
    return {ours: getattr(stat, theirs) for ours, theirs in STAT_FIELDS.items()}


def walk(zk, path, out):
    row = {"path": path, "data_hex": None, "error": None}
    try:
        data, stat = zk.get(path)
        # None: ZooKeeper's null data (kazoo's get returns None), as the
        # znode table's null data cell without an error.
        row["data_hex"] = None if data is None else data.hex()
        row.update(stat_dict(stat))
    except NoNodeError:
        return
    except NoAuthError:
        row["error"] = "NOAUTH"
        stat = zk.exists(path)
        if stat is None:
            return
        row.update(stat_dict(stat))
    out.append(row)
    try:
        children = zk.get_children(path)
    except NoNodeError:
        return
    except NoAuthError:
        return
    for child in children:
        walk(zk, path.rstrip("/") + "/" + child, out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("hosts")
    parser.add_argument("root")
    parser.add_argument("--auth")
    parser.add_argument("--tls-ca")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--sasl-user")
    parser.add_argument("--sasl-password-file")
    args = parser.parse_args()
    auth = None
    if args.auth:
        scheme, credential = args.auth.split(":", 1)
        auth = [(scheme, credential)]
    secure = {}
    if args.tls_ca:
        secure.update(use_ssl=True, ca=args.tls_ca, certfile=args.tls_cert,
                      keyfile=args.tls_key)
    if args.sasl_user:
        with open(args.sasl_password_file) as f:
            password = f.readline().rstrip("\r\n")
        secure["sasl_options"] = {"mechanism": "DIGEST-MD5",
                                  "username": args.sasl_user,
                                  "password": password}
    zk = KazooClient(hosts=args.hosts, auth_data=auth, timeout=15, **secure)
    zk.start(timeout=15)
    sys.setrecursionlimit(10000)
    rows = []
    walk(zk, args.root, rows)
    zk.stop()
    rows.sort(key=lambda r: r["path"].encode("utf-8"))
    for row in rows:
        print(json.dumps(row, sort_keys=True))


if __name__ == "__main__":
    main()
