#!/usr/bin/python3
"""The oracle of the query tests: the same SQL run by Python's sqlite3 over a
plain table filled from a kazoo walk (an independent client).

usage:
  sqlite_oracle.py dump HOSTS DB [--auth SCHEME:CREDENTIAL]
      walks the whole tree with kazoo into table `znodes` of the SQLite file DB
  sqlite_oracle.py query DB SQL
      prints the result as JSON Lines: one object per row keyed by column
      name, blobs as base64 (as `zkarrow query --format json` prints them)

The table has the columns of zkarrow's znode table that a live walk fills
(not the typed ones): kind is ephemeral or persistent as a client sees it,
acl is the JSON zkarrow prints for it, ttl_ms is null.
"""
import base64
import json
import sqlite3
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError, NoNodeError

COLUMNS = ("path TEXT, name TEXT, parent TEXT, depth INTEGER, kind TEXT, data BLOB, "
           "data_length INTEGER, num_children INTEGER, version INTEGER, cversion INTEGER, "
           "aversion INTEGER, czxid INTEGER, mzxid INTEGER, pzxid INTEGER, "
           "ephemeral_owner INTEGER, ctime INTEGER, mtime INTEGER, ttl_ms INTEGER, acl TEXT, "
           "error TEXT")


def acl_json(acls):
    return json.dumps([{"perms": a.perms, "scheme": a.id.scheme, "id": a.id.id} for a in acls],
                      separators=(",", ":"))


def walk(zk, rows):
    stack = ["/"]
    while stack:
        path = stack.pop()
        data, error, stat = None, None, None
        try:
            data, stat = zk.get(path)
        except NoNodeError:
            continue
        except NoAuthError:
            error = "NOAUTH"
            stat = zk.exists(path)
            if stat is None:
                continue
        try:
            acl = acl_json(zk.get_acls(path)[0])
        except NoNodeError:
            continue
        except NoAuthError:  # getACL needs READ (or ADMIN) too
            acl = None
            error = error or "NOAUTH"
        name = path.rsplit("/", 1)[1]
        parent = None if path == "/" else (path.rsplit("/", 1)[0] or "/")
        depth = 0 if path == "/" else path.count("/")
        rows.append((path, name, parent, depth,
                     "ephemeral" if stat.ephemeralOwner else "persistent", data,
                     stat.dataLength, stat.numChildren, stat.version, stat.cversion,
                     stat.aversion, stat.czxid, stat.mzxid, stat.pzxid, stat.ephemeralOwner,
                     stat.ctime, stat.mtime, None, acl, error))
        if error:
            continue
        try:
            children = zk.get_children(path)
        except (NoNodeError, NoAuthError):
            continue
        for child in children:
            stack.append(path.rstrip("/") + "/" + child)


def dump(hosts, db_path, auth):
    zk = KazooClient(hosts=hosts, auth_data=auth, timeout=15)
    zk.start(timeout=15)
    rows = []
    walk(zk, rows)
    zk.stop()
    db = sqlite3.connect(db_path)
    db.execute("DROP TABLE IF EXISTS znodes")
    db.execute("CREATE TABLE znodes (" + COLUMNS + ")")
    db.executemany("INSERT INTO znodes VALUES (" + ",".join("?" * 20) + ")", rows)
    db.commit()
    print(len(rows))


def query(db_path, sql):
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA case_sensitive_like = ON")
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        out = {}
        for name, value in zip(names, row):
            if isinstance(value, bytes):
                value = base64.b64encode(value).decode()
            out[name] = value
        print(json.dumps(out))


def main():
    if sys.argv[1] == "dump":
        auth = None
        if len(sys.argv) > 5 and sys.argv[4] == "--auth":
            scheme, credential = sys.argv[5].split(":", 1)
            auth = [(scheme, credential)]
        dump(sys.argv[2], sys.argv[3], auth)
    else:
        query(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
