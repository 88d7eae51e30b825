#!/usr/bin/env bash
# The web UI's first paint and page memory at NODES znodes (bench/webui_bench.mjs
# in Debian's Chromium), against a `zkarrow serve --http` of the sample tree,
# with the peer in the same run: Node fetching and decoding the same table.
#
#   bench/webui_bench.sh BUILD_DIR [NODES] [RUNS]
#
# BUILD_DIR must have been configured with -DZKARROW_BENCH=ON and built with
# the targets zkarrow, bench_load_tree and bench_serve_tree. The tree is
# loaded once and served again by later runs (bench/sample_zookeeper.sh).
# Holds /tmp/zkarrow-heavy.lock. Prints the JSON line of webui_bench.mjs.
set -euo pipefail

if [[ -z "${ZKARROW_HEAVY_LOCKED:-}" ]]; then
  export ZKARROW_HEAVY_LOCKED=1
  exec flock /tmp/zkarrow-heavy.lock "$0" "$@"
fi

build=$(realpath "${1:?usage: bench/webui_bench.sh BUILD_DIR [NODES] [RUNS]}")
nodes=${2:-100000}
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
serve_pid=""
cleanup() {
  if [[ -n "$serve_pid" ]]; then kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null || true; fi
  exec 3>&-
  wait
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/sample_zookeeper.sh
source "$here/sample_zookeeper.sh"
start_sample_zookeeper

"$build/zkarrow" serve --zk "$zk" --http 127.0.0.1:0 --store "$work/store" \
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
