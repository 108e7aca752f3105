"""The verdict in one line a person can act on: what happened and what to try.

    FAIL — reproduced AWS us-east-1 (DynamoDB) 2025: NODATA through all 4 resolvers +33.8…+63.8 s; the fix:
    --set enactor.strategy=guarded
    PASS — 44 stale writes refused

Pure: a function of the report dict and the playbook's `library:` header (lab.report.html.incident_of).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from lab.records import Record

# What a mitigation's safeguard did, from its events (docs/records.md): event -> how to say a count of them.
SAFEGUARDS = {
    "rollout_halted": "rollout halted at the canary",
    "change_refused": "change refused by the pre-flight check",
    "capacity_guard": "removal refused by the capacity guard",
}


def headline(report: Mapping[str, Any], incident: Mapping[str, Any] | None = None,
             events: list[Record] | None = None) -> str:
    """`VERDICT — what happened[; what to try]`."""
    verdict = str(report["verdict"]).upper()
    failed = [c for c in report.get("checks") or [] if not c["ok"]]
    if report["verdict"] == "interrupted":
        return f"{verdict} — stopped early; the checks judged what was recorded until then (partial)"
    if report["verdict"] == "pass":
        acted = safeguard_acted(events or [])
        if acted:
            return f"{verdict} — {acted}"
        held = len(report.get("checks") or [])
        return f"{verdict} — every check held ({held})" + (
            f"; the mitigation: {incident['mitigation']}" if incident and incident.get("mitigated_now") else "")
    symptom = symptom_of(report, failed)
    if incident and not incident.get("mitigated_now"):
        fix = " ".join(f"--set {option}" for option in incident.get("mitigated") or [])
        return (f"{verdict} — reproduced {incident['incident']} {str(incident['date'])[:4]}: {symptom}"
                + (f"; the fix: {fix}" if fix else ""))
    return f"{verdict} — {symptom}" + ("; even with the mitigation in effect" if incident else "")


def reproduced(report: Mapping[str, Any], incident: Mapping[str, Any] | None) -> bool:
    """A library playbook run as written that failed: it showed its incident's symptom, as it should."""
    return bool(incident) and not incident.get("mitigated_now") and report["verdict"] == "fail"


def safeguard_acted(events: list[Record]) -> str:
    """`44 stale writes refused` — what the safeguards did, from their events; '' when none acted."""
    said = []
    refused = Counter(str(e.get("reason") or "other") for e in events if e.get("event") == "refused")
    said += [f"{count} {reason} write{'s' if count != 1 else ''} refused" for reason, count in refused.most_common()]
    for event, text in SAFEGUARDS.items():
        count = sum(1 for e in events if e.get("event") == event)
        if count:
            said.append(text if count == 1 else f"{text} ×{count}")
    return ", ".join(said)


def symptom_of(report: Mapping[str, Any], failed: list[Mapping[str, Any]]) -> str:
    """The first failed check in a few words: for empty answers the rcode, where and when; else its name
    and the first clause of its detail."""
    if not failed:
        return "no check failed"
    first = failed[0]
    data = first.get("data") or {}
    if first.get("check") == "never_empty" and data.get("by_resolver"):
        return _empty(data["by_resolver"], len(report.get("resolvers") or {}))
    detail = str(first.get("detail") or "")
    clause = detail.split(" — ")[0].split("; ")[0]
    return f"{first['name']}: {clause if len(clause) <= 100 else clause[:99] + '…'}"


def _empty(by_resolver: Mapping[str, Mapping[str, Any]], resolvers: int) -> str:
    nodata = sum(f.get("nodata", 0) for f in by_resolver.values())
    nxdomain = sum(f.get("nxdomain", 0) for f in by_resolver.values())
    kind = "NODATA" if nodata and not nxdomain else "NXDOMAIN" if nxdomain and not nodata else "NODATA/NXDOMAIN"
    where = (f"all {len(by_resolver)} resolvers" if len(by_resolver) == resolvers > 1
             else ", ".join(sorted(by_resolver)))
    first = min(f["first_s"] for f in by_resolver.values())
    last = max(f["last_s"] for f in by_resolver.values())
    when = f"at +{first:.1f} s" if first == last else f"+{first:.1f}…+{last:.1f} s"
    return f"{kind} through {where} {when}"
