"""Did the name go away? An empty answer (NODATA, NXDOMAIN) judged, and a symptom that must show up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from lab import records
from lab.checks.base import CheckResult, Fold, Scope, Span, SpecProblem, at_least, check
from lab.params import Param
from lab.records import Record


RCODES = (
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
    "NOTAUTH", "NOTZONE", "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
    "BADCOOKIE",
)
# Symptoms that are not an rcode: EMPTY is NODATA or NXDOMAIN, NODATA is NOERROR without answers.
SYMPTOMS = ("EMPTY", "NODATA", "TIMEOUT")


class NeverEmpty(Fold):
    """Fail when any selected probe got an empty answer (NODATA or NXDOMAIN): the name went away (per type)."""

    def __init__(self, scope: Scope):
        super().__init__(scope)
        self.by_resolver: dict[Any, _Empties] = {}
        self.by_type: Counter[Any] = Counter()

    def feed(self, probe: Record) -> None:
        if records.is_empty(probe):
            self.by_resolver.setdefault(probe.get("resolver"), _Empties()).add(probe)
            self.by_type[probe.get("type")] += 1

    def result(self) -> CheckResult:
        scope, total = self.scope, self.scope.tally.count
        empty = sum(self.by_type.values())
        if not empty:
            return scope.result(True, f"none of {scope.probes_text()} got an empty answer", matched=total, empty=0,
                                by_type={})
        groups = dict(sorted(self.by_resolver.items(), key=lambda item: str(item[0])))
        by_resolver = {resolver: group.figures(scope) for resolver, group in groups.items()}
        names = sorted({name for group in groups.values() for name in group.names})
        every = _empty_kinds({"nodata": sum(f["nodata"] for f in by_resolver.values()),
                              "nxdomain": sum(f["nxdomain"] for f in by_resolver.values())})
        # Each name and rcode once, up front; a resolver says its own only where they are not all of them.
        same_kind = len({(f["nodata"] > 0, f["nxdomain"] > 0) for f in by_resolver.values()}) == 1
        parts = [
            f"{resolver} " + (str(figures["empty"]) if same_kind else _empty_kinds(figures))
            + f" {scope.span(groups[resolver].span.times)}"
            + ("" if figures["names"] == names else " for " + ", ".join(figures["names"]))
            for resolver, figures in by_resolver.items()
        ]
        said = every.split(" ", 1)[1] if "," not in every else f"empty ({every})"  # "NODATA" when it is all one
        # Judged per type: "the AAAA set went empty" is its own finding next to the A set's.
        by_type = dict(sorted(self.by_type.items()))
        types = "" if len(by_type) < 2 and len(scope.tally.types) < 2 else (
            " (" + ", ".join(f"{rdtype} {count}" for rdtype, count in by_type.items()) + ")")
        detail = (f"{empty} of {scope.probes_text()} {said} for {', '.join(names)}{types} — "
                  + "; ".join(parts))
        return scope.result(False, detail, matched=total, empty=empty, names=names, by_resolver=by_resolver,
                            by_type=by_type)


class _Empties:
    """One resolver's empty answers: how many, of which rcode, for which names, when."""

    def __init__(self) -> None:
        self.empty = self.nodata = 0
        self.names: set[str] = set()
        self.span = Span()

    def add(self, probe: Record) -> None:
        self.empty += 1
        self.nodata += records.is_nodata(probe)  # by rcode: a wrong empty answer is empty too
        self.names.add(str(probe.get("name")))
        self.span.add(probe["t"])

    def figures(self, scope: Scope) -> dict[str, Any]:
        return {
            "empty": self.empty,
            "nodata": self.nodata,
            "nxdomain": self.empty - self.nodata,
            "names": sorted(self.names),
            "first_s": scope.since_start(self.span.first),
            "last_s": scope.since_start(self.span.last),
        }


def _empty_kinds(figures: Mapping[str, Any]) -> str:
    kinds = [f"{figures[key]} {label}" for key, label in (("nodata", "NODATA"), ("nxdomain", "NXDOMAIN"))]
    return ", ".join(kind for kind in kinds if not kind.startswith("0 "))


_SYMPTOM_MATCHERS: dict[str, Callable[[Record], bool]] = {
    "EMPTY": records.is_empty,
    "NODATA": records.is_nodata,
    "TIMEOUT": lambda probe: records.outcome(probe) == "timeout",
}


class ExpectRcode(Fold):
    """The symptom `rcode` must show up in at least `min_count` probes: proof that a fault bit."""

    def __init__(self, scope: Scope):
        super().__init__(scope)
        self.wanted = scope.spec["rcode"].upper()
        self.matcher = _SYMPTOM_MATCHERS.get(self.wanted)
        self.by_resolver: Counter[Any] = Counter()
        self.span = Span()
        self.answers: Counter[str] = Counter()  # what every probe said: the detail when the symptom never came

    def feed(self, probe: Record) -> None:
        self.answers[_symptom(probe)] += 1
        if self.matcher(probe) if self.matcher else probe.get("rcode") == self.wanted:
            self.by_resolver[probe.get("resolver")] += 1
            self.span.add(probe["t"])

    def result(self) -> CheckResult:
        scope, wanted, minimum = self.scope, self.wanted, self.scope.spec["min_count"]
        seen = sum(self.by_resolver.values())
        by_resolver = dict(sorted(self.by_resolver.items(), key=lambda item: str(item[0])))
        if seen:
            where = ", ".join(f"{resolver} {count}" for resolver, count in by_resolver.items())
            detail = f"{wanted} seen {seen} times (min {minimum}) {scope.span(self.span.times)}: {where}"
        else:
            instead = ", ".join(f"{rcode} {count}" for rcode, count in self.answers.most_common())
            detail = f"{wanted} never seen in {scope.tally.count} probes (min {minimum}); seen instead: {instead}"
        return scope.result(seen >= minimum, detail, rcode=wanted, count=seen, by_resolver=by_resolver)


def _symptom(probe: Record) -> str:
    """The rcode, or what stood in for one: TIMEOUT, or ERROR for other failures without an answer."""
    if probe.get("rcode") is not None:
        return str(probe["rcode"])
    return "TIMEOUT" if records.outcome(probe) == "timeout" else "ERROR"


def _rcode_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    rcode = str(spec.get("rcode", "")).upper()
    problems = at_least("min_count", 1, spec)
    if rcode not in RCODES + SYMPTOMS:
        problems.append(SpecProblem("rcode", f"unknown rcode {spec.get('rcode')!r} "
                                             f"(one of {', '.join(RCODES + SYMPTOMS)})"))
    return problems


CHECKS = {c.kind: c for c in (
    check("never_empty", NeverEmpty),
    check("expect_rcode", ExpectRcode, {
        "rcode": Param(str, True, None, "rcode that must show up (SERVFAIL, ...) or EMPTY, NODATA, TIMEOUT"),
        "min_count": Param(int, False, 1, "how many probes must show it"),
    }, _rcode_constraints),
)}
