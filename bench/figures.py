"""What every benchmark returns: figures (median, min–max, p99 of samples) next to a baseline and the ratio.

Shared by bench/run.py and the benchmark modules, so each module builds its rows the same way.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)
PREFIX = f"bench{os.getpid()}"  # every lab a benchmark creates starts with this: main() removes them all


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100), linear between the closest samples (with 5 samples p99 is nearly the max)."""
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "p99": percentile(samples, 99), "runs": len(samples), "samples": samples}


def figure(name: str, unit: str, ours: list[float], baseline: list[float] | None, baseline_name: str | None,
           note: str = "", p99: bool = False, **extra) -> dict:
    """One row. `p99`: the table shows the 99th percentile too (latency figures); `extra`: more data for
    results.json only."""
    result = {"name": name, "unit": unit, "dnslab": summary(ours), "note": note, "show_p99": p99, **extra}
    if baseline:
        result["baseline"] = {"name": baseline_name, **summary(baseline)}
        if result["baseline"]["median"]:
            result["ratio"] = result["dnslab"]["median"] / result["baseline"]["median"]
    return result


def skipped(name: str, reason: str) -> dict:
    """A row for a figure that was not measured in this run, and why (shown in the table and results.json)."""
    console.print(f"[yellow]skipped[/yellow] {escape(name)}: {escape(reason)}")
    return {"name": name, "skipped": reason}
