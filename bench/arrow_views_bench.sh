#!/usr/bin/env bash
# What `--string-view` (path, name and parent as Utf8View) does to the znode
# table of the sample trees, against the default utf8 layout, in one run:
#   bytes of the file, uncompressed and zstd;
#   write: `zkarrow snapshot --data-dir` (offline, CPU-bound) with and without it;
#   read:  zkarrow reading every batch (`zkarrow convert X - --format stream`,
#          which decodes and validates each view, UTF-8 included) and Polars
#          (nodejs-polars readIPC, then a substring filter over every path).
# Median of --rounds runs. Uses the data directories bench/run keeps in
# bench/.cache (load them first with bench/run --nodes N).
#
#   bench/arrow_views_bench.sh [--rounds 3] [--zkarrow build/zkarrow] DATA_DIR NAME...
#   (pairs: bench/arrow_views_bench.sh bench/.cache/query-100000/server1/data 100k ...)
# Prints a Markdown table for bench/results/arrow-views.md.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
zkarrow=$PWD/build/zkarrow
while [[ $# -gt 0 && $1 == --* ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --zkarrow) zkarrow=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--zkarrow PATH] DATA_DIR NAME [DATA_DIR NAME...]" >&2; exit 2 ;;
  esac
done
if (($# == 0 || $# % 2 != 0)); then
  echo "usage: $0 [--rounds N] [--zkarrow PATH] DATA_DIR NAME [DATA_DIR NAME...]" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Median wall seconds of `rounds` runs of the command.
median() {
  local times=()
  for ((r = 0; r < rounds; ++r)); do
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "arrow_views_bench: failed: $*" >&2; exit 1; }
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((rounds + 1) / 2))p"
}

# Polars reads the file and scans every path (a substring filter).
polars_read() {
  (cd tests/interop && node --input-type=module -e "
    import pl from 'nodejs-polars';
    import { readFileSync } from 'node:fs';
    const df = pl.readIPC(readFileSync('$1'));
    if (df.filter(pl.col('path').str.contains('/brokers/')).height < 0) process.exit(1);")
}

echo "| tree | layout | compression | file MB | write s | zkarrow read s | Polars read s |"
echo "|---|---|---|---:|---:|---:|---:|"
while (($#)); do
  data_dir=$1 name=$2
  shift 2
  for compression in none zstd; do
    for layout in utf8 utf8_view; do
      out="$work/$name-$layout-$compression.arrow"
      flag=()
      [[ $layout == utf8_view ]] && flag=(--string-view)
      write=$(median "$zkarrow" snapshot --data-dir "$data_dir" -o "$out" \
        --compression "$compression" "${flag[@]}")
      read=$(median "$zkarrow" convert "$out" - --format stream)
      polars=$(median polars_read "$out")
      bytes=$(stat -c %s "$out")
      printf '| %s | %s | %s | %.1f | %.2f | %.2f | %.2f |\n' "$name" "$layout" "$compression" \
        "$(echo "$bytes / 1000000" | bc -l)" "$write" "$read" "$polars"
    done
  done
done
