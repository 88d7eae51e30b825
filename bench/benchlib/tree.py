"""The loaded sample tree: loaded once into bench/.cache, then served again.

Loading 100k znodes takes a while and 1M much longer, so the ZooKeeper data
directory is kept and a run restarts the server on it (bench_serve_tree).
"""
import contextlib
import os
import pathlib
import shutil
import subprocess
import sys

from benchlib import little_data


def read_tree_facts(root):
    """{"nodes": ..., "data_bytes": ..., "seed": ...} as bench_load_tree wrote them."""
    facts = {}
    for line in (root / "tree.txt").read_text().splitlines():
        key, value = line.split()
        facts[key] = int(value)
    return facts


def ensure_loaded(paths, nodes, seed):
    root = paths.tree_root(nodes, seed)
    if not (root / "tree.txt").exists():
        print(f"bench: loading the {nodes}-znode sample tree into {root} (once)", file=sys.stderr)
        shutil.rmtree(replay_dir(root), ignore_errors=True)
        subprocess.run([str(paths.load_tree), "--root", str(root), "--nodes", str(nodes),
                        "--seed", str(seed)], check=True)
        keep_for_replay(root)
    return root


def replay_dir(root):
    return root.parent / (root.name + "-replay")


def keep_for_replay(root):
    """The load's first snapshot and every log, before a restarted server's
    autopurge removes them: a data directory whose tree is the whole load
    replayed from the logs (one transaction per znode)."""
    data = next(root.rglob("version-2"))
    snapshots = sorted(data.glob("snapshot.*"), key=lambda p: int(p.name.split(".")[1], 16))
    folder = replay_dir(root) / "version-2"
    folder.mkdir(parents=True)
    for f in [snapshots[0]] + sorted(data.glob("log.*")):
        os.link(f, folder / f.name)


@contextlib.contextmanager
def served(paths, root):
    """Yields (connect string, server pid, data dir) of a running server."""
    host = subprocess.Popen([str(paths.serve_tree), "--root", str(root)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = host.stdout.readline()
        if not line:
            raise RuntimeError("bench_serve_tree did not start ZooKeeper")
        facts = dict(part.split("=", 1) for part in line.split())
        yield f"127.0.0.1:{facts['port']}", int(facts["pid"]), pathlib.Path(facts["data_dir"])
    finally:
        # Closing its stdin tells the host to stop the server and exit.
        host.stdin.close()
        try:
            host.wait(timeout=60)
        except subprocess.TimeoutExpired:
            host.kill()  # the server dies with it (PR_SET_PDEATHSIG)
            host.wait()


def newest_snapshot(data_dir):
    snapshots = sorted((data_dir / "version-2").glob("snapshot.*"),
                       key=lambda p: int(p.name.split(".")[1], 16))
    if not snapshots:
        raise RuntimeError(f"no snapshot in {data_dir}/version-2")
    return snapshots[-1]


def copy_for_offline(snapshot, target_root):
    """One snapshot alone in a version-2 folder: both offline tools read exactly it."""
    folder = target_root / "version-2"
    shutil.rmtree(target_root, ignore_errors=True)
    folder.mkdir(parents=True)
    copy = folder / snapshot.name
    shutil.copyfile(snapshot, copy)
    return target_root, copy


def little_data_copy(snapshot, target_root, keep_bytes=8):
    """The snapshot with every node's data cut to `keep_bytes`, alone in a
    version-2 folder (benchlib/little_data.py)."""
    folder = target_root / "version-2"
    shutil.rmtree(target_root, ignore_errors=True)
    folder.mkdir(parents=True)
    copy = folder / snapshot.name
    little_data.write_little_data_copy(snapshot, copy, keep_bytes)
    return target_root, copy
