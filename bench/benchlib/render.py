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
        sections += offline_sections(results, rows)
    if results.get("arrow"):
        sections += ["## Arrow IPC (bench_arrow_ipc, Google Benchmark, median of 3)", "",
                     arrow_bench.markdown(results["arrow"]["gbench"], results["arrow"]["js"]), ""]
    sections += ["## Goals", ""] + goals(summaries, nodes) + [""]
    paths.results.mkdir(parents=True, exist_ok=True)
    # An offline-only run (--skip-live) has a report of its own, so that it
    # never replaces the live tables of the last full run.
    stem = "offline" if results.get("offline_only") else "results"
    (paths.results / f"{stem}-{size}.md").write_text("\n".join(sections))
    (paths.results / f"{stem}-{size}.json").write_text(json.dumps(results, indent=1,
                                                                    default=str))
    return "\n".join(sections)


CASE_TITLES = {
    "sample": "the sample tree's newest snapshot",
    "little data": "the same snapshot with every node's data cut to 8 bytes "
                   "(bench/benchlib/little_data.py; seal and digest recomputed)",
    "replay": "the load's first snapshot (an empty tree) and every transaction log after it: "
              "the whole tree replayed from the logs, one transaction per znode",
}


def _case_of(name):
    for case in ("little data", "replay"):
        if name.endswith(f"({case})"):
            return case
    return "sample"


def offline_sections(results, rows):
    """One table per offline case, then the floor (limit) next to zkarrow."""
    cases = results.get("offline_cases") or {"sample": results["snapshot"]}
    out = []
    for case, facts in cases.items():
        chosen = [r for r in rows if _case_of(r["name"]) == case]
        if not chosen:
            continue
        logs = f", {len(facts['logs'])} logs of {facts['log_bytes'] / 1e6:.1f} MB" \
            if facts.get("logs") else ""
        out += [f"## Offline, {case}: {CASE_TITLES[case]} ({facts['name']}, "
                f"{facts['bytes'] / 1e6:.1f} MB{logs}), whole process including JVM start", "",
                report.markdown_table(chosen, chosen[0]["name"]), ""]
        limit = next((r for r in chosen if r["name"].startswith("limit:")), None)
        ours = chosen[0]
        if limit and limit.get("figures"):
            f = limit["figures"]
            floor = f["read_s"] + f["memcpy_s"]
            out += [f"Limit: reading the {f['input_bytes'] / 1e6:.1f} MB snapshot from the page "
                    f"cache takes {f['read_s']:.3f} s and a memcpy of the "
                    f"{f['output_bytes'] / 1e6:.1f} MB Arrow file {f['memcpy_s']:.3f} s: "
                    f"{floor:.3f} s together, against {ours['wall_median_s']:.3f} s for "
                    f"{ours['name']} ({ours['wall_median_s'] / floor:.1f} x the floor; the "
                    "limit row's wall time also holds its process start and the faults of "
                    "its own buffers).", ""]
    return out


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
        verdict(ratio("offline", "zkarrow --data-dir", "SnapshotFormatter -d"), 40,
                "offline --data-dir vs SnapshotFormatter -d"),
        verdict(ratio("offline", "zkarrow --data-dir (little data)",
                      "SnapshotFormatter -d (little data)"), 40,
                "offline --data-dir vs SnapshotFormatter -d, little data per node"),
        verdict(ratio("offline", "zkarrow --data-dir (replay)",
                      "ZooKeeper restore + dump (replay)"), 40,
                "offline --data-dir replaying the logs vs ZooKeeper's restore + dump"),
        verdict(ratio("offline", "zkarrow txnlog (replay)", "TxnLogToolkit (replay)"), 40,
                "txnlog vs TxnLogToolkit over the same logs"),
    ]
    offline = row("offline", "zkarrow --data-dir")
    if offline and nodes >= 900000:
        met = "met" if offline["wall_median_s"] < 0.6 else "NOT met"
        lines.append(f"- 1M-znode --data-dir whole process: **{offline['wall_median_s']:.2f} s** "
                     f"(goal < 0.6 s): {met}")
    ours = row("live", "zkarrow")
    if ours and nodes >= 900000:
        met = "met" if ours["peak_rss_mb"] < 200 else "NOT met"
        lines.append(f"- 1M-znode live snapshot peak RSS: **{ours['peak_rss_mb']:.0f} MB** "
                     f"(goal < 200 MB): {met}")
    else:
        rss = f"{ours['peak_rss_mb']:.0f} MB at {nodes:,} znodes" if ours else "not measured"
        lines.append(f"- 1M-znode snapshot under 200 MB RSS: see results-1M.md ({rss} here)")
    return lines
