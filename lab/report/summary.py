"""The report of a run as one JSON-ready dict: the verdict, every check's result, and the key figures.

Everything else in lab.report renders this dict (terminal, JUnit) or the records behind it (timeline).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from lab import records
from lab.checks import CheckResult
from lab.checks.base import in_time_order
from lab.records import Record
from lab.report.resolvers import ResolverOutcomes

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
    probes: Iterable[Record],
    events: list[Record],
    extra: dict[str, Any] | None = None,
    truncated_lines: int = 0,
    feeding: Iterable[Any] = (),
) -> dict[str, Any]:
    """The report dict; `extra` (anything the caller wants kept, e.g. lab and run id) goes under "extra".

    Times in "faults" are Unix times ("start", "end") and seconds since the run started ("start_s",
    "end_s"); "end" is None for a fault that was never cleared. `probes` (a list or a records.ProbeStream)
    are gone through once, in time order, and every object of `feeding` is fed each of them on the way (what
    the rest of the report draws from: one pass for it all).
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    probes = in_time_order(probes)
    t0 = records.run_start(probes, events)
    figures = ProbeFigures()
    outcomes = ResolverOutcomes(events, (extra or {}).get("software"), t0)
    folds = [figures, outcomes, *feeding]
    for probe in probes:
        for fold in folds:
            fold.feed(probe)
    return {
        "playbook": playbook_name,
        "seed": seed,
        "verdict": verdict,
        "started_at": t0,
        "duration_s": _duration(figures.last_t, events, t0),
        "checks": [
            {"name": result.name, "ok": result.ok, "detail": result.detail, "data": result.data}
            for result in check_results
        ],
        "probes": figures.result(),
        "faults": [_fault(window, t0) for window in records.fault_windows(events)],
        "resolvers": outcomes.result(),
        "truncated_lines": truncated_lines,
        "extra": dict(extra or {}),
    }


def probe_figures(probes: Iterable[Record]) -> dict[str, Any]:
    """Counts over all probes: total, ok, wrong (lab.truth), by rcode ("none" when no answer came), empties,
    timeouts, per resolver; `judged`: answers the truth could judge (not `unseen`)."""
    figures = ProbeFigures()
    for probe in probes:
        figures.feed(probe)
    return figures.result()


class ProbeFigures:
    """probe_figures() one probe at a time: `feed` each, then `result`; `last_t` the latest probe's time."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.judged = 0
        self.by_rcode: Counter[str] = Counter()
        self.by_type: Counter[str] = Counter()
        self.by_resolver: dict[str, Counter[str]] = {}
        self.last_t: float | None = None

    def feed(self, probe: Record) -> None:
        outcome = records.outcome(probe)
        self.outcomes[outcome] += 1
        self.judged += probe.get("truth") in ("held", "stale", "unheld")
        self.by_rcode[probe.get("rcode") or "none"] += 1
        self.by_type[str(probe.get("type"))] += 1
        self.by_resolver.setdefault(str(probe.get("resolver")), Counter())[outcome] += 1
        self.last_t = probe["t"] if self.last_t is None else max(self.last_t, probe["t"])

    def result(self) -> dict[str, Any]:
        outcomes = self.outcomes
        return {
            "total": sum(outcomes.values()),
            "ok": outcomes["ok"],
            "wrong": outcomes["wrong"],
            "judged": self.judged,
            "by_rcode": dict(self.by_rcode.most_common()),
            "by_type": dict(self.by_type.most_common()),
            "empty_answers": outcomes["empty"] + outcomes["nxdomain"],
            "timeouts": outcomes["timeout"],
            "by_resolver": {resolver: _resolver_figures(counts) for resolver, counts in sorted(self.by_resolver.items())},
        }


def _resolver_figures(outcomes: Counter[str]) -> dict[str, int]:
    return {
        "total": sum(outcomes.values()),
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


def _duration(last_probe: float | None, events: list[Record], t0: float | None) -> float:
    last = max([record["t"] for record in events] + ([] if last_probe is None else [last_probe]), default=None)
    return 0.0 if last is None or t0 is None else round(last - t0, 3)
