"""What every benchmark measures: one command in its own process, its wall time and peak RSS."""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHURN = str(Path(sys.executable).parent / "churn")


def run(args: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one command; its failure stops the benchmark with its stderr."""
    env = {k: v for k, v in os.environ.items() if k != "DVC_ROOT"} | {"MLFLOW_DISABLE_TELEMETRY": "true"}
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The median time and the median peak of the runs (each taken apart)."""
    return float(statistics.median(s for s, _ in runs)), float(statistics.median(mb for _, mb in runs))


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


@contextmanager
def busy(processes: int) -> Iterator[None]:
    """`processes` busy Python processes for the duration, as another job on the machine would be."""
    stop = mp.Event()
    workers = [mp.Process(target=_spin, args=(stop,)) for _ in range(processes)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join()
