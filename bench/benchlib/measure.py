"""Runs one command as a child process and measures it from the outside.

Wall time from the runner's monotonic clock; client CPU and peak RSS from
wait4's rusage, taken by bench_rusage_exec (rusage_exec.c says why not
here); server CPU from the ZooKeeper server's /proc/PID/stat before and after.
"""
import dataclasses
import os
import signal
import subprocess
import threading
import time

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid):
    """utime + stime of a running process, or None when there is none."""
    if pid is None:
        return None
    with open(f"/proc/{pid}/stat") as stat:
        # The command name may hold spaces; the fields after it do not.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@dataclasses.dataclass
class Measurement:
    wall_s: float
    client_cpu_s: float
    peak_rss_mb: float
    server_cpu_s: float  # None when no server was running
    exit_code: int
    timed_out: bool
    znodes: int = None  # what the method reported seeing, filled in later
    figures: dict = None  # what a method timed itself (Method.figures)


def run_measured(rusage_exec, argv, stdout_path, stderr_path, timeout_s, server_pid=None):
    """Runs argv to completion, or kills its process group at the timeout."""
    report_path = stdout_path.with_suffix(".rusage")
    report_path.unlink(missing_ok=True)
    server_before = process_cpu_seconds(server_pid)
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        # What the methods before this one wrote is on its way to the disk:
        # flushed here, off the clock, so that no method pays for another's
        # write-back (a JVM's 450 MB of output slowed the writes of the
        # method after it).
        os.sync()
        started = time.monotonic()
        # A session of its own: a timeout kills the child and whatever it
        # started (zkCli.sh starts java) by that one group id.
        child = subprocess.Popen([str(rusage_exec), str(report_path)] + list(argv),
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 start_new_session=True)
        timed_out = threading.Event()

        def kill_group():
            timed_out.set()
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout_s, kill_group)
        timer.start()
        try:
            exit_code = child.wait()
        finally:
            timer.cancel()
        wall = time.monotonic() - started
    server_after = process_cpu_seconds(server_pid)
    user = system = max_rss_kib = 0.0
    if report_path.exists():  # missing when the timeout killed the launcher too
        user, system, max_rss_kib, exit_code = (float(v) for v in report_path.read_text().split())
    return Measurement(
        wall_s=wall,
        client_cpu_s=user + system,
        peak_rss_mb=max_rss_kib / 1024.0,
        server_cpu_s=None if server_before is None else server_after - server_before,
        exit_code=int(exit_code),
        timed_out=timed_out.is_set(),
    )
