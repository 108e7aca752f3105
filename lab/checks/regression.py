"""Did a client see an older generation of a name after a newer one (a stale plan won)?"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from lab import records
from lab.names import name_key
from lab.checks.base import TTL_SLACK_S, CheckResult, Scope, SpecProblem, at_least, check
from lab.params import Param
from lab.records import Record


def no_regression(scope: Scope) -> CheckResult:
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
    pattern = re.compile(scope.spec["pattern"])
    generations = [(probe, _generation(probe, pattern)) for probe in scope.probes if records.is_ok(probe)]
    marked = [(probe, gen) for probe, gen in generations if gen is not None]
    if not marked:
        return scope.result(False, f"none of {len(scope.probes)} probes carried a generation marker "
                                   f"matching {pattern.pattern}", marked=0)
    series: dict[tuple[Any, ...], list[tuple[Record, int]]] = defaultdict(list)
    for probe, gen in marked:
        series[(probe.get("client"), probe.get("resolver"), name_key(str(probe.get("name"))))].append((probe, gen))
    regressions = [found for marks in series.values() for found in _regressions(marks, scope.spec["grace"])]
    regressions.sort(key=lambda found: found["t"])
    data: dict[str, Any] = {"marked": len(marked), "series": len(series), "regressions": len(regressions)}
    if not regressions:
        highest = max(gen for _, gen in marked)
        return scope.result(True, f"no regression in {len(marked)} marked answers over {len(series)} "
                                  f"client/resolver/name series (highest generation {highest})", **data)
    first = regressions[0]
    data["first"] = first | {key: scope.since_start(first[key]) for key in ("t", "excused_until")}
    data["by_resolver"] = dict(Counter(found["resolver"] for found in regressions))
    where = ", ".join(f"{resolver} {count}" for resolver, count in sorted(data["by_resolver"].items()))
    detail = (
        f"{len(regressions)} answers went back a generation ({where}); first {scope.at(first['t'])}: "
        f"{first['name']} from generation {first['from']} back to {first['to']} ({first['client']} via "
        f"{first['resolver']})"
    )
    return scope.result(False, detail, **data)


def _generation(probe: Record, pattern: re.Pattern[str]) -> int | None:
    matches = (pattern.search(str(answer)) for answer in probe.get("answers") or [])
    found = [int(match.group(1)) for match in matches if match]
    return max(found) if found else None


def _regressions(marks: list[tuple[Record, int]], grace: float | None) -> list[dict[str, Any]]:
    """The probes of one series that saw an older generation after the excuse for it ran out."""
    first_seen: dict[int, float] = {}
    earliest_expiry: dict[int, float] = {}
    found = []
    for probe, gen in marks:
        t = probe["t"]
        newer = [other for other in first_seen if other > gen]
        if newer:
            excused_until = (
                min(first_seen[other] for other in newer) + grace
                if grace is not None
                else min(earliest_expiry[other] for other in newer) + TTL_SLACK_S
            )
            if t > excused_until:
                found.append({"t": t, "client": probe.get("client"), "resolver": probe.get("resolver"),
                              "name": probe.get("name"), "from": max(newer), "to": gen,
                              "excused_until": excused_until})
        first_seen.setdefault(gen, t)
        # A copy without a TTL gives no grace: its expiry is unknown, assume it expired on arrival.
        earliest_expiry[gen] = min(earliest_expiry.get(gen, math.inf), t + (probe.get("ttl") or 0))
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
    check("no_regression", no_regression, {
        "pattern": Param(str, False, r"gen=(\d+)", "regular expression whose first group is the generation"),
        "grace": Param(float, False, None, "seconds an older answer is excused after a newer one was "
                                           "first seen (default: until cached copies expire)"),
    }, _regression_constraints),
)}
