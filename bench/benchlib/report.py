"""Turns measurements into the markdown table and the bar chart."""
import statistics
import subprocess


def summarize(method, runs, tree_nodes, tree_bytes):
    walls = [r.wall_s for r in runs]
    wall = statistics.median(walls)
    server = [r.server_cpu_s for r in runs if r.server_cpu_s is not None]
    return {
        "name": method.name,
        "what": method.what,
        "is_zkarrow": method.is_zkarrow,
        "runs": len(runs),
        "failed_runs": sum(1 for r in runs if r.exit_code != 0 or r.timed_out),
        "wall_median_s": wall,
        "wall_min_s": min(walls),
        "wall_max_s": max(walls),
        "znodes_seen": sorted({r.znodes for r in runs}, key=lambda n: (n is None, n)),
        "znodes_per_s": tree_nodes / wall,
        "mb_per_s": tree_bytes / 1e6 / wall if method.reads_data else None,
        "client_cpu_s": statistics.median(r.client_cpu_s for r in runs),
        "server_cpu_s": statistics.median(server) if server else None,
        "peak_rss_mb": max(r.peak_rss_mb for r in runs),
        "figures": _median_figures([r.figures for r in runs if r.figures]),
    }


def _median_figures(figures):
    """Per key, the median over the runs of what a method timed itself."""
    if not figures:
        return None
    return {key: statistics.median(f[key] for f in figures) for key in figures[0]
            if isinstance(figures[0][key], (int, float))}


def _number(value, digits=1):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def markdown_table(rows, baseline_name):
    """One row per method; 'zkarrow is Nx' compares median wall times."""
    baseline = next(r for r in rows if r["name"] == baseline_name)
    lines = [
        f"| method | median s (min-max) | znodes/s | MB/s | {baseline_name} is N x faster "
        "| server CPU s | client CPU s | peak RSS MB | znodes seen |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        speedup = r["wall_median_s"] / baseline["wall_median_s"]
        seen = ", ".join("?" if n is None else f"{n:,}" for n in r["znodes_seen"])
        if r["failed_runs"]:
            seen += f" ({r['failed_runs']} failed)"
        name = f"**{r['name']}**" if r["is_zkarrow"] else r["name"]
        lines.append(
            f"| {name} | {r['wall_median_s']:.2f} ({r['wall_min_s']:.2f}-{r['wall_max_s']:.2f}) "
            f"| {r['znodes_per_s']:,.0f} | {_number(r['mb_per_s'])} | {speedup:.2f} x "
            f"| {_number(r['server_cpu_s'], 2)} | {r['client_cpu_s']:.2f} "
            f"| {r['peak_rss_mb']:.0f} | {seen} |")
    return "\n".join(lines)


def bar_chart(rows, png_path, title):
    """znodes/s per method, log scale: the methods differ by orders of magnitude."""
    data_path = png_path.with_suffix(".dat")
    with open(data_path, "w") as data:
        for r in rows:
            data.write(f"\"{r['name']}\" {r['znodes_per_s']:.0f}\n")
    script = f"""
set terminal png size 1100,600 font ",10"
set output "{png_path}"
set title "{title}"
set ylabel "znodes/s (median, log scale)"
set logscale y
set style fill solid 0.8
set boxwidth 0.7
set xtics rotate by -30
set grid ytics
unset key
plot "{data_path}" using 0:2:xtic(1) with boxes lc rgb "#3070b0", \\
     "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.7
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    data_path.unlink()
