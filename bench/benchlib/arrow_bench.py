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


def _ms(entry, kind="real_time"):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[entry["time_unit"]]
    return entry[kind] * scale


def markdown(gbench, js):
    """Rates from wall (real) time throughout, the same clock Arrow JS is timed by."""
    medians = _medians(gbench)
    memcpy = medians["BM_Memcpy"]
    # Google Benchmark's bytes_per_second is per CPU second: recover the bytes.
    body_bytes = memcpy["bytes_per_second"] * _ms(memcpy, "cpu_time") / 1e3

    def gbps(ms):
        return body_bytes / (ms / 1e3) / 1e9

    memcpy_gbps = gbps(_ms(memcpy))
    rows = [
        "| operation (1M rows: int64, timestamp, utf8 path ~45 B, binary 100 B; "
        f"{body_bytes / 1e6:.0f} MB of column data) | median wall ms | GB/s | vs memcpy |",
        "|---|---|---|---|",
        f"| memcpy of the same bytes (pre-faulted) | {_ms(memcpy):.1f} | {memcpy_gbps:.2f} | 1.00 |",
    ]
    labels = [
        ("BM_BuildTable", "zkarrow: build the batches (builder appends, row by row)"),
        ("BM_WriteIpcFile/compression:0", "zkarrow: write IPC file into a reused buffer"),
        ("BM_WriteIpcFile/compression:2", "zkarrow: write IPC file, zstd, reused buffer"),
        ("BM_WriteIpcFileFreshBuffer", "zkarrow: write IPC file into a new BufferOutputStream"),
        ("BM_ReadIpcFile/compression:0", "zkarrow: read IPC file (verify, zero-copy slices)"),
        ("BM_ReadIpcFile/compression:2", "zkarrow: read IPC file, zstd (decompress)"),
    ]
    for name, label in labels:
        entry = medians.get(name)
        if entry:
            rate = gbps(_ms(entry))
            rows.append(f"| {label} | {_ms(entry):.1f} | {rate:.2f} | {rate / memcpy_gbps:.2f} |")
    for key, label in (("write_ms", "Arrow JS: tableToIPC(table, 'file') (new buffer)"),
                       ("read_ms", "Arrow JS: tableFromIPC (no verification, zero-copy)")):
        ms = statistics.median(js[key])
        rows.append(f"| {label} | {ms:.1f} | {gbps(ms):.2f} | {gbps(ms) / memcpy_gbps:.2f} |")
    js_write = statistics.median(js["write_ms"])
    fresh = medians.get("BM_WriteIpcFileFreshBuffer")
    if fresh:
        rows += ["", "Writing into a new in-memory buffer (like for like with `tableToIPC`), "
                 f"Arrow JS takes {js_write:.0f} ms and zkarrow {_ms(fresh):.0f} ms: "
                 f"zkarrow / JS speed = {js_write / _ms(fresh):.2f} x. A new buffer costs "
                 "zkarrow the page faults of fresh memory (huge pages keep them few, and a "
                 "growing buffer moves its pages rather than copying them); a reused one "
                 "runs at memcpy speed."]
    rows += ["", "| open by mmap + read footer/schema | median wall us | file MB |",
             "|---|---|---|"]
    for rows_in_file in (1000, 1000000):
        entry = medians.get(f"BM_OpenPathMetadata/rows:{rows_in_file}")
        if entry:
            rows.append(f"| {rows_in_file:,} rows | {_ms(entry) * 1e3:.1f} "
                        f"| {entry.get('file_MB', 0):.1f} |")
    return "\n".join(rows)
