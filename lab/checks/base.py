"""What every check is made of: the spec's shape, the scope a check function judges, its result, the
filters every check accepts, and small helpers the check kinds share. Pure."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lab import records
from lab.names import name_key
from lab.params import Param, table_problems
from lab.records import Record

# Integer TTLs are rounded down by resolvers, so an expiry computed from one may come up to 1 s early.
TTL_SLACK_S = 1.0

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
    """What a check function judges: the spec with defaults filled in, the records its filters selected
    (`probes`: probe lines, or app attempts or counter samples for the kinds that judge those), and every
    record stream of the run unfiltered (`streams`: "probes", "apps", "samples")."""

    name: str
    spec: Mapping[str, Any]
    probes: list[Record]
    events: list[Record]
    t0: float
    streams: Mapping[str, list[Record]] = field(default_factory=dict)

    def result(self, ok: bool, detail: str, **data: Any) -> CheckResult:
        return CheckResult(self.name, ok, detail, data)

    def since_start(self, t: float) -> float:
        return round(t - self.t0, 3)

    def at(self, t: float) -> str:
        return f"+{t - self.t0:.1f}s"

    def probes_text(self) -> str:
        """`664 A probes`: how many probes the check judged, with their type when they share one (a check
        filtered to A beside a run's total of A and TXT probes)."""
        types = {str(probe.get("type")) for probe in self.probes if probe.get("type")}
        kind = f"{types.pop()} " if len(types) == 1 else ""
        return f"{len(self.probes)} {kind}probe{'' if len(self.probes) == 1 else 's'}"

    def span(self, times: list[float]) -> str:
        """`at +1.0s` for one time, `+1.0s…+9.5s` for several."""
        first, last = min(times), max(times)
        return f"at {self.at(first)}" if first == last else f"{self.at(first)}…{self.at(last)}"


CheckFunction = Callable[[Scope], CheckResult]
Constraint = Callable[[Mapping[str, Any]], list[SpecProblem]]


CheckFunction = Callable[[Scope], CheckResult]
Constraint = Callable[[Mapping[str, Any]], list[SpecProblem]]

FILTER_PARAMS: dict[str, Param] = {
    "names": Param(list[str], False, None, "query names to judge (default: all)"),
    "resolvers": Param(list[str], False, None, "resolver nodes to judge (default: all)"),
    "clients": Param(list[str], False, None, "client nodes to judge (default: all)"),
    "types": Param(list[str], False, None, "query types to judge (default: all)"),
    "window": Param(list[float], False, None, "[start, end] seconds since the run started (default: whole run)"),
}


@dataclass(frozen=True)
class Check:
    """A check kind: its function, every parameter it accepts (filters included) and extra constraints."""

    kind: str
    function: CheckFunction
    params: Mapping[str, Param]
    help: str
    constraints: Constraint
    # What the kind judges: the records `select(spec, streams, t0)` picks (default: probes, by the filters),
    # named `noun` when none matched.
    select: Callable[[Mapping[str, Any], Mapping[str, list[Record]], float], list[Record]] | None = None
    noun: str = "probe"

    def problems(self, spec: Mapping[str, Any]) -> list[SpecProblem]:
        """Every problem with a spec of this kind: unknown key, missing, mistyped or out-of-range value."""
        problems = [SpecProblem(key, message) for key, message in
                    table_problems(f"check {self.kind!r}", self.params, spec, ignore=SPEC_KEYS)]
        if problems:
            return problems  # range checks below assume well-typed values
        return _filter_constraints(spec) + self.constraints(spec)

    def __call__(self, spec: Mapping[str, Any], probes: list[Record], events: list[Record],
                 apps: Iterable[Record] = (), samples: Iterable[Record] = ()) -> CheckResult:
        """Judge the records (app attempts and counter samples too, for the kinds that judge them); raises
        ValueError when the spec is invalid."""
        spec = {**spec, "check": self.kind}
        problems = self.problems(spec)
        if problems:
            raise ValueError(f"invalid check {check_name(spec)!r}: " + "; ".join(map(str, problems)))
        full = {name: param.default for name, param in self.params.items()} | spec
        streams = {"probes": list(probes), "apps": list(apps), "samples": list(samples)}
        t0 = records.run_start(probes, events) or min((r["t"] for r in streams["apps"]), default=0.0)
        selected = (self.select or _select_probes)(full, streams, t0)
        scope = Scope(check_name(spec), full, selected, list(events), t0, streams)
        if not selected:
            return scope.result(False, f"no {self.noun} matched ({_filter_summary(spec) or 'no filters'})",
                                matched=0)
        return self.function(scope)


def check(kind: str, function: CheckFunction, own: Mapping[str, Param] | None = None,
          constraints: Constraint | None = None) -> Check:
    """A check kind from its function (whose docstring's first line is its help) and its own parameters."""
    help_text = (function.__doc__ or "").strip().splitlines()[0]
    return Check(kind, function, {**(own or {}), **FILTER_PARAMS}, help_text, constraints or (lambda spec: []))


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


def at_least(key: str, low: float, spec: Mapping[str, Any], high: float = math.inf) -> list[SpecProblem]:
    value = spec.get(key)
    if value is None or low <= value <= high:
        return []
    bounds = f"between {low:g} and {high:g}" if high != math.inf else f"at least {low:g}"
    return [SpecProblem(key, f"{key} must be {bounds}, not {value!r}")]


# ---- selecting and grouping probes -----------------------------------------------------------------------


def _select_probes(spec: Mapping[str, Any], streams: Mapping[str, list[Record]], t0: float) -> list[Record]:
    return _select(spec, streams["probes"], t0)


def _select(spec: Mapping[str, Any], probes: list[Record], t0: float) -> list[Record]:
    names = {name_key(name) for name in spec["names"]} if spec.get("names") else None
    types = {qtype.upper() for qtype in spec["types"]} if spec.get("types") else None
    resolvers = set(spec["resolvers"]) if spec.get("resolvers") else None
    clients = set(spec["clients"]) if spec.get("clients") else None
    window = spec.get("window")

    def matches(probe: Record) -> bool:
        return (
            (names is None or name_key(str(probe.get("name", ""))) in names)
            and (types is None or str(probe.get("type", "")).upper() in types)
            and (resolvers is None or probe.get("resolver") in resolvers)
            and (clients is None or probe.get("client") in clients)
            and (window is None or window[0] <= probe["t"] - t0 <= window[1])
        )

    return [probe for probe in probes if matches(probe)]


def by(probes: Iterable[Record], *keys: str) -> dict[Any, list[Record]]:
    """Group probes (keeping their time order) by one field, or by a tuple of fields."""
    groups: dict[Any, list[Record]] = defaultdict(list)
    for probe in probes:
        key = tuple(probe.get(k) for k in keys)
        groups[key[0] if len(keys) == 1 else key].append(probe)
    return dict(sorted(groups.items(), key=lambda item: str(item[0])))


def failing(probes: Iterable[Record], most: int = 2) -> str:
    """What the not-ok answers were, most common first: `SERVFAIL 161, TIMEOUT 3` (NODATA for an empty
    NOERROR, WRONG for a lie)."""
    said = Counter(_failure(probe) for probe in probes if not records.is_ok(probe))
    return ", ".join(f"{what} {count}" for what, count in said.most_common(most)) or "no failure"


def _failure(probe: Record) -> str:
    outcome = records.outcome(probe)
    if outcome in ("wrong", "timeout"):
        return outcome.upper()
    if outcome == "empty":
        return "NODATA"
    return str(probe.get("rcode") or probe.get("error") or "ERROR")


def share_text(part: int, whole: int) -> str:
    """A share for people (`99.2%`): never shows 100% unless it is exactly all."""
    text = f"{part / whole:.1%}"
    return ">99.9%" if text == "100.0%" and part < whole else text
