# Sourced by the bench scripts: a real ZooKeeper serving the sample tree of
# $nodes znodes (seed 42), loaded once into bench/.cache/query-$nodes by
# bench_load_tree (or a tree bench/run loaded) and restarted on it by
# bench_serve_tree. Needs $build, $nodes, $here and $work (a scratch
# directory); sets $zk (HOST:PORT). ZooKeeper lives as long as file
# descriptor 3 (its stdin) stays open: close it (exec 3>&-) and wait.
start_sample_zookeeper() {
  local cache="$here/.cache/query-$nodes" loaded port
  for loaded in "$here"/.cache/tree-"$nodes"-seed42-*/tree.txt; do
    [[ -f "$loaded" && ! -f "$cache/tree.txt" ]] && cache=$(dirname "$loaded")
  done
  if [[ ! -f "$cache/tree.txt" ]]; then
    mkdir -p "$cache"
    "$build/bench/bench_load_tree" --root "$cache" --nodes "$nodes" >&2
  fi
  mkfifo "$work/zk.stdin"
  "$build/bench/bench_serve_tree" --root "$cache" <"$work/zk.stdin" >"$work/zk.out" &
  exec 3>"$work/zk.stdin"
  for _ in $(seq 600); do
    grep -q '^port=' "$work/zk.out" 2>/dev/null && break
    sleep 0.1
  done
  port=$(sed -n 's/^port=\([0-9]*\).*/\1/p' "$work/zk.out")
  [[ -n "$port" ]] || { echo "bench_serve_tree did not start" >&2; return 1; }
  zk="127.0.0.1:$port"
}
