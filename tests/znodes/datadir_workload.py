"""Loads a ZooKeeper server with a tree for the offline-reader tests.

Usage: datadir_workload.py HOSTS OUTDIR

Runs the workload in steps. After each step it bumps /marker, whose mzxid is
then the server's last zxid, and dumps the whole tree as the server shows it
(OUTDIR/dump_<n>.jsonl: path, data hex, stat, acl). OUTDIR/steps.json lists
the steps with their zxids; OUTDIR/ops.jsonl lists the write operations in
order with the zxid each was given, where the client can learn it.
Runs with Debian's /usr/bin/python3 and python3-kazoo.
"""

import json
import os
import sys
from collections import namedtuple

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError
from kazoo.protocol.serialization import Create2, long_struct
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE

HOSTS, OUT = sys.argv[1], sys.argv[2]
AUTH = ("auth", "alice:secret")
CONTAINER_FLAGS = 4
TTL_FLAGS = 5  # PERSISTENT_WITH_TTL


class CreateContainer(Create2):
    type = 19


class CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    type = 21

    def serialize(self):
        b = Create2(self.path, self.data, self.acl, self.flags).serialize()
        b.extend(long_struct.pack(self.ttl))
        return b

    deserialize = Create2.deserialize


def client():
    zk = KazooClient(hosts=HOSTS, timeout=20)
    zk.start(timeout=30)
    zk.add_auth("digest", AUTH[1])
    return zk


ops = []


def record(kind, path, zxid=None):
    ops.append({"type": kind, "path": path, "zxid": zxid})


def create(zk, path, value=b"", **kwargs):
    real = zk.create(path, value, **kwargs)
    record("create", real, zk.exists(real).czxid)
    return real


def set_data(zk, path, value):
    stat = zk.set(path, value)
    record("setData", path, stat.mzxid)


def delete(zk, path):
    zk.delete(path)
    record("delete", path)


def raw_create(zk, request):
    result = zk.handler.async_result()
    zk._call(request, result)
    path, stat = result.get(timeout=20)
    record("createContainer" if request.type == 19 else "createTTL", path, stat.czxid)


def dump(zk, name):
    lines = []

    def walk(path):
        data, stat = zk.get(path)
        acl, _ = zk.get_acls(path)
        lines.append(json.dumps({
            "path": path,
            # None: ZooKeeper's null data, apart from empty data.
            "data": None if data is None else data.hex(),
            "stat": [stat.czxid, stat.mzxid, stat.ctime, stat.mtime, stat.version,
                     stat.cversion, stat.aversion, stat.ephemeralOwner,
                     stat.dataLength, stat.numChildren, stat.pzxid],
            "acl": [[a.perms, a.id.scheme, a.id.id] for a in acl],
        }))
        for child in sorted(zk.get_children(path)):
            walk(path.rstrip("/") + "/" + child)

    walk("/")
    with open(os.path.join(OUT, name), "w") as f:
        f.write("\n".join(sorted(lines, key=lambda l: json.loads(l)["path"].encode())) + "\n")


steps = []


def step(zk, name):
    if zk.exists("/marker"):
        stat = zk.set("/marker", name.encode())
        record("setData", "/marker", stat.mzxid)
        zxid = stat.mzxid
    else:
        create(zk, "/marker", name.encode())
        zxid = zk.exists("/marker").mzxid
    dump(zk, "dump_%s.jsonl" % name)
    steps.append({"name": name, "zxid": zxid, "dump": "dump_%s.jsonl" % name})


main = client()
owner = client()  # its ephemerals vanish when it closes

# Step 1: a varied tree, enough transactions for several snapshots.
create(main, "/app")
create(main, "/app/config", bytes(range(256)) * 3)
create(main, "/app/empty")
create(main, "/app/null", None)  # ZooKeeper's null data (length -1), not empty
create(main, "/app/to-null", b"x")
create(main, "/app/large", os.urandom(500 * 1024))
create(main, "/app/protected", b"secret", acl=[make_digest_acl("alice", "secret", all=True)])
create(main, "/app/readonly", b"r", acl=[make_digest_acl("alice", "secret", all=True)] +
       [OPEN_ACL_UNSAFE[0]._replace(perms=1)])
for i in range(5):
    create(main, "/app/seq-", b"s%d" % i, sequence=True)
create(owner, "/app/lock", b"held", ephemeral=True)
create(owner, "/app/worker-", b"w", ephemeral=True, sequence=True)
raw_create(main, CreateContainer("/app/box", b"c", OPEN_ACL_UNSAFE, CONTAINER_FLAGS))
create(main, "/app/box/item", b"i")
raw_create(main, CreateTTL("/app/ttl", b"t", OPEN_ACL_UNSAFE, TTL_FLAGS, 3600 * 1000))
create(main, "/bulk")
for i in range(120):
    create(main, "/bulk/n%03d" % i, b"v%d" % i)
step(main, "1")

# Step 2: sets, deletes, multis, ACL changes.
for i in range(0, 120, 3):
    set_data(main, "/bulk/n%03d" % i, b"changed-%d" % i)
for i in range(1, 120, 4):
    delete(main, "/bulk/n%03d" % i)
t = main.transaction()
t.create("/multi", b"m")
t.create("/multi/a", b"a")
t.set_data("/app/empty", b"now full")
t.delete("/bulk/n002")
t.check("/app", 0)
t.commit()
record("multi", None)
t = main.transaction()  # fails on the check: logged, changes nothing
t.create("/never", b"x")
t.check("/app", 99)
t.commit()
record("multi", None)
main.set_acls("/app/config", [OPEN_ACL_UNSAFE[0]._replace(perms=1)])
record("setACL", "/app/config")
set_data(main, "/app/large", os.urandom(400 * 1024))
set_data(main, "/app/to-null", None)
step(main, "2")

# Step 3: the owner's session closes; its ephemerals go. More churn.
owner.stop()
owner.close()
record("closeSession", None)
for i in range(40):
    create(main, "/bulk/late%02d" % i, b"")
delete(main, "/app/empty")
create(main, "/app/empty", b"again")
create(main, "/app/null-late", None)
step(main, "3")

# Final: every writer gone; a fresh session marks and dumps the end state.
main.stop()
main.close()
reader = client()
step(reader, "final")
reader.stop()
reader.close()

with open(os.path.join(OUT, "steps.json"), "w") as f:
    json.dump(steps, f)
with open(os.path.join(OUT, "ops.jsonl"), "w") as f:
    f.write("".join(json.dumps(op) + "\n" for op in ops))
