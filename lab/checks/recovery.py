"""After a fault is cleared, how soon does every resolver answer ok again?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab import records, streaks
from lab.checks.base import CheckResult, Failures, Fold, Scope, SpecProblem, at_least, check
from lab.params import Param
from lab.records import Record


class RecoversWithin(Fold):
    """After each fault is cleared, every resolver must answer ok again within `seconds`.

    A resolver has recovered at the first ok probe (at or after the clear) that starts `stable`
    consecutive ok probes, or that is followed only by ok probes until the run ended. The recovery time
    of a fault is that of its slowest resolver. A fault never cleared, or a resolver with no ok streak
    after the clear, never recovered. Faults that overlap count against each other (the outage the
    clients see does not know which fault caused it): pick one with `fault`.
    """

    def __init__(self, scope: Scope):
        super().__init__(scope)
        wanted = scope.spec.get("fault")
        self.windows = [w for w in records.fault_windows(scope.events)
                        if wanted is None or wanted in (w["id"], w["kind"])]
        clears = [w["end"] for w in self.windows if w["end"] is not None]
        self.recovery = streaks.GroupRecovery(clears, records.is_ok, scope.spec["stable"],
                                              lambda probe: probe.get("resolver"))
        # (clear, resolver) -> what it answered from the clear on: said when it never recovered
        self.after: dict[tuple[float, Any], Failures] = {}

    def feed(self, probe: Record) -> None:
        self.recovery.feed(probe)
        if records.is_ok(probe):
            return
        for clear in self.recovery.since_times:
            if probe["t"] >= clear:
                self.after.setdefault((clear, probe.get("resolver")), Failures()).add(probe)

    def result(self) -> CheckResult:
        scope, wanted = self.scope, self.scope.spec.get("fault")
        if not self.windows:
            which = f"matching {wanted!r}" if wanted is not None else "at all"
            return scope.result(False, f"no fault was injected {which}: nothing to recover from", faults=[])
        faults = [self._recovery(window) for window in self.windows]
        late = [fault for fault in faults if fault["seconds"] is None or fault["seconds"] > scope.spec["seconds"]]
        head = (f"{len(late)}/{len(faults)} faults not recovered within {scope.spec['seconds']:g}s"
                if late else f"{len(faults)}/{len(faults)} faults recovered within {scope.spec['seconds']:g}s")
        detail = head + ": " + "; ".join(fault.pop("text") for fault in faults)
        return scope.result(not late, detail, faults=faults)

    def _recovery(self, window: Record) -> dict[str, Any]:
        scope = self.scope
        label = f"{window['kind']} on {window['target']}"
        figures: dict[str, Any] = {"id": window["id"], "kind": window["kind"], "target": window["target"],
                                   "end_s": None, "seconds": None, "by_resolver": {}}
        if window["end"] is None:
            return figures | {"text": f"{label} was never cleared"}
        figures["end_s"] = scope.since_start(window["end"])
        for resolver, recovered_at in self.recovery.at(window["end"]).items():
            figures["by_resolver"][resolver] = None if recovered_at is None else round(recovered_at - window["end"], 3)
        times = figures["by_resolver"]
        never = [resolver for resolver, seconds in times.items() if seconds is None]
        cleared = f"{label} cleared {scope.at(window['end'])}"
        if never:  # with what it went on answering after the clear
            still = [f"{r} ({self.after.get((window['end'], r), Failures()).text()})" for r in never]
            return figures | {"text": f"{cleared}: {', '.join(still)} never recovered"}
        figures["seconds"] = max(times.values())
        each = ", ".join(f"{resolver} {seconds:.1f}s" for resolver, seconds in times.items())
        return figures | {"text": f"{cleared}: recovered in {figures['seconds']:.1f}s ({each})"}


def _recovered_at(probes: list[Record], since: float, stable: int) -> float | None:
    return streaks.recovered_at(probes, since, records.is_ok, stable)


def _recovery_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return at_least("seconds", 0, spec) + at_least("stable", 1, spec)


CHECKS = {c.kind: c for c in (
    check("recovers_within", RecoversWithin, {
        "seconds": Param(float, True, None, "longest allowed time from a fault's clear to recovery"),
        "fault": Param(str, False, None, "fault id or kind to judge (default: every fault)"),
        "stable": Param(int, False, 3, "consecutive ok probes per resolver that count as recovered"),
    }, _recovery_constraints),
)}
