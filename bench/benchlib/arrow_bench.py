"""Arrow IPC throughput: zkarrow's Arrow layer vs memcpy vs Arrow JS."""
import json
import statistics
import subprocess


def run(paths):
    table_file = paths.cache / "arrow-1m.arrow"
    gbench_json = paths.cache / "arrow_ipc_gbench.json"
    subprocess.run([str(paths.arrow_bench), f"--arrow_file={table_file}",
                    "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true",
                    f"--benchmark_out={gbench_json}", "--benchmark_out_format=json"],
                   check=True, stdout=subprocess.DEVNULL)
    js = subprocess.run(["node", str(paths.bench / "arrow_js_bench.mjs"), str(table_file), "5"],
                        check=True, capture_output=True, text=True)
    table_file.unlink()
    return json.loads(gbench_json.read_text()), json.loads(js.stdout.strip().splitlines()[-1])


def _medians(gbench):
    """{benchmark name: its median aggregate}."""
    return {b["run_name"]: b for b in gbench["benchmarks"] if b.get("aggregate_name") == "median"}


def _ms(entry):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[entry["time_unit"]]
    return entry["real_time"] * scale


def markdown(gbench, js):
    medians = _medians(gbench)
    memcpy = medians["BM_Memcpy"]
    memcpy_gbps = memcpy["bytes_per_second"] / 1e9
    rows = [
        "| operation (1M rows, int64 + timestamp + utf8 path + 100 B binary) | median ms "
        "| GB/s of column data | vs memcpy |",
        "|---|---|---|---|",
        f"| memcpy of the same bytes | {_ms(memcpy):.1f} | {memcpy_gbps:.2f} | 1.00 |",
    ]
    labels = [
        ("BM_BuildTable", "build the batches (builder appends)"),
        ("BM_WriteIpcFile/compression:0", "zkarrow write IPC file (memory)"),
        ("BM_WriteIpcFile/compression:2", "zkarrow write IPC file, zstd"),
        ("BM_ReadIpcFile/compression:0", "zkarrow read IPC file (verify every buffer)"),
        ("BM_ReadIpcFile/compression:2", "zkarrow read IPC file, zstd"),
    ]
    for name, label in labels:
        entry = medians.get(name)
        if entry:
            gbps = entry["bytes_per_second"] / 1e9
            rows.append(f"| {label} | {_ms(entry):.1f} | {gbps:.2f} | {gbps / memcpy_gbps:.2f} |")
    bytes_moved = memcpy["bytes_per_second"] * _ms(memcpy) / 1e3
    for key, label in (("write_ms", "Arrow JS tableToIPC(table, 'file')"),
                       ("read_ms", "Arrow JS tableFromIPC (no verification)")):
        ms = statistics.median(js[key])
        gbps = bytes_moved / (ms / 1e3) / 1e9
        rows.append(f"| {label} | {ms:.1f} | {gbps:.2f} | {gbps / memcpy_gbps:.2f} |")
    write = medians.get("BM_WriteIpcFile/compression:0")
    if write:
        rows.append("")
        rows.append(f"zkarrow writes the IPC file {statistics.median(js['write_ms']) / _ms(write):.1f} x "
                    "faster than Arrow JS `tableToIPC` on the same table.")
    rows.append("")
    rows.append("| open by mmap + read footer/schema | median us | file MB |")
    rows.append("|---|---|---|")
    for rows_in_file in (1000, 1000000):
        entry = medians.get(f"BM_OpenPathMetadata/rows:{rows_in_file}")
        if entry:
            rows.append(f"| {rows_in_file:,} rows | {_ms(entry) * 1e3:.1f} "
                        f"| {entry.get('file_MB', 0):.1f} |")
    return "\n".join(rows)
