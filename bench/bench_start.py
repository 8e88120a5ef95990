"""How fast the CLI is ready: ``jitbox serve`` until its config file is written, and ``jitbox bound``.

Each is started ``BENCH_START_RUNS`` times (5) as a fresh ``python -m jitbox`` process. For ``serve`` (both fakes on
free ports, the seed world, manual clock) the clock stops when ``--config-out`` appears — both fakes listening and
the initial provisioning cycle done; the process's CPU time (user + system, read from ``/proc`` at that moment) is
printed beside the wall time, since on a shared machine the wall time includes waiting for a core. ``bound`` runs to
its exit (its CPU time from ``getrusage``). The median is the figure; the peer is the target from the issue (ready ≤ 1.5 s, bound ≤ 0.5 s), printed as
target / measured (≥ 1 = met).

Run: ``python -m bench start``.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_START_RUNS", "5"))
SERVE_TARGET = 1.5
BOUND_TARGET = 0.5
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds of the running process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def serve_once() -> tuple[float, float]:
    """Start ``jitbox serve`` and return (wall, CPU) seconds until its config file is written."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.json"
        argv = [sys.executable, "-m", "jitbox", "serve", "--port", "0", "--entra-port", "0", "--config-out", str(cfg)]
        began = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while not (cfg.exists() and cfg.stat().st_size > 0):
                if proc.poll() is not None:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"jitbox serve exited with {proc.returncode}: {err[-500:]}")
                time.sleep(0.002)
            wall = time.perf_counter() - began
            cpu = _cpu_seconds(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return wall, cpu


def bound_once() -> tuple[float, float]:
    """Run ``jitbox bound`` and return its (wall, CPU) seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jitbox", "bound"], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Print the medians against the targets."""
    serve = [serve_once() for _ in range(RUNS)]
    bound = [bound_once() for _ in range(RUNS)]
    wall = statistics.median(w for w, _ in serve)
    cpu = statistics.median(c for _, c in serve)
    b = statistics.median(w for w, _ in bound)
    b_cpu = statistics.median(c for _, c in bound)
    print(
        f"  jitbox serve ready: {SERVE_TARGET / wall:.2f}x the target ({wall:.2f} s wall, {cpu:.2f} s CPU, median of "
        f"{RUNS}; target ≤ {SERVE_TARGET} s) {'MET' if wall <= SERVE_TARGET else 'MISSED'}",
        flush=True,
    )
    print(
        f"  jitbox bound: {BOUND_TARGET / b:.2f}x the target ({b:.2f} s wall, {b_cpu:.2f} s CPU, median of {RUNS}; "
        f"target ≤ "
        f"{BOUND_TARGET} s) {'MET' if b <= BOUND_TARGET else 'MISSED'}",
        flush=True,
    )


if __name__ == "__main__":
    main()
