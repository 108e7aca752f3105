"""How fast did answers come: nearest-rank percentiles per resolver, timeouts counted as infinite."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from lab import records
from lab.checks.base import CheckResult, Fold, Scope, SpecProblem, at_least, check
from lab.params import Param
from lab.records import Record


PERCENTILES = {"p50": 50, "p99": 99}  # label -> percent; the parameter is the label + "_ms"


class Latency(Fold):
    """Latency percentiles per resolver must stay within `p50_ms` / `p99_ms`.

    The population is every probe that got an answer (any rcode) plus every timeout, which counts as an
    infinite latency: enough timeouts push a percentile to infinity and fail it, as a user who waited in
    vain would. Other errors (no answer, not a timeout) are left out. Percentiles are nearest-rank: the
    smallest latency that at least p% of the population does not exceed.
    """

    # Exact percentiles in room that does not grow with the run: the first pass counts latencies in coarse
    # bins, the second keeps the exact values of only the bins a percentile falls in.
    passes = 2

    def __init__(self, scope: Scope):
        super().__init__(scope)
        self.bins: dict[Any, Counter[int]] = {}  # resolver -> bin -> how many answered latencies
        self.timeouts: Counter[Any] = Counter()
        self.wanted: dict[Any, dict[int, Counter[float]]] = {}  # resolver -> bin -> exact latency -> how many
        self.second = False

    def feed(self, probe: Record) -> None:
        resolver, latency = probe.get("resolver"), probe.get("latency_ms")
        if self.second:
            values = self.wanted.get(resolver, {}).get(_bin(latency)) if latency is not None else None
            if values is not None:
                values[latency] += 1
            return
        bins = self.bins.setdefault(resolver, Counter())
        if latency is not None:
            bins[_bin(latency)] += 1
        self.timeouts[resolver] += records.outcome(probe) == "timeout"

    def next_pass(self) -> None:
        self.second = True
        for resolver, bins in self.bins.items():
            size = sum(bins.values()) + self.timeouts[resolver]
            ranks = [_rank(size, percent) for percent in PERCENTILES.values()]
            self.wanted[resolver] = {found: Counter() for found in (_bin_of_rank(bins, rank) for rank in ranks)
                                     if found is not None}

    def result(self) -> CheckResult:
        scope = self.scope
        by_resolver = {resolver: self._figures(resolver) for resolver in
                       sorted(self.bins, key=lambda resolver: str(resolver))}
        limits = {label: scope.spec[f"{label}_ms"] for label in PERCENTILES
                  if scope.spec.get(f"{label}_ms") is not None}
        verdicts = [_within(label, limit, by_resolver) for label, limit in limits.items()]
        return scope.result(
            all(ok for ok, _ in verdicts), "; ".join(text for _, text in verdicts),
            limits_ms=limits, by_resolver=by_resolver,
        )

    def _figures(self, resolver: Any) -> dict[str, Any]:
        bins, timeouts = self.bins[resolver], self.timeouts[resolver]
        answered = sum(bins.values())
        figures: dict[str, Any] = {"n": answered + timeouts, "timeouts": timeouts}
        for label, percent in PERCENTILES.items():
            rank = _rank(answered + timeouts, percent)
            value = None if rank is None else math.inf if rank > answered else \
                _exact(bins, self.wanted[resolver], rank)
            # JSON has no infinity: None stands for "a timeout" (or, with n == 0, for "nothing to measure").
            figures[f"{label}_ms"] = None if value is None or math.isinf(value) else round(value, 3)
        return figures


def _bin(latency_ms: float) -> int:
    """A coarse bin of a latency, in the order of latencies: quarter milliseconds up to 100 ms, then 32 a
    doubling (about 700 bins up to 100 s); at most 250 distinct values of the prober's (1 µs) in a bin."""
    if latency_ms < 100:
        return int(max(latency_ms, 0.0) * 4)
    return 400 + int(math.log2(latency_ms / 100) * 32)


def _rank(size: int, percent: float) -> int | None:
    """The nearest rank (1-based) of `percent` in a population of `size`."""
    return max(1, math.ceil(percent / 100 * size)) if size else None


def _bin_of_rank(bins: Counter[int], rank: int | None) -> int | None:
    """The bin the rank-th smallest latency falls in (None: it is a timeout, or there is none)."""
    seen = 0
    for found, count in sorted(bins.items()):
        seen += count
        if rank is not None and seen >= rank:
            return found
    return None


def _exact(bins: Counter[int], wanted: dict[int, Counter[float]], rank: int) -> float:
    """The rank-th smallest latency, from the counts of the bins below its own and its bin's exact values."""
    found = _bin_of_rank(bins, rank)
    below = sum(count for other, count in bins.items() if other < found)
    seen = below
    for value, count in sorted(wanted[found].items()):
        seen += count
        if seen >= rank:
            return value
    raise AssertionError("the second pass saw fewer latencies than the first")  # the probes changed between passes


def _within(label: str, limit: float, by_resolver: Mapping[str, Mapping[str, Any]]) -> tuple[bool, str]:
    ok, values = True, []
    for resolver, figures in by_resolver.items():
        value = figures[f"{label}_ms"]
        within = value is not None and value <= limit
        shown = "nothing answered" if figures["n"] == 0 else "timeout" if value is None else f"{value:.1f}ms"
        values.append(f"{resolver} {shown}{'' if within else ' ✗'}")
        ok = ok and within
    return ok, f"{label} ≤ {limit:g}ms: {', '.join(values)}"


def _latency_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    keys = [f"{label}_ms" for label in PERCENTILES]
    if all(spec.get(key) is None for key in keys):
        return [SpecProblem(None, f"latency needs at least one of {', '.join(keys)}")]
    return [problem for key in keys for problem in at_least(key, 0, spec)]


CHECKS = {c.kind: c for c in (
    check("latency", Latency, {
        "p50_ms": Param(float, False, None, "largest allowed median latency in ms"),
        "p99_ms": Param(float, False, None, "largest allowed 99th-percentile latency in ms "
                                            "(timeouts count as infinite)"),
    }, _latency_constraints),
)}
