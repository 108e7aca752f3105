"""Did the name go away? An empty answer (NODATA, NXDOMAIN) judged, and a symptom that must show up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from lab import records
from lab.checks.base import CheckResult, Scope, SpecProblem, at_least, by, check
from lab.params import Param
from lab.records import Record


RCODES = (
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
    "NOTAUTH", "NOTZONE", "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
    "BADCOOKIE",
)
# Symptoms that are not an rcode: EMPTY is NODATA or NXDOMAIN, NODATA is NOERROR without answers.
SYMPTOMS = ("EMPTY", "NODATA", "TIMEOUT")


def never_empty(scope: Scope) -> CheckResult:
    """Fail when any selected probe got an empty answer (NODATA or NXDOMAIN): the name went away (per type)."""
    empty = [probe for probe in scope.probes if records.is_empty(probe)]
    total = len(scope.probes)
    if not empty:
        return scope.result(True, f"none of {scope.probes_text()} got an empty answer", matched=total, empty=0, by_type={})
    groups = by(empty, "resolver")
    by_resolver = {resolver: _empty_figures(scope, group) for resolver, group in groups.items()}
    names = sorted({str(probe.get("name")) for probe in empty})
    every = _empty_kinds({"nodata": sum(f["nodata"] for f in by_resolver.values()),
                          "nxdomain": sum(f["nxdomain"] for f in by_resolver.values())})
    # Each name and rcode once, up front; a resolver says its own only where they are not all of them.
    same_kind = len({(f["nodata"] > 0, f["nxdomain"] > 0) for f in by_resolver.values()}) == 1
    parts = [
        f"{resolver} " + (str(figures["empty"]) if same_kind else _empty_kinds(figures))
        + f" {scope.span([p['t'] for p in groups[resolver]])}"
        + ("" if figures["names"] == names else " for " + ", ".join(figures["names"]))
        for resolver, figures in by_resolver.items()
    ]
    said = every.split(" ", 1)[1] if "," not in every else f"empty ({every})"  # "NODATA" when it is all one
    # Judged per type: "the AAAA set went empty" is its own finding next to the A set's.
    by_type = {rdtype: len(group) for rdtype, group in sorted(by(empty, "type").items())}
    types = "" if len(by_type) < 2 and len({p.get("type") for p in scope.probes}) < 2 else (
        " (" + ", ".join(f"{rdtype} {count}" for rdtype, count in by_type.items()) + ")")
    detail = (f"{len(empty)} of {scope.probes_text()} {said} for {', '.join(names)}{types} — "
              + "; ".join(parts))
    return scope.result(False, detail, matched=total, empty=len(empty), names=names, by_resolver=by_resolver,
                        by_type=by_type)


def _empty_figures(scope: Scope, empty: list[Record]) -> dict[str, Any]:
    nodata = sum(records.is_nodata(probe) for probe in empty)  # by rcode: a wrong empty answer is empty too
    times = [probe["t"] for probe in empty]
    return {
        "empty": len(empty),
        "nodata": nodata,
        "nxdomain": len(empty) - nodata,
        "names": sorted({str(probe.get("name")) for probe in empty}),
        "first_s": scope.since_start(min(times)),
        "last_s": scope.since_start(max(times)),
    }


def _empty_kinds(figures: Mapping[str, Any]) -> str:
    kinds = [f"{figures[key]} {label}" for key, label in (("nodata", "NODATA"), ("nxdomain", "NXDOMAIN"))]
    return ", ".join(kind for kind in kinds if not kind.startswith("0 "))


_SYMPTOM_MATCHERS: dict[str, Callable[[Record], bool]] = {
    "EMPTY": records.is_empty,
    "NODATA": records.is_nodata,
    "TIMEOUT": lambda probe: records.outcome(probe) == "timeout",
}


def expect_rcode(scope: Scope) -> CheckResult:
    """The symptom `rcode` must show up in at least `min_count` probes: proof that a fault bit."""
    wanted = scope.spec["rcode"].upper()
    matcher = _SYMPTOM_MATCHERS.get(wanted)
    seen = [probe for probe in scope.probes if (matcher(probe) if matcher else probe.get("rcode") == wanted)]
    minimum = scope.spec["min_count"]
    by_resolver = {resolver: len(group) for resolver, group in by(seen, "resolver").items()}
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
    problems = at_least("min_count", 1, spec)
    if rcode not in RCODES + SYMPTOMS:
        problems.append(SpecProblem("rcode", f"unknown rcode {spec.get('rcode')!r} "
                                             f"(one of {', '.join(RCODES + SYMPTOMS)})"))
    return problems


CHECKS = {c.kind: c for c in (
    check("never_empty", never_empty),
    check("expect_rcode", expect_rcode, {
        "rcode": Param(str, True, None, "rcode that must show up (SERVFAIL, ...) or EMPTY, NODATA, TIMEOUT"),
        "min_count": Param(int, False, 1, "how many probes must show it"),
    }, _rcode_constraints),
)}
