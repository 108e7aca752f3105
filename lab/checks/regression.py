"""Did a client see an older generation of a name after a newer one (a stale plan won)?"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from lab import records
from lab.names import name_key
from lab.checks.base import TTL_SLACK_S, CheckResult, Fold, Scope, SpecProblem, at_least, check
from lab.params import Param
from lab.records import Record


class NoRegression(Fold):
    """A client must never see an older generation of a name after it saw a newer one.

    Only ok probes whose answers match `pattern` (its first group is the generation; with several
    answers, the highest counts) are judged, as series per (client, resolver, name).

    An older answer is excused while it may still be a cached copy that predates the newer generation:

    - default (`grace` unset): until the earliest expiry (probe time + TTL) among the copies of any newer
      generation this series has seen, plus 1 s for TTL rounding. Why that bound: a copy of the older
      generation cached before the newer one was published was fetched before any copy of the newer one,
      so with the same TTL it expires no later than they do. Seen after that, the older answer was fetched
      after the newer one was out: the authoritative data went back (a stale plan won). This assumes the
      generations share one TTL; when the TTL changes between generations, set `grace`.
    - `grace` given: for `grace` seconds after the series first saw a newer generation.

    Why not the TTL of the newer answer seen last: a copy's remaining TTL says when *that* cache fetched
    it, not how long other caches keep older copies, and counting from the latest sighting would excuse
    an older answer for as long as the newer one keeps being seen.
    """

    def __init__(self, scope: Scope):
        super().__init__(scope)
        self.pattern = re.compile(scope.spec["pattern"])
        self.series: dict[tuple[Any, ...], _Series] = {}
        self.marked = 0
        self.highest: int | None = None
        self.regressions = 0
        self.first: dict[str, Any] | None = None  # the earliest regression
        self.by_resolver: Counter[Any] = Counter()

    def feed(self, probe: Record) -> None:
        gen = _generation(probe, self.pattern) if records.is_ok(probe) else None
        if gen is None:
            return
        self.marked += 1
        self.highest = gen if self.highest is None else max(self.highest, gen)
        key = (probe.get("client"), probe.get("resolver"), name_key(str(probe.get("name"))))
        found = self.series.setdefault(key, _Series(self.scope.spec["grace"])).add(probe, gen)
        if found is not None:
            self.regressions += 1
            self.by_resolver[found["resolver"]] += 1
            if self.first is None or found["t"] < self.first["t"]:
                self.first = found

    def result(self) -> CheckResult:
        scope = self.scope
        if not self.marked:
            return scope.result(False, f"none of {scope.tally.count} probes carried a generation marker "
                                       f"matching {self.pattern.pattern}", marked=0)
        data: dict[str, Any] = {"marked": self.marked, "series": len(self.series), "regressions": self.regressions}
        if not self.regressions:
            return scope.result(True, f"no regression in {self.marked} marked answers over {len(self.series)} "
                                      f"client/resolver/name series (highest generation {self.highest})", **data)
        first = self.first
        data["first"] = first | {key: scope.since_start(first[key]) for key in ("t", "excused_until")}
        data["by_resolver"] = dict(self.by_resolver)
        where = ", ".join(f"{resolver} {count}" for resolver, count in sorted(data["by_resolver"].items()))
        detail = (
            f"{self.regressions} answers went back a generation ({where}); first {scope.at(first['t'])}: "
            f"{first['name']} from generation {first['from']} back to {first['to']} ({first['client']} via "
            f"{first['resolver']})"
        )
        return scope.result(False, detail, **data)


def _generation(probe: Record, pattern: re.Pattern[str]) -> int | None:
    matches = (pattern.search(str(answer)) for answer in probe.get("answers") or [])
    found = [int(match.group(1)) for match in matches if match]
    return max(found) if found else None


class _Series:
    """One client/resolver/name series: when each generation was first seen and its copies' earliest expiry,
    to tell a regression from a cached copy still excused."""

    def __init__(self, grace: float | None):
        self.grace = grace
        self.first_seen: dict[int, float] = {}
        self.earliest_expiry: dict[int, float] = {}

    def add(self, probe: Record, gen: int) -> dict[str, Any] | None:
        """The regression this probe is (None: it is none)."""
        t, found = probe["t"], None
        newer = [other for other in self.first_seen if other > gen]
        if newer:
            excused_until = (
                min(self.first_seen[other] for other in newer) + self.grace
                if self.grace is not None
                else min(self.earliest_expiry[other] for other in newer) + TTL_SLACK_S
            )
            if t > excused_until:
                found = {"t": t, "client": probe.get("client"), "resolver": probe.get("resolver"),
                         "name": probe.get("name"), "from": max(newer), "to": gen, "excused_until": excused_until}
        self.first_seen.setdefault(gen, t)
        # A copy without a TTL gives no grace: its expiry is unknown, assume it expired on arrival.
        self.earliest_expiry[gen] = min(self.earliest_expiry.get(gen, math.inf), t + (probe.get("ttl") or 0))
        return found


def _regression_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    try:
        groups = re.compile(spec.get("pattern", r"gen=(\d+)")).groups
    except re.error as error:
        return [SpecProblem("pattern", f"pattern is not a regular expression: {error}")]
    if groups < 1:
        return [SpecProblem("pattern", "pattern needs a group that captures the generation number, like gen=(\\d+)")]
    return at_least("grace", 0, spec)


CHECKS = {c.kind: c for c in (
    check("no_regression", NoRegression, {
        "pattern": Param(str, False, r"gen=(\d+)", "regular expression whose first group is the generation"),
        "grace": Param(float, False, None, "seconds an older answer is excused after a newer one was "
                                           "first seen (default: until cached copies expire)"),
    }, _regression_constraints),
)}
