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

    def __init__(self, scope: Scope):
        super().__init__(scope)
        # resolver -> latency -> how many: exact percentiles in the room of the distinct values (ms to 3 places)
        self.latencies: dict[Any, Counter[float]] = {}
        self.timeouts: Counter[Any] = Counter()

    def feed(self, probe: Record) -> None:
        resolver = probe.get("resolver")
        latencies = self.latencies.setdefault(resolver, Counter())
        if probe.get("latency_ms") is not None:
            latencies[probe["latency_ms"]] += 1
        self.timeouts[resolver] += records.outcome(probe) == "timeout"

    def result(self) -> CheckResult:
        scope = self.scope
        by_resolver = {resolver: _latency_figures(latencies, self.timeouts[resolver]) for resolver, latencies in
                       sorted(self.latencies.items(), key=lambda item: str(item[0]))}
        limits = {label: scope.spec[f"{label}_ms"] for label in PERCENTILES
                  if scope.spec.get(f"{label}_ms") is not None}
        verdicts = [_within(label, limit, by_resolver) for label, limit in limits.items()]
        return scope.result(
            all(ok for ok, _ in verdicts), "; ".join(text for _, text in verdicts),
            limits_ms=limits, by_resolver=by_resolver,
        )


def _within(label: str, limit: float, by_resolver: Mapping[str, Mapping[str, Any]]) -> tuple[bool, str]:
    ok, values = True, []
    for resolver, figures in by_resolver.items():
        value = figures[f"{label}_ms"]
        within = value is not None and value <= limit
        shown = "nothing answered" if figures["n"] == 0 else "timeout" if value is None else f"{value:.1f}ms"
        values.append(f"{resolver} {shown}{'' if within else ' ✗'}")
        ok = ok and within
    return ok, f"{label} ≤ {limit:g}ms: {', '.join(values)}"


def _latency_figures(latencies: Counter[float], timeouts: int) -> dict[str, Any]:
    population = sorted(latencies.items()) + ([(math.inf, timeouts)] if timeouts else [])
    size = sum(count for _, count in population)
    figures: dict[str, Any] = {"n": size, "timeouts": timeouts}
    for label, percent in PERCENTILES.items():
        value = _nearest_rank(population, size, percent)
        # JSON has no infinity: None stands for "a timeout" (or, with n == 0, for "nothing to measure").
        figures[f"{label}_ms"] = None if value is None or math.isinf(value) else round(value, 3)
    return figures


def _nearest_rank(ascending: list[tuple[float, int]], size: int, percent: float) -> float | None:
    """The nearest-rank percentile of a population given as ascending (value, how many)."""
    if not size:
        return None
    rank, seen = max(1, math.ceil(percent / 100 * size)), 0
    for value, count in ascending:
        seen += count
        if seen >= rank:
            return value
    return None


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
