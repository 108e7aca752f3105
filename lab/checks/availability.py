"""How much of the time did clients get an answer: per probe, and per second across a client's resolvers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab import records
from lab.checks.base import CheckResult, Failures, Fold, Scope, SpecProblem, at_least, check, share_text
from lab.params import Param
from lab.records import Record


class Availability(Fold):
    """The share of ok probes must be at least `min`, overall and (per_resolver) for every resolver."""

    def __init__(self, scope: Scope):
        super().__init__(scope)
        self.by_resolver: dict[Any, list[int]] = {}  # resolver -> [ok, total]
        self.failures: dict[Any, Failures] = {}

    def feed(self, probe: Record) -> None:
        resolver = probe.get("resolver")
        counts = self.by_resolver.setdefault(resolver, [0, 0])
        ok = records.is_ok(probe)
        counts[0] += ok
        counts[1] += 1
        if not ok:
            self.failures.setdefault(resolver, Failures()).add(probe)

    def result(self) -> CheckResult:
        scope, minimum = self.scope, self.scope.spec["min"]
        groups = sorted(self.by_resolver.items(), key=lambda item: str(item[0]))
        overall = _share(sum(ok for ok, _ in self.by_resolver.values()), scope.tally.count)
        by_resolver = {resolver: _share(ok, total) for resolver, (ok, total) in groups}
        judged = [overall] + (list(by_resolver.values()) if scope.spec["per_resolver"] else [])
        ok = all(share["ratio"] >= minimum for share in judged)
        per_resolver = ", ".join(
            f"{resolver} {share['text']}{' ✗' if share['ratio'] < minimum and scope.spec['per_resolver'] else ''}"
            + (f" ({self.failures.get(resolver, Failures()).text()})" if share["ratio"] < minimum else "")
            for resolver, share in by_resolver.items()
        )
        detail = f"{overall['text']} ok of {scope.probes_text()} (min {minimum:.1%}); {per_resolver}"
        return scope.result(ok, detail, min=minimum, overall=_figures(overall),
                            by_resolver={r: _figures(s) for r, s in by_resolver.items()})


def _share(ok: int, total: int) -> dict[str, Any]:
    return {"ok": ok, "total": total, "ratio": ok / total, "text": share_text(ok, total)}


def _figures(share: Mapping[str, Any]) -> dict[str, Any]:
    return {key: share[key] for key in ("ok", "total", "ratio")}


def _availability_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return at_least("min", 0, spec, high=1)


# ---- fleet_availability ----------------------------------------------------------------------------------


class FleetAvailability(Fold):
    """The share of seconds in which each client got an ok answer from at least `min_resolvers` of its
    resolvers must be at least `min`: what a stub with every resolver in resolv.conf lives through."""

    def __init__(self, scope: Scope):
        super().__init__(scope)
        self.wanted, self.size = scope.spec["min_resolvers"], scope.spec["bucket"]
        self.by_client: dict[Any, _Seconds] = {}

    def feed(self, probe: Record) -> None:
        seconds = self.by_client.setdefault(probe.get("client"), _Seconds(self.wanted))
        seconds.add(int((probe["t"] - self.scope.t0) // self.size), probe.get("resolver"), records.is_ok(probe))

    def result(self) -> CheckResult:
        scope, minimum, wanted = self.scope, self.scope.spec["min"], self.wanted
        by_client = {}
        for client, seconds in sorted(self.by_client.items(), key=lambda item: str(item[0])):
            good, total = seconds.counts()
            by_client[client] = {"ok": good, "total": total, "ratio": good / total, "text": share_text(good, total)}
        ok = all(share["ratio"] >= minimum for share in by_client.values())
        where = ", ".join(f"{client} {share['text']}{' ✗' if share['ratio'] < minimum else ''}"
                          for client, share in by_client.items())
        detail = (f"seconds with an ok answer from at least {wanted} resolver{'s' if wanted != 1 else ''} "
                  f"(min {minimum:.1%}): {where}")
        return scope.result(ok, detail, min=minimum, by_client={c: _figures(s) for c, s in by_client.items()})


class _Seconds:
    """One client's buckets: how many, and in how many at least `wanted` resolvers answered ok. Probes come in
    time order, so a bucket is done once a later one has begun: only the open one is held."""

    def __init__(self, wanted: int):
        self.wanted = wanted
        self.bucket: int | None = None
        self.answered: set[Any] = set()
        self.good = self.total = 0

    def add(self, bucket: int, resolver: Any, ok: bool) -> None:
        if bucket != self.bucket:
            self._close()
            self.bucket, self.answered = bucket, set()
            self.total += 1
        if ok:
            self.answered.add(resolver)

    def _close(self) -> None:
        if self.bucket is not None and len(self.answered) >= self.wanted:
            self.good += 1

    def counts(self) -> tuple[int, int]:
        """(good buckets, buckets), the open one counted."""
        good = self.good + (self.bucket is not None and len(self.answered) >= self.wanted)
        return good, self.total


def _fleet_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return at_least("min", 0, spec, high=1) + at_least("min_resolvers", 1, spec) + at_least("bucket", 0.1, spec)


CHECKS = {c.kind: c for c in (
    check("availability", Availability, {
        "min": Param(float, True, None, "smallest share of ok probes, 0..1"),
        "per_resolver": Param(bool, False, True, "hold every resolver to min, not only the total"),
    }, _availability_constraints),
    check("fleet_availability", FleetAvailability, {
        "min": Param(float, True, None, "smallest share of seconds with an answer, per client, 0..1"),
        "min_resolvers": Param(int, False, 1, "resolvers that must answer ok within the same second"),
        "bucket": Param(float, False, 1.0, "the length of a 'second' in seconds"),
    }, _fleet_constraints),
)}
