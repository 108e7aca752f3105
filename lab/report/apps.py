"""What applications saw, for report.json's "apps" part, the terminal and report.html (docs/apps.md):
per outage, when DNS was back and when each model's apps were, the workload's goodput and whether its leases
came back, and each server's query amplification during it.

An outage ends at each `repair` action when the run did one (the operator's fix: the DNS automation's own
faults are over long before), else at each fault's clear. DNS is back when every resolver's probes are ok
again after that (3 in a row), as app_recovers_within sees it. Pure: a function of the run's records.
"""

from __future__ import annotations

from typing import Any

from lab import appfigures as figures
from lab import records, streaks
from lab.checks.base import in_time_order
from lab.records import Record

STABLE = 3
BASELINE_S = 10.0  # seconds before an outage that give the usual query rate
REPAIR = "repair"


class DnsOutages:
    """The outages of a run and when DNS was back after each, from its probes one at a time (in time order):
    `feed` every probe, then `outages()` ([{"label", "start", "end"}]: the repairs when there were any, else
    the cleared faults) and `dns_back(end)`."""

    def __init__(self, events: list[Record]):
        windows = records.fault_windows(events)
        repairs = [e["t"] for e in events if e.get("event") == "action_done" and e.get("action") == REPAIR]
        self.repairs = []  # [start, end, first failed probe in between]
        for end in repairs:
            starts = [w["start"] for w in windows if w["start"] < end]
            self.repairs.append([max(starts) if starts else end, end, None])
        self.cleared = [{"label": f"{w['kind']} on {w['target']}", "start": w["start"], "end": w["end"]}
                        for w in windows if w["end"] is not None]
        ends = list(repairs) if repairs else [w["end"] for w in self.cleared]
        self.recovery = streaks.GroupRecovery(ends, records.is_ok, STABLE, lambda probe: probe.get("resolver"))
        self.last_t: float | None = None

    def feed(self, probe: Record) -> None:
        self.recovery.feed(probe)
        self.last_t = probe["t"] if self.last_t is None else max(self.last_t, probe["t"])
        for repair in self.repairs:
            if repair[2] is None and repair[0] <= probe["t"] <= repair[1] and not records.is_ok(probe):
                repair[2] = probe["t"]

    def outages(self) -> list[dict[str, Any]]:
        if self.repairs:
            return [{"label": "repair", "start": start if failed is None else failed, "end": end}
                    for start, end, failed in self.repairs]
        return self.cleared

    def dns_back(self, end: float) -> float | None:
        return self.recovery.all_back(end)


def summarize(found: records.RunRecords, t0: float | None, dns: DnsOutages | None = None) -> dict[str, Any] | None:
    """report.json's "apps": None when the run recorded no app, workload or counter sample. `dns`: fed the
    run's probes already (build_report's pass); without it the probes are gone through here."""
    if not found.apps and not found.samples:
        return None
    if dns is None:
        dns = DnsOutages(found.events)
        for probe in in_time_order(found.probes):
            dns.feed(probe)
    t0 = t0 or 0.0
    attempts = figures.attempts(found.apps)
    reports = figures.lease_reports(found.apps)
    end_of_run = max([r["t"] for r in found.apps] + ([] if dns.last_t is None else [dns.last_t]), default=t0)
    part: dict[str, Any] = {
        "availability": {"by_app": figures.availability(attempts), "by_model": figures.availability(attempts, "model")},
        "models": {a["app"]: a.get("model") for a in attempts},
        "outages": [],
    }
    for outage in dns.outages():
        back = dns.dns_back(outage["end"])
        entry: dict[str, Any] = {"label": outage["label"], "start_s": round(outage["start"] - t0, 3),
                                 "end_s": round(outage["end"] - t0, 3),
                                 "dns_back_s": None if back is None else round(back - t0, 3),
                                 "models": {}, "workloads": {}, "amplification": {}}
        if back is not None:
            for model, r in figures.recovery(attempts, back, t0, STABLE, key="model").items():
                entry["models"][model] = {k: r[k] for k in ("dns_back_s", "app_back_s", "after_dns_s", "text")}
        for name, group in figures.by(reports, "workload").items():
            entry["workloads"][name] = _workload(group, outage, back, t0, end_of_run)
        entry["amplification"] = _amplification(found.samples, outage)
        part["outages"].append(entry)
    return part


def _workload(reports: list[Record], outage: dict, back: float | None, t0: float, end: float) -> dict[str, Any]:
    end = reports[-1]["t"]  # "at the end": the workload's own last 5 s, as workload_recovers_within says
    recovered = None if back is None else figures.workload_recovered_at(reports, back)
    last = reports[-1]
    return {
        "goodput_before": figures.goodput(reports, (outage["start"] - BASELINE_S, outage["start"])),
        "goodput_during": figures.goodput(reports, (outage["start"], outage["end"])),
        "goodput_after": None if back is None else figures.goodput(reports, (max(back, end - 5.0), end)),
        "back_s": None if recovered is None else round(recovered - t0, 3),
        "after_dns_s": None if recovered is None or back is None else round(recovered - back, 3),
        "leases_end": last["leases"],
        "text": _workload_text(reports, back, recovered, t0, end),
    }


def _workload_text(reports, back, recovered, t0, end) -> str:
    after = None if back is None else figures.goodput(reports, (max(back, end - 5.0), end))
    if recovered is None:
        return f"not recovered (goodput {after}/s at the end, leases {reports[-1]['leases'].get('active')} active)"
    return f"leases back at +{recovered - t0:.1f} s (+{recovered - back:.1f} s after DNS), goodput {after}/s"


def _amplification(samples: list[Record], outage: dict) -> dict[str, dict]:
    before = (outage["start"] - BASELINE_S, outage["start"])
    during = (outage["start"], outage["end"])
    found = {}
    for server in sorted({s["server"] for s in samples}):
        role = next(s.get("role") for s in samples if s["server"] == server)
        each = {counter: figures.amplification(figures.series(samples, server, counter), before, during)
                for counter in ("queries_in", "servfail_sent")}
        found[server] = {"role": role, **each}
    return found


def terminal_lines(part: dict[str, Any] | None) -> list[str]:
    """Plain lines for the terminal: per outage, DNS back / each model back / each workload, and the largest
    query amplifications."""
    if not part:
        return []
    lines = []
    for outage in part["outages"]:
        dns = "DNS never back" if outage["dns_back_s"] is None else f"DNS back at +{outage['dns_back_s']:.1f} s"
        lines.append(f"apps after {outage['label']} (+{outage['end_s']:.1f} s): {dns}")
        for model, r in outage["models"].items():
            app = "app not back" if r["app_back_s"] is None else \
                f"app back at +{r['app_back_s']:.1f} s (+{r['after_dns_s']:.1f} s)"
            lines.append(f"  {model:<15} {app}")
        for name, w in outage["workloads"].items():
            lines.append(f"  workload {name}: {w['text']}")
        amplified = sorted(((name, a["queries_in"]["factor"]) for name, a in outage["amplification"].items()
                            if a["queries_in"]["factor"] is not None), key=lambda x: -x[1])
        if amplified:
            lines.append("  queries in, during vs before: " + ", ".join(f"{n} ×{f:g}" for n, f in amplified[:6]))
    return lines
