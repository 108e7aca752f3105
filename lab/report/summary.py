"""The report of a run as one JSON-ready dict: the verdict, every check's result, and the key figures.

Everything else in lab.report renders this dict (terminal, JUnit) or the records behind it (timeline).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from lab import records
from lab.checks import CheckResult
from lab.records import Record
from lab.report.resolvers import resolver_outcomes

VERDICTS = ("pass", "fail", "interrupted")


def verdict_for(check_results: Iterable[CheckResult], interrupted: bool) -> str:
    """`interrupted` when the run was cut short (its checks judged partial evidence), else pass/fail."""
    if interrupted:
        return "interrupted"
    return "pass" if all(result.ok for result in check_results) else "fail"


def build_report(
    playbook_name: str,
    seed: int | str | None,
    verdict: str,
    check_results: list[CheckResult],
    probes: list[Record],
    events: list[Record],
    extra: dict[str, Any] | None = None,
    truncated_lines: int = 0,
) -> dict[str, Any]:
    """The report dict; `extra` (anything the caller wants kept, e.g. lab and run id) goes under "extra".

    Times in "faults" are Unix times ("start", "end") and seconds since the run started ("start_s",
    "end_s"); "end" is None for a fault that was never cleared.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    t0 = records.run_start(probes, events)
    return {
        "playbook": playbook_name,
        "seed": seed,
        "verdict": verdict,
        "started_at": t0,
        "duration_s": _duration(probes, events, t0),
        "checks": [
            {"name": result.name, "ok": result.ok, "detail": result.detail, "data": result.data}
            for result in check_results
        ],
        "probes": probe_figures(probes),
        "faults": [_fault(window, t0) for window in records.fault_windows(events)],
        "resolvers": resolver_outcomes(probes, events, (extra or {}).get("software"), t0),
        "truncated_lines": truncated_lines,
        "extra": dict(extra or {}),
    }


def probe_figures(probes: list[Record]) -> dict[str, Any]:
    """Counts over all probes: total, ok, wrong (lab.truth), by rcode ("none" when no answer came), empties,
    timeouts, per resolver; `judged`: answers the truth could judge (not `unseen`)."""
    outcomes = Counter(records.outcome(probe) for probe in probes)
    by_resolver: dict[str, list[Record]] = {}
    for probe in probes:
        by_resolver.setdefault(str(probe.get("resolver")), []).append(probe)
    return {
        "total": len(probes),
        "ok": outcomes["ok"],
        "wrong": outcomes["wrong"],
        "judged": sum(1 for probe in probes if probe.get("truth") in ("held", "stale", "unheld")),
        "by_rcode": dict(Counter(probe.get("rcode") or "none" for probe in probes).most_common()),
        "by_type": dict(Counter(str(probe.get("type")) for probe in probes).most_common()),
        "empty_answers": outcomes["empty"] + outcomes["nxdomain"],
        "timeouts": outcomes["timeout"],
        "by_resolver": {resolver: _resolver_figures(group) for resolver, group in sorted(by_resolver.items())},
    }


def _resolver_figures(probes: list[Record]) -> dict[str, int]:
    outcomes = Counter(records.outcome(probe) for probe in probes)
    return {
        "total": len(probes),
        "ok": outcomes["ok"],
        "wrong": outcomes["wrong"],
        "empty": outcomes["empty"] + outcomes["nxdomain"],
        "nodata": outcomes["empty"],
        "nxdomain": outcomes["nxdomain"],
        "servfail": outcomes["servfail"],
        "timeout": outcomes["timeout"],
        "other": outcomes["other"],
    }


def _fault(window: Record, t0: float | None) -> dict[str, Any]:
    def since_start(t: float | None) -> float | None:
        return None if t is None or t0 is None else round(t - t0, 3)

    return window | {"start_s": since_start(window["start"]), "end_s": since_start(window["end"])}


def _duration(probes: list[Record], events: list[Record], t0: float | None) -> float:
    last = max([record["t"] for record in (*probes, *events)], default=None)
    return 0.0 if last is None or t0 is None else round(last - t0, 3)
