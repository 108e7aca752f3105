"""How much of the time did clients get an answer: per probe, and per second across a client's resolvers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from lab import records
from lab.checks.base import CheckResult, Scope, SpecProblem, at_least, by, check, failing, share_text
from lab.params import Param
from lab.records import Record


def availability(scope: Scope) -> CheckResult:
    """The share of ok probes must be at least `min`, overall and (per_resolver) for every resolver."""
    minimum = scope.spec["min"]
    overall = _share(scope.probes)
    by_resolver = {resolver: _share(group) for resolver, group in by(scope.probes, "resolver").items()}
    judged = [overall] + (list(by_resolver.values()) if scope.spec["per_resolver"] else [])
    ok = all(share["ratio"] >= minimum for share in judged)
    groups = by(scope.probes, "resolver")
    per_resolver = ", ".join(
        f"{resolver} {share['text']}{' ✗' if share['ratio'] < minimum and scope.spec['per_resolver'] else ''}"
        + (f" ({failing(groups[resolver])})" if share["ratio"] < minimum else "")
        for resolver, share in by_resolver.items()
    )
    detail = f"{overall['text']} ok of {scope.probes_text()} (min {minimum:.1%}); {per_resolver}"
    return scope.result(ok, detail, min=minimum, overall=_figures(overall),
                        by_resolver={r: _figures(s) for r, s in by_resolver.items()})


def _share(probes: list[Record]) -> dict[str, Any]:
    ok = sum(records.is_ok(probe) for probe in probes)
    return {"ok": ok, "total": len(probes), "ratio": ok / len(probes), "text": share_text(ok, len(probes))}


def _figures(share: Mapping[str, Any]) -> dict[str, Any]:
    return {key: share[key] for key in ("ok", "total", "ratio")}


def _availability_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return at_least("min", 0, spec, high=1)


# ---- fleet_availability ----------------------------------------------------------------------------------


def fleet_availability(scope: Scope) -> CheckResult:
    """The share of seconds in which each client got an ok answer from at least `min_resolvers` of its
    resolvers must be at least `min`: what a stub with every resolver in resolv.conf lives through."""
    minimum, wanted, size = scope.spec["min"], scope.spec["min_resolvers"], scope.spec["bucket"]
    by_client = {}
    for client, group in by(scope.probes, "client").items():
        buckets: dict[int, set] = defaultdict(set)
        for probe in group:
            buckets.setdefault(int((probe["t"] - scope.t0) // size), set())
            if records.is_ok(probe):
                buckets[int((probe["t"] - scope.t0) // size)].add(probe.get("resolver"))
        good = sum(len(answered) >= wanted for answered in buckets.values())
        by_client[client] = {"ok": good, "total": len(buckets), "ratio": good / len(buckets),
                             "text": share_text(good, len(buckets))}
    ok = all(share["ratio"] >= minimum for share in by_client.values())
    where = ", ".join(f"{client} {share['text']}{' ✗' if share['ratio'] < minimum else ''}"
                      for client, share in by_client.items())
    detail = (f"seconds with an ok answer from at least {wanted} resolver{'s' if wanted != 1 else ''} "
              f"(min {minimum:.1%}): {where}")
    return scope.result(ok, detail, min=minimum, by_client={c: _figures(s) for c, s in by_client.items()})


def _fleet_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return at_least("min", 0, spec, high=1) + at_least("min_resolvers", 1, spec) + at_least("bucket", 0.1, spec)


CHECKS = {c.kind: c for c in (
    check("availability", availability, {
        "min": Param(float, True, None, "smallest share of ok probes, 0..1"),
        "per_resolver": Param(bool, False, True, "hold every resolver to min, not only the total"),
    }, _availability_constraints),
    check("fleet_availability", fleet_availability, {
        "min": Param(float, True, None, "smallest share of seconds with an answer, per client, 0..1"),
        "min_resolvers": Param(int, False, 1, "resolvers that must answer ok within the same second"),
        "bucket": Param(float, False, 1.0, "the length of a 'second' in seconds"),
    }, _fleet_constraints),
)}
