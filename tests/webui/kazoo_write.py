#!/usr/bin/python3
"""One write through kazoo (an independent client), for the web UI's test.

usage: kazoo_write.py HOSTS set|create|delete PATH [DATA]
Prints the write's zxid (set, create) as a decimal number.
"""
import sys

from kazoo.client import KazooClient


def main():
    hosts, op, path = sys.argv[1:4]
    data = sys.argv[4].encode() if len(sys.argv) > 4 else b""
    zk = KazooClient(hosts=hosts)
    zk.start(timeout=10)
    try:
        if op == "set":
            print(zk.set(path, data).mzxid)
        elif op == "create":
            zk.create(path, data)
            print(zk.exists(path).mzxid)
        elif op == "delete":
            zk.delete(path)
            print(0)
        else:
            sys.exit("unknown operation " + op)
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()
