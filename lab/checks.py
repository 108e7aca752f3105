"""Invariants and SLOs over a run's records: did the name stay resolvable, fresh and fast enough?

A check is a pure function `(spec, probes, events) -> CheckResult`. CHECKS maps each check kind to a
Check: the function plus its parameter table (name -> Param(type, required, default, help)), so a playbook
validator needs nothing else; `spec_problems(spec)` does that validation and names the offending key.

A spec is a mapping: `check` (the kind), optional `name` (shown in reports; default: the kind and its
parameters), the kind's own parameters and these filters, which every check accepts:

- `names`: query names (case-insensitive, with or without the trailing dot),
- `resolvers`, `clients`: node names; `types`: query types (A, TXT, ...),
- `window`: [start, end] in seconds since the run started (see records.run_start), both ends included.
  It selects probes only; fault windows always come from all events.

Every check judges the probes its filters select, and fails when they select none: a check that cannot
fail is a bug, and a misspelt name in a filter would otherwise pass silently. Times in details and in
`data` are seconds since the run started.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lab import records
from lab.params import Param, table_problems, type_name  # noqa: F401 - re-exported
from lab.records import Record

# Integer TTLs are rounded down by resolvers, so an expiry computed from one may come up to 1 s early.
TTL_SLACK_S = 1.0

RCODES = (
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
    "NOTAUTH", "NOTZONE", "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
    "BADCOOKIE",
)
# Symptoms that are not an rcode: EMPTY is NODATA or NXDOMAIN, NODATA is NOERROR without answers.
SYMPTOMS = ("EMPTY", "NODATA", "TIMEOUT")

SPEC_KEYS = ("check", "name")  # keys of a spec that are not parameters


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: `detail` is one line for people, `data` the figures for machines (JSON)."""

    name: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


class SpecProblem(NamedTuple):
    """What is wrong with a check spec; `key` is the offending key (None for the spec as a whole)."""

    key: str | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Scope:
    """What a check function judges: the spec with defaults filled in, the probes its filters selected."""

    name: str
    spec: Mapping[str, Any]
    probes: list[Record]
    events: list[Record]
    t0: float

    def result(self, ok: bool, detail: str, **data: Any) -> CheckResult:
        return CheckResult(self.name, ok, detail, data)

    def since_start(self, t: float) -> float:
        return round(t - self.t0, 3)

    def at(self, t: float) -> str:
        return f"+{t - self.t0:.1f}s"

    def span(self, times: list[float]) -> str:
        """`at +1.0s` for one time, `+1.0s…+9.5s` for several."""
        first, last = min(times), max(times)
        return f"at {self.at(first)}" if first == last else f"{self.at(first)}…{self.at(last)}"


CheckFunction = Callable[[Scope], CheckResult]
Constraint = Callable[[Mapping[str, Any]], list[SpecProblem]]


@dataclass(frozen=True)
class Check:
    """A check kind: its function, every parameter it accepts (filters included) and extra constraints."""

    kind: str
    function: CheckFunction
    params: Mapping[str, Param]
    help: str
    constraints: Constraint

    def __call__(self, spec: Mapping[str, Any], probes: list[Record], events: list[Record]) -> CheckResult:
        """Judge the records; raises ValueError when the spec is invalid."""
        spec = {**spec, "check": self.kind}
        problems = spec_problems(spec)
        if problems:
            raise ValueError(f"invalid check {check_name(spec)!r}: " + "; ".join(map(str, problems)))
        full = {name: param.default for name, param in self.params.items()} | spec
        t0 = records.run_start(probes, events) or 0.0
        selected = _select(full, probes, t0)
        scope = Scope(check_name(spec), full, selected, list(events), t0)
        if not selected:
            return scope.result(False, f"no probe matched ({_filter_summary(spec) or 'no filters'})", matched=0)
        return self.function(scope)


