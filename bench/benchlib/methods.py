"""The ways of reading a ZooKeeper tree that the benchmark compares.

Each method is one separate process. `count` turns what it printed into the
number of znodes it saw, so that a method that silently read less than the
whole tree shows up in the report instead of looking fast.
"""
import dataclasses
import json
import re
from typing import Callable, List

PYTHON = "/usr/bin/python3"  # Debian's, which has python3-kazoo
ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"  # its manifest names the rest
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
# Replies of 100 nodes with Solr schema files pass the Java client's default
# 1 MB frame limit; zkarrow's own limit is 64 MB.
JAVA_BIG_FRAMES = "-Djute.maxbuffer=67108864"


@dataclasses.dataclass
class Method:
    name: str
    what: str  # one line for the report
    argv: List[str]
    reads_data: bool
    count: Callable[[str, str], int]  # (stdout, stderr) -> znodes seen
    is_zkarrow: bool = False
    # stdout -> {name: seconds} a method times itself (the limit), or None
    figures: Callable[[str], dict] = None


def _count_json(stdout, _stderr):
    return json.loads(stdout.strip().splitlines()[-1])["nodes"]


def _count_zkarrow(_stdout, stderr):
    # The summary line: "zkarrow snapshot: 100,004 znodes (...)".
    found = re.findall(r"zkarrow snapshot: ([\d,]+) znodes", stderr)
    return int(found[-1].replace(",", "")) if found else None


def _count_path_lines(stdout, _stderr):
    return sum(1 for line in stdout.splitlines() if line.startswith("/"))


def _count_json_names(stdout, _stderr):
    # -json prints an ncdu-style tree: one {"name": ...} object per znode.
    return stdout.count('"name":')


def live_methods(paths, connect):
    """paths: a Paths; connect: "127.0.0.1:PORT"."""
    zkarrow = [str(paths.zkarrow), "snapshot", "--zk", connect, "-o"]
    out = paths.out_dir
    return [
        Method("zkarrow", "zkarrow snapshot, default settings (1 session, multiRead 250 x 8)",
               zkarrow + [str(out / "live.arrow")], True, _count_zkarrow, True),
        Method("zkarrow --sessions 2", "zkarrow snapshot over 2 sessions",
               zkarrow + [str(out / "live2.arrow"), "--sessions", "2"], True, _count_zkarrow, True),
        Method("zkarrow --no-data", "zkarrow snapshot, stat only",
               zkarrow + [str(out / "live-nodata.arrow"), "--no-data"], False, _count_zkarrow,
               True),
        Method("zkarrow --compression zstd", "zkarrow snapshot, zstd body compression",
               zkarrow + [str(out / "live-zstd.arrow"), "--compression", "zstd"], True,
               _count_zkarrow, True),
        Method("C client walk (1000 in flight)",
               "libzookeeper-mt, zoo_aget + zoo_aget_children, 1000 requests outstanding",
               [str(paths.c_walk), connect, "1000"], True, _count_json),
        Method("Java multiRead walk (100 x 16)",
               "ZooKeeper Java client, multi() of getData+getChildren, 100 nodes x 16 in flight",
               ["java", JAVA_BIG_FRAMES, "-cp", f"{paths.java_classes}:{ZOOKEEPER_JAR}",
                "JavaMultiReadWalk", connect, "100", "16"], True, _count_json),
        Method("kazoo sync walk", "kazoo, recursive get + get_children (zk-shell style)",
               [PYTHON, str(paths.bench / "kazoo_walk.py"), connect, "sync"], True, _count_json),
        Method("kazoo async walk (1000 in flight)", "kazoo, get_async + get_children_async",
               [PYTHON, str(paths.bench / "kazoo_walk.py"), connect, "async", "1000"], True,
               _count_json),
        Method("zkCli.sh ls -R /", "ZooKeeper's shell, names only (no data, no stat)",
               [ZKCLI, "-server", connect, "ls", "-R", "/"], False, _count_path_lines),
    ]


def _count_txnlog(_stdout, stderr):
    # "zkarrow txnlog: 1,000,012 transactions (...)": rows are transactions, not znodes.
    found = re.findall(r"zkarrow txnlog: ([\d,]+) transactions", stderr)
    return int(found[-1].replace(",", "")) if found else None


def _count_txn_dump_lines(stdout, _stderr):
    # TxnLogToolkit prints one line per transaction, each with "session 0x".
    return stdout.count(" session 0x")


def _count_none(_stdout, _stderr):
    return None


def _limit_figures(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def offline_methods(paths, case, snapshot_dir, snapshot_file):
    """The methods for one offline case: "sample", "little data" or "replay".

    Names carry the case (rotation and report key methods by name), except
    the sample tree's, which keep the names of earlier reports.
    """
    java = ["java", "-Xmx3g", "-cp", ZOOKEEPER_JAR, "org.apache.zookeeper.server.SnapshotFormatter"]
    suffix = "" if case == "sample" else f" ({case})"
    out = paths.out_dir / f"offline{suffix.replace(' ', '-').replace('(', '').replace(')', '')}.arrow"
    zkarrow = Method(f"zkarrow --data-dir{suffix}", "zkarrow snapshot --data-dir, Arrow file",
                     [str(paths.zkarrow), "snapshot", "--data-dir", str(snapshot_dir), "-o",
                      str(out)], True, _count_zkarrow, True)
    limit = Method(f"limit: read + memcpy{suffix}",
                   "the snapshot read from the page cache (cat > /dev/null) plus a memcpy of the "
                   "Arrow file's size (bench_offline_limit; its own timings, not the process)",
                   [str(paths.offline_limit), str(snapshot_file), str(out)], False, _count_none)
    limit.figures = _limit_figures
    if case == "replay":
        dump = ["java", "-Xmx3g", "-cp", f"{paths.java_classes}:{ZOOKEEPER_JAR}", "JavaDataDirDump"]
        return [
            zkarrow,
            Method("ZooKeeper restore + dump (replay)",
                   "FileTxnSnapLog.restore (a server's start: snapshot, then the logs), the tree "
                   "printed as SnapshotFormatter -d does (bench/java/JavaDataDirDump.java)",
                   dump + ["restore", str(snapshot_dir)], True, _count_path_lines),
            Method("zkarrow txnlog (replay)", "zkarrow txnlog over the same logs, Arrow file",
                   [str(paths.zkarrow), "txnlog", "--data-dir", str(snapshot_dir), "-o",
                    str(paths.out_dir / "txnlog.arrow")], True, _count_txnlog, True),
            Method("TxnLogToolkit (replay)",
                   "ZooKeeper's TxnLogToolkit dump of every log file, in one JVM",
                   dump + ["txnlog", str(snapshot_dir)], True, _count_txn_dump_lines),
        ]
    if case == "little data":
        return [zkarrow,
                Method(f"SnapshotFormatter -d{suffix}",
                       "ZooKeeper's SnapshotFormatter with data, to a file",
                       java + ["-d", str(snapshot_file)], True, _count_path_lines),
                limit]
    return [
        zkarrow,
        Method("SnapshotFormatter -d", "ZooKeeper's SnapshotFormatter with data, to a file",
               java + ["-d", str(snapshot_file)], True, _count_path_lines),
        Method("SnapshotFormatter", "ZooKeeper's SnapshotFormatter, stat only, to a file",
               java + [str(snapshot_file)], False, _count_path_lines),
        Method("SnapshotFormatter -json", "ZooKeeper's SnapshotFormatter, names and sizes as JSON",
               java + ["-json", str(snapshot_file)], False, _count_json_names),
        limit,
    ]
