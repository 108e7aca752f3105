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


class Tally:
    """How many probes a check judged, and of which query types (what `664 A probes` says)."""

    def __init__(self) -> None:
        self.count = 0
        self.types: set[Any] = set()

    def add(self, probe: Record) -> None:
        self.count += 1
        self.types.add(probe.get("type"))


class Span:
    """The first and the last time of the records added (a check's `+1.0s…+9.5s`)."""

    def __init__(self) -> None:
        self.first, self.last = math.inf, -math.inf

    def add(self, t: float) -> None:
        self.first, self.last = min(self.first, t), max(self.last, t)

    @property
    def times(self) -> list[float]:
        return [self.first, self.last]


@dataclass(frozen=True)
class Scope:
    """What a check judges: the spec with defaults filled in, every event, time zero, and — for the kinds
    that judge other records than probes — those its filters selected (`probes`: app attempts or counter
    samples) with every record stream of the run (`streams`: "apps", "samples"). Probe kinds see their
    probes one at a time (Fold.feed); `tally` counts them."""

    name: str
    spec: Mapping[str, Any]
    probes: list[Record]
    events: list[Record]
    t0: float
    streams: Mapping[str, list[Record]] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)

    def result(self, ok: bool, detail: str, **data: Any) -> CheckResult:
        return CheckResult(self.name, ok, detail, data)

    def since_start(self, t: float) -> float:
        return round(t - self.t0, 3)

    def at(self, t: float) -> str:
        return f"+{t - self.t0:.1f}s"

    def probes_text(self) -> str:
        """`664 A probes`: how many probes the check judged, with their type when they share one (a check
        filtered to A beside a run's total of A and TXT probes)."""
        count = self.tally.count
        types = {str(qtype) for qtype in self.tally.types if qtype}
        kind = f"{types.pop()} " if len(types) == 1 else ""
        return f"{count} {kind}probe{'' if count == 1 else 's'}"

    def span(self, times: Iterable[float]) -> str:
        """`at +1.0s` for one time, `+1.0s…+9.5s` for several."""
        times = list(times)
        first, last = min(times), max(times)
        return f"at {self.at(first)}" if first == last else f"{self.at(first)}…{self.at(last)}"


class Fold:
    """A check kind's judging, one probe at a time: made with the Scope, fed every probe its filters select
    in time order (`feed`), then asked for its verdict (`result`) — so a check holds its own figures, never
    the probes. A kind whose `selects_probes` is False judges the records in `scope.probes` (app attempts,
    counter samples) and is fed every probe of the run, unfiltered (for when DNS was back)."""

    selects_probes = True
    passes = 1  # more: the probes are fed again after `next_pass` (each pass in time order)

    def __init__(self, scope: Scope):
        self.scope = scope

    def feed(self, probe: Record) -> None:
        """One more probe (time order)."""

    def next_pass(self) -> None:
        """The probes are about to be fed again from the first (a fold with `passes` > 1)."""

    def result(self) -> CheckResult:
        raise NotImplementedError


Constraint = Callable[[Mapping[str, Any]], list[SpecProblem]]

FILTER_PARAMS: dict[str, Param] = {
    "names": Param(list[str], False, None, "query names to judge (default: all)"),
    "resolvers": Param(list[str], False, None, "resolver nodes to judge (default: all)"),
    "clients": Param(list[str], False, None, "client nodes to judge (default: all)"),
    "types": Param(list[str], False, None, "query types to judge (default: all)"),
    "window": Param(list[float], False, None, "[start, end] seconds since the run started (default: whole run)"),
}


class Judging:
    """One check being judged over a run's probes: `feed` each probe (in time order), then `result`."""

    def __init__(self, check: Check, scope: Scope, given: Mapping[str, Any]):
        self.check, self.scope, self.given = check, scope, given  # given: the spec as written
        self.fold = check.function(scope)
        self.matches = _matcher(scope.spec, scope.t0) if self.fold.selects_probes else None
        self.passes, self.first_pass = self.fold.passes, True

    def feed(self, probe: Record) -> None:
        if self.matches is None:
            self.fold.feed(probe)
        elif self.matches(probe):
            if self.first_pass:
                self.scope.tally.add(probe)
            self.fold.feed(probe)

    def next_pass(self) -> None:
        self.first_pass = False
        self.fold.next_pass()

    def result(self) -> CheckResult:
        matched = self.scope.tally.count if self.fold.selects_probes else len(self.scope.probes)
        if not matched:
            return self.scope.result(False, f"no {self.check.noun} matched "
                                            f"({_filter_summary(self.given) or 'no filters'})", matched=0)
        return self.fold.result()