def judge(check_specs: Iterable[Mapping[str, Any]], probes: list[Record], events: list[Record]) -> list[CheckResult]:
    """Run every check over the records, in order.

    Raises ValueError listing every invalid spec (unknown kind, bad parameters) before judging anything.
    A check that crashes on unexpected data becomes a failed result, so one bad record cannot cost the
    whole report of a long run.
    """
    check_specs = list(check_specs)
    problems = [
        f"check {index} ({spec.get('check', '?') if isinstance(spec, Mapping) else '?'}): {problem}"
        for index, spec in enumerate(check_specs, start=1)
        for problem in spec_problems(spec)
    ]
    if problems:
        raise ValueError("invalid checks:\n  " + "\n  ".join(problems))
    return [_run_guarded(spec, probes, events) for spec in check_specs]


def _run_guarded(spec: Mapping[str, Any], probes: list[Record], events: list[Record]) -> CheckResult:
    try:
        return CHECKS[spec["check"]](spec, probes, events)
    except Exception as error:  # recorded as the check's failure, see judge()
        return CheckResult(check_name(spec), False, f"check crashed: {type(error).__name__}: {error}",
                           {"error": repr(error)})


def check_name(spec: Mapping[str, Any]) -> str:
    """The display name: `name` if given, else `kind(param=value, ...)`."""
    if spec.get("name"):
        return str(spec["name"])
    summary = _filter_summary(spec)
    return f"{spec.get('check')}({summary})" if summary else str(spec.get("check"))


def _filter_summary(spec: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{key}={_short(value)}" for key, value in spec.items() if key not in SPEC_KEYS and value is not None
    )


