#!/usr/bin/env bash
# Aggregates over a 10M-row Arrow IPC file: zkarrow query (SQLite over the
# memory-mapped file) against Polars' lazy scan (nodejs-polars, from
# tests/interop's node_modules), in the same run, each a separate process;
# best of RUNS wall-clock runs.
#
#   bench/query_polars_bench.sh BUILD_DIR [ROWS] [RUNS]
#
# The file (id int64, k = id % 1000, v real, s text) is made by zkarrow
# query itself into bench/.cache/query-ROWS.arrow once. Holds
# /tmp/zkarrow-heavy.lock. Prints a Markdown table on stdout.
set -euo pipefail

if [[ -z "${ZKARROW_HEAVY_LOCKED:-}" ]]; then
  export ZKARROW_HEAVY_LOCKED=1
  exec flock /tmp/zkarrow-heavy.lock "$0" "$@"
fi

build=$(realpath "${1:?usage: bench/query_polars_bench.sh BUILD_DIR [ROWS] [RUNS]}")
rows=${2:-10000000}
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
zkarrow="$build/zkarrow"
file="$here/.cache/query-$rows.arrow"

if [[ ! -f "$file" ]]; then
  mkdir -p "$here/.cache"
  "$zkarrow" query "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $rows - 1)
    SELECT i AS id, i % 1000 AS k, (i * 7919 % 100003) * 0.5 AS v, 'p' || (i % 100) AS s FROM n" \
    -o "$file.tmp" --format arrow
  mv "$file.tmp" "$file"
fi

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

total_sql="SELECT count(id) AS n, sum(v) AS total FROM read_arrow('$file')"
grouped_sql="SELECT k, count(id) AS n, sum(v) AS total FROM read_arrow('$file') GROUP BY k ORDER BY k"
# Both sides print their first row: they must agree.
echo "zkarrow: $("$zkarrow" query "$total_sql" --format csv | tail -1); $("$zkarrow" query "$grouped_sql" --format csv | sed -n 2p)" >&2
echo "polars:  $(node "$here/query_polars.mjs" "$file" total); $(node "$here/query_polars.mjs" "$file" grouped)" >&2

t_total=$(best "$zkarrow" query "$total_sql" --format csv)
t_polars_total=$(best node "$here/query_polars.mjs" "$file" total)
t_grouped=$(best "$zkarrow" query "$grouped_sql" --format csv)
t_polars_grouped=$(best node "$here/query_polars.mjs" "$file" grouped)
t_node=$(best node -e '')
ratio() { echo "scale=2; $1 / $2" | bc -l; }

cat <<EOT
File: $rows rows ($(du -m "$file" | cut -f1) MB), best of $runs runs, wall clock, process start included
(node alone starts in $t_node s).

| aggregate | zkarrow query (s) | Polars lazy scan (s) | zkarrow / Polars |
|---|---|---|---|
| \`count(id), sum(v)\` | $t_total | $t_polars_total | $(ratio "$t_total" "$t_polars_total") |
| \`GROUP BY k\` (1,000 groups): count, sum | $t_grouped | $t_polars_grouped | $(ratio "$t_grouped" "$t_polars_grouped") |
EOT
