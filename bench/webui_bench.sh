#!/usr/bin/env bash
# The web UI's first paint and page memory at NODES znodes (bench/webui_bench.mjs
# in Debian's Chromium), against a `zkarrow serve --http` of the sample tree,
# with the peer in the same run: Node fetching and decoding the same table.
#
#   bench/webui_bench.sh BUILD_DIR [NODES] [RUNS]
#
# BUILD_DIR must have been configured with -DZKARROW_BENCH=ON and built with
# the targets zkarrow, bench_load_tree and bench_serve_tree. The tree is
# loaded once into bench/.cache/query-NODES (shared with query_bench.sh; a
# tree bench/run loaded is used too) and served again by later runs. Holds /tmp/zkarrow-heavy.lock. Prints the
# JSON line of webui_bench.mjs.
set -euo pipefail

if [[ -z "${ZKARROW_HEAVY_LOCKED:-}" ]]; then
  export ZKARROW_HEAVY_LOCKED=1
  exec flock /tmp/zkarrow-heavy.lock "$0" "$@"
fi

build=$(realpath "${1:?usage: bench/webui_bench.sh BUILD_DIR [NODES] [RUNS]}")
nodes=${2:-100000}
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
# A tree bench/run loaded (same generator, seed 42) serves as well.
cache="$here/.cache/query-$nodes"
for loaded in "$here"/.cache/tree-"$nodes"-seed42-*/tree.txt; do
  [[ -f "$loaded" && ! -f "$cache/tree.txt" ]] && cache=$(dirname "$loaded")
done
work=$(mktemp -d)
serve_pid=""
cleanup() {
  [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  exec 3>&-
  wait
  rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -f "$cache/tree.txt" ]]; then
  mkdir -p "$cache"
  "$build/bench/bench_load_tree" --root "$cache" --nodes "$nodes" >&2
fi

# ZooKeeper lives as long as our end of its stdin stays open (fd 3).
mkfifo "$work/stdin"
"$build/bench/bench_serve_tree" --root "$cache" <"$work/stdin" >"$work/zk.out" &
exec 3>"$work/stdin"
for _ in $(seq 600); do
  grep -q '^port=' "$work/zk.out" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' "$work/zk.out")
[[ -n "$port" ]] || { echo "bench_serve_tree did not start" >&2; exit 1; }

"$build/zkarrow" serve --zk "127.0.0.1:$port" --http 127.0.0.1:0 --store "$work/store" \
  --ports-file "$work/ports.json" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 1200); do
  if [[ -f "$work/ports.json" ]]; then
    http=$(sed -n 's/.*"http": *\([0-9]*\).*/\1/p' "$work/ports.json")
    curl -sf "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && break
  fi
  sleep 0.25
done
curl -sf "http://127.0.0.1:$http/healthz" >/dev/null || { cat "$work/serve.err" >&2; exit 1; }
rss_kb=$(ps -o rss= -p "$serve_pid" | tr -d ' ')
echo "bench: serve holds $nodes znodes, RSS $((rss_kb / 1024)) MB" >&2
node "$here/webui_bench.mjs" "http://127.0.0.1:$http" "$runs"