def _short(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    if isinstance(value, list):
        return "[" + ", ".join(_short(item) for item in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---- validation -------------------------------------------------------------------------------------------


def spec_problems(spec: Any) -> list[SpecProblem]:
    """Every problem with one check spec: unknown kind or key, missing, mistyped or out-of-range value."""
    if not isinstance(spec, Mapping):
        return [SpecProblem(None, "a check must be a mapping with a 'check' key")]
    kind = spec.get("check")
    if kind is None:
        return [SpecProblem("check", f"missing 'check' (one of: {', '.join(CHECKS)})")]
    if not isinstance(kind, str) or kind not in CHECKS:  # a list or mapping here is no check name either
        return [SpecProblem("check", f"unknown check {kind!r} (known: {', '.join(CHECKS)})")]
    check = CHECKS[kind]
    problems = [SpecProblem(key, message) for key, message in
                table_problems(f"check {kind!r}", check.params, spec, ignore=SPEC_KEYS)]
    if problems:
        return problems  # range checks below assume well-typed values
    return _filter_constraints(spec) + check.constraints(spec)


def _filter_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    problems = [
        SpecProblem(key, f"{key} is empty; leave it out to match every {key[:-1]}")
        for key in ("names", "resolvers", "clients", "types")
        if spec.get(key) == []
    ]
    window = spec.get("window")
    if window is not None and (len(window) != 2 or not 0 <= window[0] <= window[1]):
        problems.append(SpecProblem("window", f"window must be [start, end] with 0 <= start <= end, not {window!r}"))
    return problems


def _at_least(key: str, low: float, spec: Mapping[str, Any], high: float = math.inf) -> list[SpecProblem]:
    value = spec.get(key)
    if value is None or low <= value <= high:
        return []
    bounds = f"between {low:g} and {high:g}" if high != math.inf else f"at least {low:g}"
    return [SpecProblem(key, f"{key} must be {bounds}, not {value!r}")]


# ---- selecting probes -------------------------------------------------------------------------------------


def _absolute(name: str) -> str:
    return name.lower() if name.endswith(".") else name.lower() + "."


def _select(spec: Mapping[str, Any], probes: list[Record], t0: float) -> list[Record]:
    names = {_absolute(name) for name in spec["names"]} if spec.get("names") else None
    types = {qtype.upper() for qtype in spec["types"]} if spec.get("types") else None
    resolvers = set(spec["resolvers"]) if spec.get("resolvers") else None
    clients = set(spec["clients"]) if spec.get("clients") else None
    window = spec.get("window")

    def matches(probe: Record) -> bool:
        return (
            (names is None or _absolute(str(probe.get("name", ""))) in names)
            and (types is None or str(probe.get("type", "")).upper() in types)
            and (resolvers is None or probe.get("resolver") in resolvers)
            and (clients is None or probe.get("client") in clients)
            and (window is None or window[0] <= probe["t"] - t0 <= window[1])
        )

    return [probe for probe in probes if matches(probe)]


def _by(probes: Iterable[Record], *keys: str) -> dict[Any, list[Record]]:
    """Group probes (keeping their time order) by one field, or by a tuple of fields."""
    groups: dict[Any, list[Record]] = defaultdict(list)
    for probe in probes:
        key = tuple(probe.get(k) for k in keys)
        groups[key[0] if len(keys) == 1 else key].append(probe)
    return dict(sorted(groups.items(), key=lambda item: str(item[0])))


def share_text(part: int, whole: int) -> str:
    """A share for people (`99.2%`): never shows 100% unless it is exactly all."""
    text = f"{part / whole:.1%}"
    return ">99.9%" if text == "100.0%" and part < whole else text


# ---- never_empty ------------------------------------------------------------------------------------------


def never_empty(scope: Scope) -> CheckResult:
    """Fail when any selected probe got an empty answer (NODATA or NXDOMAIN): the name went away."""
    empty = [probe for probe in scope.probes if records.is_empty(probe)]
    total = len(scope.probes)
    if not empty:
        return scope.result(True, f"none of {total} probes got an empty answer", matched=total, empty=0)
    groups = _by(empty, "resolver")
    by_resolver = {resolver: _empty_figures(scope, group) for resolver, group in groups.items()}
    names = sorted({str(probe.get("name")) for probe in empty})
    # One name is the common case: say it once; with several, say which went empty where.
    parts = [
        f"{resolver}: {figures['empty']} ({_empty_kinds(figures)}) {scope.span([p['t'] for p in groups[resolver]])}"
        + ("" if len(names) == 1 else " for " + ", ".join(figures["names"]))
        for resolver, figures in by_resolver.items()
    ]
    detail = f"{len(empty)} of {total} probes got an empty answer for {', '.join(names)} — " + "; ".join(parts)
    return scope.result(False, detail, matched=total, empty=len(empty), names=names, by_resolver=by_resolver)


def _empty_figures(scope: Scope, empty: list[Record]) -> dict[str, Any]:
    kinds = Counter(records.outcome(probe) for probe in empty)
    times = [probe["t"] for probe in empty]
    return {
        "empty": len(empty),
        "nodata": kinds["empty"],
        "nxdomain": kinds["nxdomain"],
        "names": sorted({str(probe.get("name")) for probe in empty}),
        "first_s": scope.since_start(min(times)),
        "last_s": scope.since_start(max(times)),
    }


def _empty_kinds(figures: Mapping[str, Any]) -> str:
    kinds = [f"{figures[key]} {label}" for key, label in (("nodata", "NODATA"), ("nxdomain", "NXDOMAIN"))]
    return ", ".join(kind for kind in kinds if not kind.startswith("0 "))


# ---- availability -----------------------------------------------------------------------------------------


def availability(scope: Scope) -> CheckResult:
    """The share of ok probes must be at least `min`, overall and (per_resolver) for every resolver."""
    minimum = scope.spec["min"]
    overall = _share(scope.probes)
    by_resolver = {resolver: _share(group) for resolver, group in _by(scope.probes, "resolver").items()}
    judged = [overall] + (list(by_resolver.values()) if scope.spec["per_resolver"] else [])
    ok = all(share["ratio"] >= minimum for share in judged)
    per_resolver = ", ".join(
        f"{resolver} {share['text']}{' ✗' if share['ratio'] < minimum and scope.spec['per_resolver'] else ''}"
        for resolver, share in by_resolver.items()
    )
    detail = f"{overall['text']} ok of {overall['total']} probes (min {minimum:.1%}); {per_resolver}"
    return scope.result(ok, detail, min=minimum, overall=_figures(overall),
                        by_resolver={r: _figures(s) for r, s in by_resolver.items()})


def _share(probes: list[Record]) -> dict[str, Any]:
    ok = sum(records.is_ok(probe) for probe in probes)
    return {"ok": ok, "total": len(probes), "ratio": ok / len(probes), "text": share_text(ok, len(probes))}


def _figures(share: Mapping[str, Any]) -> dict[str, Any]:
    return {key: share[key] for key in ("ok", "total", "ratio")}


def _availability_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return _at_least("min", 0, spec, high=1)


# ---- fleet_availability ----------------------------------------------------------------------------------


def fleet_availability(scope: Scope) -> CheckResult:
    """The share of seconds in which each client got an ok answer from at least `min_resolvers` of its
    resolvers must be at least `min`: what a stub with every resolver in resolv.conf lives through."""
    minimum, wanted, size = scope.spec["min"], scope.spec["min_resolvers"], scope.spec["bucket"]
    by_client = {}
    for client, group in _by(scope.probes, "client").items():
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
    return _at_least("min", 0, spec, high=1) + _at_least("min_resolvers", 1, spec) + _at_least("bucket", 0.1, spec)


# ---- no_regression ----------------------------------------------------------------------------------------


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
        series[(probe.get("client"), probe.get("resolver"), _absolute(str(probe.get("name"))))].append((probe, gen))
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
    detail = (
        f"{len(regressions)} answers went back a generation; first {scope.at(first['t'])}: "
        f"{first['client']} via {first['resolver']} saw {first['name']} go from generation {first['from']} "
        f"back to {first['to']} ({first['t'] - first['excused_until']:.1f}s after a cached older copy "
        f"must have expired)"
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
    return _at_least("grace", 0, spec)


# ---- recovers_within --------------------------------------------------------------------------------------


def recovers_within(scope: Scope) -> CheckResult:
    """After each fault is cleared, every resolver must answer ok again within `seconds`.

    A resolver has recovered at the first ok probe (at or after the clear) that starts `stable`
    consecutive ok probes, or that is followed only by ok probes until the run ended. The recovery time
    of a fault is that of its slowest resolver. A fault never cleared, or a resolver with no ok streak
    after the clear, never recovered. Faults that overlap count against each other (the outage the
    clients see does not know which fault caused it): pick one with `fault`.
    """
    wanted = scope.spec.get("fault")
    windows = [w for w in records.fault_windows(scope.events) if wanted is None or wanted in (w["id"], w["kind"])]
    if not windows:
        which = f"matching {wanted!r}" if wanted is not None else "at all"
        return scope.result(False, f"no fault was injected {which}: nothing to recover from", faults=[])
    by_resolver = _by(scope.probes, "resolver")
    faults = [_recovery(scope, window, by_resolver) for window in windows]
    late = [fault for fault in faults if fault["seconds"] is None or fault["seconds"] > scope.spec["seconds"]]
    head = (f"{len(late)}/{len(faults)} faults not recovered within {scope.spec['seconds']:g}s"
            if late else f"{len(faults)}/{len(faults)} faults recovered within {scope.spec['seconds']:g}s")
    detail = head + ": " + "; ".join(fault.pop("text") for fault in faults)
    return scope.result(not late, detail, faults=faults)


def _recovery(scope: Scope, window: Record, by_resolver: Mapping[str, list[Record]]) -> dict[str, Any]:
    label = f"{window['kind']} on {window['target']}"
    figures: dict[str, Any] = {"id": window["id"], "kind": window["kind"], "target": window["target"],
                               "end_s": None, "seconds": None, "by_resolver": {}}
    if window["end"] is None:
        return figures | {"text": f"{label} was never cleared"}
    figures["end_s"] = scope.since_start(window["end"])
    for resolver, probes in by_resolver.items():
        recovered_at = _recovered_at(probes, window["end"], scope.spec["stable"])
        figures["by_resolver"][resolver] = None if recovered_at is None else round(recovered_at - window["end"], 3)
    times = figures["by_resolver"]
    never = [resolver for resolver, seconds in times.items() if seconds is None]
    cleared = f"{label} cleared {scope.at(window['end'])}"
    if never:
        return figures | {"text": f"{cleared}: {', '.join(never)} never recovered"}
    figures["seconds"] = max(times.values())
    each = ", ".join(f"{resolver} {seconds:.1f}s" for resolver, seconds in times.items())
    return figures | {"text": f"{cleared}: recovered in {figures['seconds']:.1f}s ({each})"}


def _recovered_at(probes: list[Record], since: float, stable: int) -> float | None:
    start = bisect.bisect_left(probes, since, key=lambda probe: probe["t"])
    streak_start, streak = None, 0
    for probe in probes[start:]:
        if not records.is_ok(probe):
            streak_start, streak = None, 0
            continue
        streak_start = probe["t"] if streak == 0 else streak_start
        streak += 1
        if streak >= stable:
            return streak_start
    return streak_start  # ok until the run ended, with fewer than `stable` probes left


def _recovery_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return _at_least("seconds", 0, spec) + _at_least("stable", 1, spec)


# ---- latency ----------------------------------------------------------------------------------------------

PERCENTILES = {"p50": 50, "p99": 99}  # label -> percent; the parameter is the label + "_ms"


def latency(scope: Scope) -> CheckResult:
    """Latency percentiles per resolver must stay within `p50_ms` / `p99_ms`.

    The population is every probe that got an answer (any rcode) plus every timeout, which counts as an
    infinite latency: enough timeouts push a percentile to infinity and fail it, as a user who waited in
    vain would. Other errors (no answer, not a timeout) are left out. Percentiles are nearest-rank: the
    smallest latency that at least p% of the population does not exceed.
    """
    by_resolver = {resolver: _latency_figures(group) for resolver, group in _by(scope.probes, "resolver").items()}
    limits = {label: scope.spec[f"{label}_ms"] for label in PERCENTILES if scope.spec.get(f"{label}_ms") is not None}
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


def _latency_figures(probes: list[Record]) -> dict[str, Any]:
    answered = sorted(probe["latency_ms"] for probe in probes if probe.get("latency_ms") is not None)
    timeouts = sum(records.outcome(probe) == "timeout" for probe in probes)
    population = answered + [math.inf] * timeouts
    figures: dict[str, Any] = {"n": len(population), "timeouts": timeouts}
    for label, percent in PERCENTILES.items():
        value = _nearest_rank(population, percent)
        # JSON has no infinity: None stands for "a timeout" (or, with n == 0, for "nothing to measure").
        figures[f"{label}_ms"] = None if value is None or math.isinf(value) else round(value, 3)
    return figures


def _nearest_rank(ascending: list[float], percent: float) -> float | None:
    if not ascending:
        return None
    return ascending[max(1, math.ceil(percent / 100 * len(ascending))) - 1]


def _latency_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    keys = [f"{label}_ms" for label in PERCENTILES]
    if all(spec.get(key) is None for key in keys):
        return [SpecProblem(None, f"latency needs at least one of {', '.join(keys)}")]
    return [problem for key in keys for problem in _at_least(key, 0, spec)]


# ---- expect_rcode -----------------------------------------------------------------------------------------

_SYMPTOM_MATCHERS: dict[str, Callable[[Record], bool]] = {
    "EMPTY": records.is_empty,
    "NODATA": lambda probe: records.outcome(probe) == "empty",
    "TIMEOUT": lambda probe: records.outcome(probe) == "timeout",
}


def expect_rcode(scope: Scope) -> CheckResult:
    """The symptom `rcode` must show up in at least `min_count` probes: proof that a fault bit."""
    wanted = scope.spec["rcode"].upper()
    matcher = _SYMPTOM_MATCHERS.get(wanted)
    seen = [probe for probe in scope.probes if (matcher(probe) if matcher else probe.get("rcode") == wanted)]
    minimum = scope.spec["min_count"]
    by_resolver = {resolver: len(group) for resolver, group in _by(seen, "resolver").items()}
    if seen:
        where = ", ".join(f"{resolver} {count}" for resolver, count in by_resolver.items())
        detail = f"{wanted} seen {len(seen)} times (min {minimum}) {scope.span([p['t'] for p in seen])}: {where}"
    else:
        answers = Counter(_symptom(probe) for probe in scope.probes)
        instead = ", ".join(f"{rcode} {count}" for rcode, count in answers.most_common())
        detail = f"{wanted} never seen in {len(scope.probes)} probes (min {minimum}); seen instead: {instead}"
    return scope.result(len(seen) >= minimum, detail, rcode=wanted, count=len(seen), by_resolver=by_resolver)


def _symptom(probe: Record) -> str:
    """The rcode, or what stood in for one: TIMEOUT, or ERROR for other failures without an answer."""
    if probe.get("rcode") is not None:
        return str(probe["rcode"])
    return "TIMEOUT" if records.outcome(probe) == "timeout" else "ERROR"


def _rcode_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    rcode = str(spec.get("rcode", "")).upper()
    problems = _at_least("min_count", 1, spec)
    if rcode not in RCODES + SYMPTOMS:
        problems.append(SpecProblem("rcode", f"unknown rcode {spec.get('rcode')!r} "
                                             f"(one of {', '.join(RCODES + SYMPTOMS)})"))
    return problems


# ---- the table --------------------------------------------------------------------------------------------

FILTER_PARAMS: dict[str, Param] = {
    "names": Param(list[str], False, None, "query names to judge (default: all)"),
    "resolvers": Param(list[str], False, None, "resolver nodes to judge (default: all)"),
    "clients": Param(list[str], False, None, "client nodes to judge (default: all)"),
    "types": Param(list[str], False, None, "query types to judge (default: all)"),
    "window": Param(list[float], False, None, "[start, end] seconds since the run started (default: whole run)"),
}


def _check(
    kind: str, function: CheckFunction, own: Mapping[str, Param], constraints: Constraint | None = None
) -> Check:
    help_text = (function.__doc__ or "").strip().splitlines()[0]
    return Check(kind, function, {**own, **FILTER_PARAMS}, help_text, constraints or (lambda spec: []))


CHECKS: dict[str, Check] = {
    check.kind: check
    for check in (
        _check("never_empty", never_empty, {}),
        _check("availability", availability, {
            "min": Param(float, True, None, "smallest share of ok probes, 0..1"),
            "per_resolver": Param(bool, False, True, "hold every resolver to min, not only the total"),
        }, _availability_constraints),
        _check("fleet_availability", fleet_availability, {
            "min": Param(float, True, None, "smallest share of seconds with an answer, per client, 0..1"),
            "min_resolvers": Param(int, False, 1, "resolvers that must answer ok within the same second"),
            "bucket": Param(float, False, 1.0, "the length of a 'second' in seconds"),
        }, _fleet_constraints),
        _check("no_regression", no_regression, {
            "pattern": Param(str, False, r"gen=(\d+)", "regular expression whose first group is the generation"),
            "grace": Param(float, False, None, "seconds an older answer is excused after a newer one was "
                                               "first seen (default: until cached copies expire)"),
        }, _regression_constraints),
        _check("recovers_within", recovers_within, {
            "seconds": Param(float, True, None, "longest allowed time from a fault's clear to recovery"),
            "fault": Param(str, False, None, "fault id or kind to judge (default: every fault)"),
            "stable": Param(int, False, 3, "consecutive ok probes per resolver that count as recovered"),
        }, _recovery_constraints),
        _check("latency", latency, {
            "p50_ms": Param(float, False, None, "largest allowed median latency in ms"),
            "p99_ms": Param(float, False, None, "largest allowed 99th-percentile latency in ms "
                                                "(timeouts count as infinite)"),
        }, _latency_constraints),
        _check("expect_rcode", expect_rcode, {
            "rcode": Param(str, True, None, "rcode that must show up (SERVFAIL, ...) or EMPTY, NODATA, TIMEOUT"),
            "min_count": Param(int, False, 1, "how many probes must show it"),
        }, _rcode_constraints),
    )
}
