"""Repeated timed runs after warm-up: rates with median, min and max, and the load they ran under."""
from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import Callable

from repro.errors import ReproError


def load_average() -> float:
    """The one-minute load average (other processes compete for the same cores)."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else float("nan")


@dataclass(frozen=True)
class Timing:
    """Rates (units per second) of repeated timed runs, and the load average before the first."""

    rates: tuple[float, ...]
    load: float

    @property
    def median(self) -> float:
        """Median rate: the number quoted."""
        return statistics.median(self.rates)

    @property
    def low(self) -> float:
        """Slowest run."""
        return min(self.rates)

    @property
    def high(self) -> float:
        """Fastest run."""
        return max(self.rates)

    def columns(self, unit: str) -> dict[str, float]:
        """``{unit: median, unit_min, unit_max, repeats, load}`` for a results row."""
        return {unit: round(self.median, 3), f"{unit}_min": round(self.low, 3),
                f"{unit}_max": round(self.high, 3), "repeats": len(self.rates), "load": self.load}


def measure_rate(run: Callable[[], float], repeats: int, warmup: int = 1) -> Timing:
    """Call ``run`` (which does some work and returns how many units it did) ``warmup`` times
    untimed, then ``repeats`` times timed; each timed call gives one rate."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        run()
    load = load_average()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        units = run()
        rates.append(units / (time.perf_counter() - start))
    return Timing(tuple(rates), load)


def calls_for(seconds: float, call: Callable[[], object]) -> int:
    """How many calls of ``call`` (timed once here) fill about ``seconds``; at least one."""
    start = time.perf_counter()
    call()
    return max(1, round(seconds / max(time.perf_counter() - start, 1e-9)))


@dataclass(frozen=True)
class ChildRun:
    """What one child process cost: wall and CPU (user + system) seconds, peak RSS, the load before."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    load: float


def run_child(command: list[str], failure: str) -> ChildRun:
    """Run ``command`` in a new process and measure it (``wait4``'s usage of that child); a non-zero
    exit is a ReproError ``failure`` with the tail of its stderr."""
    load = load_average()
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    error = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise ReproError(f"{failure}:\n{error[-2000:]}")
    return ChildRun(round(seconds, 2), round(usage.ru_utime + usage.ru_stime, 2),
                    round(usage.ru_maxrss / 1024, 1), load)
