"""What applications saw: pure figures over the records of apps, workloads, services and servers' counters,
for the checks (app_availability, app_recovers_within, amplification) and the reports (docs/apps.md).

Inputs are the JSON lines the agents print (lab.agents.app, workload, service) and counter samples
{"t", "server", "stats": {counter: cumulative value}} (lab.serverstats). Times are Unix seconds; a `t0`
turns them into "+X s" since the run started. Nothing here touches Docker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from lab import streaks

Record = dict[str, Any]
Window = tuple[float, float]


def attempts(records: Iterable[Record]) -> list[Record]:
    """The app attempts among `records`, sorted by time."""
    return sorted((r for r in records if r.get("kind") == "attempt"), key=lambda r: r["t"])


def succeeded(attempt: Record) -> bool:
    """The user got an answer from the service."""
    return attempt.get("request") == "ok"


def by(records: Iterable[Record], key: str) -> dict[str, list[Record]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[record[key]].append(record)
    return dict(sorted(groups.items()))


# ---- availability -------------------------------------------------------------------------------------------

def availability(records: Iterable[Record], key: str = "app", window: Window | None = None) -> dict[str, dict]:
    """Per app (or model: key="model"): attempts, successes and their share, within `window` if given.

    Retries count as attempts: a retry storm that fails a hundred times is a hundred failures a user's
    requests made, not one."""
    chosen = [a for a in attempts(records) if window is None or window[0] <= a["t"] <= window[1]]
    figures = {}
    for name, group in by(chosen, key).items():
        ok = sum(map(succeeded, group))
        figures[name] = {"attempts": len(group), "ok": ok, "share": round(ok / len(group), 4)}
    return figures


# ---- recovery -----------------------------------------------------------------------------------------------

def recovered_at(app_attempts: list[Record], since: float, stable: int = 3) -> float | None:
    """When the app succeeded again after `since` (lab.streaks: `stable` successes in a row). None: never."""
    return streaks.recovered_at(app_attempts, since, succeeded, stable)


def recovery(records: Iterable[Record], dns_back: float, t0: float, stable: int = 3,
             key: str = "app") -> dict[str, dict]:
    """Per app (or model): when DNS was back and when the app was, in seconds since `t0`, and the gap.

    {"model", "dns_back_s", "app_back_s" (None: never), "after_dns_s", "text"}: "DNS back at +40.0 s, app back
    at +52.3 s (+12.3 s)"."""
    figures = {}
    for name, group in by(attempts(records), key).items():
        back = recovered_at(group, dns_back, stable)
        dns_s = round(dns_back - t0, 3)
        app_s = None if back is None else round(back - t0, 3)
        after = None if back is None else round(back - dns_back, 3)
        text = f"DNS back at +{dns_s:.1f} s, " + ("app not back" if back is None
                                                  else f"app back at +{app_s:.1f} s (+{after:.1f} s)")
        figures[name] = {"model": group[0].get("model"), "dns_back_s": dns_s, "app_back_s": app_s,
                         "after_dns_s": after, "text": text}
    return figures


def outage(app_attempts: list[Record], start: float, end: float) -> dict[str, Any]:
    """How one app went through [start, end]: its first failure and last success in it (None when there was
    none), and how many attempts failed. An attempt belongs to the window when it started in it."""
    inside = [a for a in app_attempts if start <= a["t"] <= end]
    failures = [a for a in inside if not succeeded(a)]
    successes = [a for a in inside if succeeded(a)]
    return {"attempts": len(inside), "failures": len(failures),
            "first_failure": failures[0] if failures else None,
            "last_success": successes[-1] if successes else None}


# ---- the workload -------------------------------------------------------------------------------------------

def lease_reports(records: Iterable[Record]) -> list[Record]:
    return sorted((r for r in records if r.get("kind") == "leases"), key=lambda r: r["t"])


def goodput(reports: list[Record], window: Window) -> float | None:
    """Mean successful requests per second over the workload's reports within `window` (None: no report)."""
    inside = [r["goodput"] for r in reports if window[0] <= r["t"] <= window[1]]
    return round(sum(inside) / len(inside), 3) if inside else None


def workload_recovered_at(reports: list[Record], since: float, share: float = 1.0, stable: int = 2) -> float | None:
    """The first report after `since` from which at least `share` of the leases were active in `stable`
    reports in a row; None: not recovered."""
    streak_start, streak = None, 0
    for report in reports:
        if report["t"] < since:
            continue
        counts = report["leases"]
        if counts["active"] >= share * sum(counts.values()):
            streak_start = report["t"] if streak == 0 else streak_start
            streak += 1
            if streak >= stable:
                return streak_start
        else:
            streak_start, streak = None, 0
    return None


# ---- server counters ----------------------------------------------------------------------------------------

def series(samples: Iterable[Record], server: str, counter: str,
           value: Callable[[Record], Any] | None = None) -> list[tuple[float, float]]:
    """(t, cumulative value) of one counter of one server, in time order; samples without it are left out.

    `value` reads the counter from a sample when it is not under "stats" (e.g. a service's own lines)."""
    read = value or (lambda sample: (sample.get("stats") or {}).get(counter))
    points = []
    for sample in samples:
        if sample.get("server", sample.get("instance")) != server:
            continue
        number = read(sample)
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            points.append((float(sample["t"]), float(number)))
    return sorted(points)


def rate(points: list[tuple[float, float]], window: Window) -> float | None:
    """Per-second rate of a cumulative counter over the samples within `window` (None: fewer than two).

    A counter that goes down was reset (its server restarted): the value after the reset counts from 0."""
    inside = [p for p in points if window[0] <= p[0] <= window[1]]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None
    total = 0.0
    for (_, before), (_, after) in zip(inside, inside[1:]):
        total += after - before if after >= before else after
    return total / (inside[-1][0] - inside[0][0])


def amplification(points: list[tuple[float, float]], before: Window, during: Window) -> dict[str, Any]:
    """How much faster a counter grew during a fault than before it: {"before", "during", "factor"}.

    The factor is None when either rate is unknown, or when nothing counted before (a rise from zero has no
    ratio; the rates say what happened)."""
    rate_before, rate_during = rate(points, before), rate(points, during)
    factor = None
    if rate_before and rate_during is not None:
        factor = round(rate_during / rate_before, 3)
    return {"before": None if rate_before is None else round(rate_before, 3),
            "during": None if rate_during is None else round(rate_during, 3), "factor": factor}