@dataclass(frozen=True)
class Check:
    """A check kind: its Fold, every parameter it accepts (filters included) and extra constraints."""

    kind: str
    function: type[Fold]
    params: Mapping[str, Param]
    help: str
    constraints: Constraint
    # What a kind that judges other records than probes judges: the records `select(spec, streams, t0)`
    # picks, named `noun` when none matched (probe kinds: probes, by the filters).
    select: Callable[[Mapping[str, Any], Mapping[str, list[Record]], float], list[Record]] | None = None
    noun: str = "probe"

    def problems(self, spec: Mapping[str, Any]) -> list[SpecProblem]:
        """Every problem with a spec of this kind: unknown key, missing, mistyped or out-of-range value."""
        problems = [SpecProblem(key, message) for key, message in
                    table_problems(f"check {self.kind!r}", self.params, spec, ignore=SPEC_KEYS)]
        if problems:
            return problems  # range checks below assume well-typed values
        return _filter_constraints(spec) + self.constraints(spec)

    def start(self, spec: Mapping[str, Any], events: list[Record], t0: float, apps: list[Record] = (),
              samples: list[Record] = ()) -> Judging:
        """The judging of `spec` over a run with these events (and app attempts, counter samples), time zero
        `t0`; raises ValueError when the spec is invalid."""
        spec = {**spec, "check": self.kind}
        problems = self.problems(spec)
        if problems:
            raise ValueError(f"invalid check {check_name(spec)!r}: " + "; ".join(map(str, problems)))
        full = {name: param.default for name, param in self.params.items()} | spec
        streams = {"apps": list(apps), "samples": list(samples)}
        selected = self.select(full, streams, t0) if self.select else []
        return Judging(self, Scope(check_name(spec), full, selected, list(events), t0, streams), spec)

    def __call__(self, spec: Mapping[str, Any], probes: Iterable[Record], events: list[Record],
                 apps: Iterable[Record] = (), samples: Iterable[Record] = ()) -> CheckResult:
        """Judge the records (app attempts and counter samples too, for the kinds that judge them); raises
        ValueError when the spec is invalid."""
        probes, apps = in_time_order(probes), list(apps)
        t0 = records.run_start(probes, events) or min((r["t"] for r in apps), default=0.0)
        judging = self.start(spec, events, t0, apps, samples)
        for number in range(judging.passes):
            if number:
                judging.next_pass()
            for probe in probes:
                judging.feed(probe)
        return judging.result()


def in_time_order(probes: Iterable[Record]) -> list[Record] | records.ProbeStream:
    """Probes as a check is fed them: a ProbeStream as it is (in time order already), others sorted by time
    (stable), as records.read_jsonl sorts a file's."""
    if isinstance(probes, records.ProbeStream):
        return probes
    return sorted(probes, key=lambda probe: probe["t"])


def check(kind: str, function: type[Fold], own: Mapping[str, Param] | None = None,
          constraints: Constraint | None = None) -> Check:
    """A check kind from its Fold (whose docstring's first line is its help) and its own parameters."""
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


def _matcher(spec: Mapping[str, Any], t0: float) -> Callable[[Record], bool]:
    """Whether a probe is one the spec's filters select."""
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

    return matches


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
    said = Failures()
    for probe in probes:
        said.add(probe)
    return said.text(most)


class Failures:
    """failing(), one probe at a time: what the not-ok ones said, counted."""

    def __init__(self) -> None:
        self.said: Counter[str] = Counter()

    def add(self, probe: Record) -> None:
        if not records.is_ok(probe):
            self.said[_failure(probe)] += 1

    def text(self, most: int = 2) -> str:
        return ", ".join(f"{what} {count}" for what, count in self.said.most_common(most)) or "no failure"


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
