"""The resolver x fault matrix: what each resolver vendor's clients lived through in each playbook run.

One run probes every resolver, so one run gives every vendor's column: its probes are split by the
resolver they went through, and each vendor gets

- availability: the share of ok probes (records.is_ok);
- time to detect: from the first change of the run (the first fault_injected or flood_started event) to
  that vendor's first probe that was not ok; None when its clients never noticed;
- time to recover: from the last fault_cleared (or flood_finished) event to the vendor's last not-ok
  probe's successor, i.e. the point from which every probe was ok (0 when it was ok again before the
  clear, None when it never was);
- the dominant symptom: its most common failed outcome (SERVFAIL, TIMEOUT, NODATA, NXDOMAIN, WRONG: an
  answer no authoritative server held, lab.truth, ...).

Pure: `cells` works on the records of one run, `build` on finished runs; lab.commands.incidents runs them and
lab.report.heatmap draws the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lab import records
from lab.records import Record

VARIANTS = ("as-written", "mitigated")
# What starts and what ends the trouble of a run: the lab's faults (also those actions apply) and floods.
CHANGE_EVENTS = ("fault_injected", "flood_started")
END_EVENTS = ("fault_cleared", "flood_finished")
FIX_EVENTS = ("action_done",)  # an action may be the fix: the race's repair, a rollback by hand
EXPECTED_EXIT = {"as-written": 1, "mitigated": 0}  # a library playbook shows its symptom, its mitigation passes


@dataclass(frozen=True)
class RunOutcome:
    """One finished playbook run as the matrix needs it."""

    playbook: str
    variant: str
    exit_code: int
    seconds: float
    vendors: Mapping[str, str]  # resolver node -> vendor label
    probes: list[Record]
    events: list[Record]
    run_dir: str = ""
    error: str | None = None
    host: str | None = None  # the engine it ran on (dnslab matrix --hosts)


def symptom(probe: Record) -> str:
    """What a failed probe showed the client: the rcode, NODATA, TIMEOUT or the error."""
    if records.is_wrong(probe):
        return "WRONG"
    if probe.get("rcode") == "NOERROR" and not probe.get("answers"):
        return "NODATA"
    if probe.get("rcode"):
        return str(probe["rcode"])
    return "TIMEOUT" if probe.get("error") == "timeout" else "ERROR"


def _times(events: Iterable[Record], names: tuple[str, ...]) -> list[float]:
    return [e["t"] for e in events if e.get("event") in names and not e.get("sweep")]


def _fix_times(events: list[Record]) -> list[float]:
    """When each action began (its step's start): a repair acts before its action_done is written."""
    started = {e.get("index"): e["t"] for e in events if e.get("event") == "step_started" and e.get("phase") != "setup"}
    return [started.get(e.get("index"), e["t"]) for e in events if e.get("event") in FIX_EVENTS]


def cell(probes: list[Record], events: list[Record]) -> dict[str, Any]:
    """The figures of one vendor in one run (its probes only; the run's events)."""
    probes = sorted(probes, key=lambda p: p["t"])
    bad = [p for p in probes if not records.is_ok(p)]
    injected, cleared = _times(events, CHANGE_EVENTS), _times(events, END_EVENTS) + _fix_times(events)
    start = min(injected) if injected else None
    detect = None
    if start is not None:
        first = next((p for p in bad if p["t"] >= start), None)
        detect = None if first is None else round(first["t"] - start, 2)
    recover: float | None = 0.0
    if bad:
        last_bad = bad[-1]
        after = [p for p in probes if p["t"] > last_bad["t"]]
        if not after:
            recover = None  # still failing when the run ended
        else:  # from the fix that ended it: the last clear or action before the first good answer again
            fixes = [t for t in cleared if t <= after[0]["t"]]
            if fixes:
                recover = round(after[0]["t"] - max(fixes), 2)
    counts = Counter(symptom(p) for p in bad)
    return {
        "probes": len(probes),
        "ok": len(probes) - len(bad),
        "availability": round((len(probes) - len(bad)) / len(probes), 4) if probes else None,
        "detect_s": detect,
        "recover_s": recover,
        "symptom": counts.most_common(1)[0][0] if counts else None,
        "symptoms": dict(counts.most_common()),
    }


def cells(outcome: RunOutcome) -> dict[str, dict[str, Any]]:
    """vendor -> figures for one run; a vendor with several resolvers is judged over all of them."""
    by_vendor: dict[str, list[Record]] = {}
    for probe in outcome.probes:
        vendor = outcome.vendors.get(str(probe.get("resolver")), str(probe.get("resolver")))
        by_vendor.setdefault(vendor, []).append(probe)
    return {vendor: cell(group, outcome.events) for vendor, group in by_vendor.items()}


def build(outcomes: Iterable[RunOutcome], total_seconds: float | None = None) -> dict[str, Any]:
    """matrix.json: one row per playbook run, a cell per vendor, the vendors in a stable order."""
    rows, vendors = [], []
    for outcome in outcomes:
        row_cells = cells(outcome)
        for vendor in outcome.vendors.values():
            if vendor not in vendors:
                vendors.append(vendor)
        expected = EXPECTED_EXIT.get(outcome.variant)
        rows.append({
            "playbook": outcome.playbook, "variant": outcome.variant, "exit_code": outcome.exit_code,
            "as_expected": expected is None or outcome.exit_code == expected,
            "seconds": round(outcome.seconds, 1), "run_dir": outcome.run_dir, "error": outcome.error,
            "cells": row_cells, **({"host": outcome.host} if outcome.host else {}),
        })
    return {"vendors": vendors, "rows": rows, "total_seconds": None if total_seconds is None else
            round(total_seconds, 1), "all_as_expected": all(r["as_expected"] for r in rows)}


def exit_text(variant: str, exit_code: int) -> str:
    """The exit code with what it means for a library playbook: `1 (reproduced)` as written, `0 (mitigated)`
    with its mitigation, `(unexpected)` otherwise."""
    if EXPECTED_EXIT.get(variant) is None:
        return str(exit_code)
    if exit_code != EXPECTED_EXIT[variant]:
        return f"{exit_code} (unexpected)"
    return f"{exit_code} (reproduced)" if variant == "as-written" else f"{exit_code} (mitigated)"


def row_label(row: Mapping[str, Any]) -> str:
    return f"{row['playbook']} ({row['variant']})"


def cell_text(figures: Mapping[str, Any] | None) -> str:
    """One cell for people: `54% SERVFAIL · detect 1.2s · recover 3.0s`, `100%` when nothing failed."""
    if not figures or figures.get("availability") is None:
        return "—"
    text = f"{figures['availability']:.0%}"
    if figures.get("symptom"):
        text += f" {figures['symptom']}"
        if figures.get("detect_s") is not None:
            text += f" · detect {figures['detect_s']:.1f}s"
        recover = figures.get("recover_s")
        text += " · not recovered" if recover is None else f" · recover {recover:.1f}s"
    return text
