"""A little-data copy of a real ZooKeeper snapshot: same nodes, stats and ACLs,
each node's data cut to its first few bytes.

SnapshotFormatter's time grows with the number of nodes more than with their
data, so a tree with little data per node is where a reader that is fast on
bytes has the smallest lead. The copy is a valid snapshot: the file seal and
the tree digest (DigestCalculator version 2) are computed again for the new
bytes, so both readers accept it and zkarrow still verifies the digest.
"""
import struct
import zlib

_STAT = struct.Struct(">qqqqiiiqq")  # czxid mzxid ctime mtime version cversion aversion owner pzxid
_DIGEST_STAT = struct.Struct(">qqqqqiiiq")  # czxid mzxid pzxid ctime mtime version cversion aversion owner


class _Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        start = self.at
        self.at += n
        if self.at > len(self.data):
            raise ValueError(f"snapshot ends inside a field at offset {start}")
        return start

    def int(self):
        return struct.unpack_from(">i", self.data, self.take(4))[0]

    def long(self):
        return struct.unpack_from(">q", self.data, self.take(8))[0]

    def buffer(self):
        n = self.int()
        return b"" if n < 0 else self.data[self.take(n):self.at]


def _seal(out):
    out += struct.pack(">q", zlib.adler32(bytes(out)))
    out += struct.pack(">i", 1) + b"/"


def write_little_data_copy(source, target, keep_bytes):
    """Writes `target`: the snapshot `source` with node data cut to `keep_bytes`."""
    r = _Reader(source.read_bytes())
    out = bytearray(r.data[:16])  # magic, version, dbid
    r.at = 16
    sessions = r.int()
    r.take(sessions * 12)
    acls = r.int()
    for _ in range(acls):
        r.long()
        for _ in range(r.int()):
            r.int()
            r.buffer()
            r.buffer()
    out += r.data[16:r.at]  # sessions and the ACL cache, unchanged
    digest = 0
    while True:
        path = r.buffer()
        if path == b"/":
            break
        data = r.buffer()[:keep_bytes]
        acl_and_stat = r.data[r.take(8 + _STAT.size):r.at]
        out += struct.pack(">i", len(path)) + path + struct.pack(">i", len(data)) + data
        out += acl_and_stat
        if not path.startswith(b"/zookeeper/"):
            czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, pzxid = \
                _STAT.unpack_from(acl_and_stat, 8)
            fixed = _DIGEST_STAT.pack(czxid, mzxid, pzxid, ctime, mtime, version, cversion,
                                      aversion, owner)
            digest += zlib.crc32(fixed, zlib.crc32(data, zlib.crc32(path)))
    out += struct.pack(">i", 1) + b"/"
    r.long()  # the old seal
    if r.buffer() != b"/":
        raise ValueError("the snapshot's seal is not followed by \"/\"")
    _seal(out)
    rest = len(r.data) - r.at
    if rest in (20 + 13, 20 + 13 + 8 + 13):  # the digest section (3.6+), then maybe the last zxid
        zxid, version = r.long(), r.int()
        r.long()
        digest = digest % (1 << 64)
        if digest >= 1 << 63:
            digest -= 1 << 64
        out += struct.pack(">qiq", zxid, version, digest)
        _seal(out)
        r.take(13)
    if len(r.data) - r.at == 8 + 13:
        out += struct.pack(">q", r.long())
        _seal(out)
    target.write_bytes(bytes(out))
