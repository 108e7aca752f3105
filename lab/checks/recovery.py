"""After a fault is cleared, how soon does every resolver answer ok again?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab import records, streaks
from lab.checks.base import CheckResult, Scope, SpecProblem, at_least, by, check, failing
from lab.params import Param
from lab.records import Record


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
    by_resolver = by(scope.probes, "resolver")
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
    if never:  # with what it went on answering after the clear
        still = [f"{r} ({failing(p for p in by_resolver[r] if p['t'] >= window['end'])})" for r in never]
        return figures | {"text": f"{cleared}: {', '.join(still)} never recovered"}
    figures["seconds"] = max(times.values())
    each = ", ".join(f"{resolver} {seconds:.1f}s" for resolver, seconds in times.items())
    return figures | {"text": f"{cleared}: recovered in {figures['seconds']:.1f}s ({each})"}


def _recovered_at(probes: list[Record], since: float, stable: int) -> float | None:
    return streaks.recovered_at(probes, since, records.is_ok, stable)


def _recovery_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return at_least("seconds", 0, spec) + at_least("stable", 1, spec)


CHECKS = {c.kind: c for c in (
    check("recovers_within", recovers_within, {
        "seconds": Param(float, True, None, "longest allowed time from a fault's clear to recovery"),
        "fault": Param(str, False, None, "fault id or kind to judge (default: every fault)"),
        "stable": Param(int, False, 3, "consecutive ok probes per resolver that count as recovered"),
    }, _recovery_constraints),
)}
