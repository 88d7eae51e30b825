"""Writes results/results-SIZE.md and live-SIZE.png from a results dict.

Kept apart from measuring so that a saved results-SIZE.json can be rendered
again (bench/run --render FILE) after a change to the report's layout.
"""
import json

from benchlib import arrow_bench, report


def size_label(nodes):
    return f"{nodes // 1000}k" if nodes < 1000000 else f"{nodes // 1000000}M"


def write(paths, results):
    size = size_label(results["nodes_requested"])
    nodes = results["tree_znodes"]
    before, after = results["machine_before"], results["machine_after"]
    summaries = results["summaries"]
    sections = [
        f"# zkarrow benchmark: {nodes:,}-znode sample tree", "",
        f"{results['date']}; {results['rounds']} rounds after one warm-up pass, methods "
        f"rotated; {results['tree']['data_bytes'] / 1e6:.1f} MB of znode data "
        f"(sample tree, seed {results['tree']['seed']}). Machine: {before['cpu']}, "
        f"{before['cores']} cores, load average {before['load_average'][0]:.1f} before / "
        f"{after['load_average'][0]:.1f} after. **Methods are measured in the same run on "
        "a shared machine: read the ratios, not the absolute times.**", ""]
    if results.get("only"):
        sections += [f"Only the methods matching `--only {results['only']}` were run.", ""]
    rows = summaries.get("live")
    if rows:
        sections += ["## Live: whole tree (children + data + stat) from a running ZooKeeper 3.8",
                     "", report.markdown_table(rows, rows[0]["name"]), ""]
        png = paths.results / f"live-{size}.png"
        report.bar_chart(rows, png, f"Reading a live {nodes:,}-znode tree (ZooKeeper 3.8)")
        sections += [f"![znodes/s per method]({png.name})", "",
                     "| method | what it does |", "|---|---|"]
        sections += [f"| {r['name']} | {r['what']} |" for r in rows]
        sections.append("")
    rows = summaries.get("offline")
    if rows:
        snapshot = results["snapshot"]
        sections += [f"## Offline: one snapshot file ({snapshot['name']}, "
                     f"{snapshot['bytes'] / 1e6:.1f} MB), whole process including JVM start", "",
                     report.markdown_table(rows, rows[0]["name"]), ""]
    if results.get("arrow"):
        sections += ["## Arrow IPC (bench_arrow_ipc, Google Benchmark, median of 3)", "",
                     arrow_bench.markdown(results["arrow"]["gbench"], results["arrow"]["js"]), ""]
    sections += ["## Goals", ""] + goals(summaries, nodes) + [""]
    paths.results.mkdir(parents=True, exist_ok=True)
    (paths.results / f"results-{size}.md").write_text("\n".join(sections))
    (paths.results / f"results-{size}.json").write_text(json.dumps(results, indent=1,
                                                                    default=str))
    return "\n".join(sections)


def goals(summaries, nodes):
    def row(group, name):
        return next((r for r in summaries.get(group, []) if r["name"] == name), None)

    def ratio(group, ours, theirs):
        a, b = row(group, ours), row(group, theirs)
        return None if not a or not b else b["wall_median_s"] / a["wall_median_s"]

    def verdict(value, goal, text):
        if value is None:
            return f"- {text}: not measured in this run"
        met = "met" if value >= goal else "NOT met"
        return f"- {text}: **{value:.1f} x** (goal >= {goal} x): {met}"

    lines = [
        verdict(ratio("live", "zkarrow", "C client walk (1000 in flight)"), 10,
                "live snapshot vs the C client pipelined walk"),
        verdict(ratio("live", "zkarrow", "Java multiRead walk (100 x 16)"), 1,
                "live snapshot vs the Java multiRead walker"),
        verdict(ratio("offline", "zkarrow --data-dir", "SnapshotFormatter -d"), 20,
                "offline --data-dir vs SnapshotFormatter -d"),
    ]
    ours = row("live", "zkarrow")
    if ours and nodes >= 900000:
        met = "met" if ours["peak_rss_mb"] < 200 else "NOT met"
        lines.append(f"- 1M-znode live snapshot peak RSS: **{ours['peak_rss_mb']:.0f} MB** "
                     f"(goal < 200 MB): {met}")
    else:
        rss = f"{ours['peak_rss_mb']:.0f} MB at {nodes:,} znodes" if ours else "not measured"
        lines.append(f"- 1M-znode snapshot under 200 MB RSS: see results-1M.md ({rss} here)")
    return lines
