#!/usr/bin/env bash
# zkarrow query against `snapshot` on the same live tree, in the same run:
#   - a subtree query (pushdown: only the subtree is walked) against a
#     full snapshot followed by the same query over the file;
#   - full-scan aggregates (without and with data) against the snapshot
#     alone: the cost of SQL over the same walk.
# Each figure is the best of RUNS wall-clock runs (the VM is shared and
# noisy; the best run is the least disturbed one).
#
#   bench/query_bench.sh BUILD_DIR [NODES] [RUNS]
#
# BUILD_DIR must have been configured with -DZKARROW_BENCH=ON and built with
# the targets zkarrow, bench_load_tree and bench_serve_tree. The tree is
# loaded once into bench/.cache/query-NODES and served again by later runs
# (bench/sample_zookeeper.sh).
# The whole run holds /tmp/zkarrow-heavy.lock (one heavy run at a time on
# the machine). Prints a Markdown table on stdout.
set -euo pipefail

if [[ -z "${ZKARROW_HEAVY_LOCKED:-}" ]]; then
  export ZKARROW_HEAVY_LOCKED=1
  exec flock /tmp/zkarrow-heavy.lock "$0" "$@"
fi

build=$(realpath "${1:?usage: bench/query_bench.sh BUILD_DIR [NODES] [RUNS]}")
nodes=${2:-100000}
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
zkarrow="$build/zkarrow"
work=$(mktemp -d)
trap 'exec 3>&- ; wait; rm -rf "$work"' EXIT
# shellcheck source=bench/sample_zookeeper.sh
source "$here/sample_zookeeper.sh"
start_sample_zookeeper

# Best wall-clock seconds of `runs` runs of the command.
best() {
  local best_s=""
  for _ in $(seq "$runs"); do
    local start end s
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    s=$(echo "$end - $start" | bc -l)
    if [[ -z "$best_s" ]] || (($(echo "$s < $best_s" | bc -l))); then best_s=$s; fi
  done
  printf '%.3f' "$best_s"
}

snapshot() { "$zkarrow" snapshot --zk "$zk" -o "$work/tree.arrow"; }
subtree_sql="SELECT count(*), sum(data_length) FROM znodes WHERE path LIKE '/kafka/brokers/topics/%'"
file_sql="SELECT count(*), sum(data_length) FROM read_arrow('$work/tree.arrow') WHERE path LIKE '/kafka/brokers/topics/%'"
snapshot_then_filter() { snapshot && "$zkarrow" query "$file_sql" --format csv; }

t_snapshot=$(best snapshot)
t_subtree=$(best "$zkarrow" query "$subtree_sql" --zk "$zk" --format csv)
t_snap_filter=$(best snapshot_then_filter)
t_count=$(best "$zkarrow" query "SELECT count(*) FROM znodes" --zk "$zk" --format csv)
t_data=$(best "$zkarrow" query "SELECT count(*), sum(length(data)) FROM znodes" --zk "$zk" --format csv)
subtree_rows=$("$zkarrow" query "$subtree_sql" --zk "$zk" --format csv | tail -1)
# Peak resident memory (KiB) of one run each: a query's scan is streamed.
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
rss_snapshot=$(rss "$zkarrow" snapshot --zk "$zk" -o "$work/tree.arrow")
rss_count=$(rss "$zkarrow" query "SELECT count(*) FROM znodes" --zk "$zk" --format csv)
rss_data=$(rss "$zkarrow" query "SELECT count(*), sum(length(data)) FROM znodes" --zk "$zk" --format csv)
ratio() { echo "scale=2; $1 / $2" | bc -l; }

cat <<EOF
Tree: $nodes znodes (sample tree), one local ZooKeeper; best of $runs runs, wall clock.

| run | seconds | ratio |
|---|---|---|
| \`snapshot\` of the whole tree | $t_snapshot | 1.00 |
| query: subtree \`/kafka/brokers/topics/%\` (count, sum; rows: $subtree_rows) | $t_subtree | $(ratio "$t_subtree" "$t_snapshot") |
| \`snapshot\` + the same query over the file | $t_snap_filter | $(ratio "$t_snap_filter" "$t_snapshot") |
| query: \`count(*)\` over the whole tree (no data kept) | $t_count | $(ratio "$t_count" "$t_snapshot") |
| query: \`count(*), sum(length(data))\` over the whole tree | $t_data | $(ratio "$t_data" "$t_snapshot") |

Pushdown speed-up (snapshot + filter over subtree query): $(ratio "$t_snap_filter" "$t_subtree")x.
Peak RSS: \`snapshot\` $((rss_snapshot / 1024)) MiB, query \`count(*)\` $((rss_count / 1024)) MiB, query \`count(*), sum(length(data))\` $((rss_data / 1024)) MiB.
SQL overhead of a full scan with data over \`snapshot\`: $(echo "scale=1; ($t_data / $t_snapshot - 1) * 100" | bc -l)%.
EOF
