"""Where the benchmark finds its programs and keeps its files."""
import dataclasses
import hashlib
import pathlib

BENCH = pathlib.Path(__file__).resolve().parent.parent
REPO = BENCH.parent


@dataclasses.dataclass
class Paths:
    build: pathlib.Path
    bench: pathlib.Path = BENCH
    repo: pathlib.Path = REPO
    cache: pathlib.Path = BENCH / ".cache"  # gitignored: data dirs, outputs
    results: pathlib.Path = BENCH / "results"  # committed: the latest report

    @property
    def zkarrow(self):
        return self.build / "zkarrow"

    @property
    def c_walk(self):
        return self.build / "bench" / "bench_c_client_walk"

    @property
    def load_tree(self):
        return self.build / "bench" / "bench_load_tree"

    @property
    def serve_tree(self):
        return self.build / "bench" / "bench_serve_tree"

    @property
    def rusage_exec(self):
        return self.build / "bench" / "bench_rusage_exec"

    @property
    def offline_limit(self):
        return self.build / "bench" / "bench_offline_limit"

    @property
    def arrow_bench(self):
        return self.build / "bench" / "bench_arrow_ipc"

    @property
    def java_classes(self):
        return self.cache / "java"

    @property
    def out_dir(self):  # what the measured tools write; overwritten every run
        return self.cache / "out"

    def tree_root(self, nodes, seed):
        # Keyed by the generator's source too: a changed generator means a
        # different tree, which must be loaded afresh, not served stale.
        generator = self.repo / "src" / "sampletree" / "sample_tree.cc"
        version = hashlib.sha256(generator.read_bytes()).hexdigest()[:10]
        return self.cache / f"tree-{nodes}-seed{seed}-{version}"
