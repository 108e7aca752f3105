"""What each resolver told the clients during a run: rcodes, Extended DNS Errors (RFC 8914), the AD bit,
and how long it took to come back. Pure: a function of the probe and event records.

The DNSSEC playbooks read this per vendor: the same bogus zone is SERVFAIL everywhere, but which EDE code
comes with it (6 DNSSEC Bogus, 7 Signature Expired, 9 DNSKEY Missing, 0 Other, or none) and how long a
resolver keeps failing after the zone is good again differ from one implementation to the next.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lab import records
from lab.records import Record

# RFC 8914 section 4 (the codes the lab's resolvers are seen to send, and their neighbours).
EDE_NAMES = {0: "Other", 1: "Unsupported DNSKEY Algorithm", 2: "Unsupported DS Digest Type", 3: "Stale Answer",
             4: "Forged Answer", 5: "DNSSEC Indeterminate", 6: "DNSSEC Bogus", 7: "Signature Expired",
             8: "Signature Not Yet Valid", 9: "DNSKEY Missing", 10: "RRSIGs Missing", 11: "No Zone Key Bit Set",
             12: "NSEC Missing", 13: "Cached Error", 18: "Prohibited", 20: "Not Authoritative",
             22: "No Reachable Authority", 23: "Network Error"}


UNDO_SLACK = 2.0  # seconds an undo (re-publish and reload) takes before its fault_cleared event


def resolver_outcomes(probes: list[Record], events: list[Record], software: dict[str, str] | None = None,
                      t0: float | None = None) -> dict[str, dict[str, Any]]:
    """resolver -> {software, rcodes, ede, ad, wrong, wrong_answers, outage_s, recovered_s, after_clear_s}.

    `wrong`: answers no authoritative server held then (lab.truth), `wrong_answers`: what they said
    ("192.0.2.66", "NXDOMAIN", "NODATA"; stale ones as "stale: ...") -> count.
    `outage_s`: from its first not-ok probe to the first ok probe after its last not-ok one (None when it
    never failed, or never came back within the run: then `recovered_s` is None too). `after_clear_s`: from
    the last fault clear before it came back to that moment (None when it came back while a fault was
    still in force, or never failed). `ede`: "code name" -> count, over every probe that carried EDE.
    The counts (rcodes, ede, ad, wrong) are over every probe of the resolver, as probes.by_resolver counts
    them (docs/records.md); the times judge only probes and clears until the last step finished."""
    software = software or {}
    t0 = records.run_start(probes, events) if t0 is None else t0
    # The steps are the scenario; what the run's final rollback does to caches is not (undoing a KSK
    # rollover is a rollover of its own): probes and clears after the last step finished are left out.
    clears = sorted(w["end"] for w in records.fault_windows(events) if w["end"] is not None)
    finished = [e["t"] for e in events if e.get("event") == "step_finished"]
    end = max(finished) if finished else float("inf")
    clears = [c for c in clears if c <= end]
    by_resolver: dict[str, list[Record]] = {}
    for probe in sorted(probes, key=lambda p: p["t"]):
        by_resolver.setdefault(str(probe.get("resolver")), []).append(probe)
    result = {}
    for resolver, every in sorted(by_resolver.items()):
        group = [p for p in every if p["t"] <= end]
        bad = [p for p in group if records.outcome(p) != "ok"]
        recovered = None
        if bad:
            recovered = next((p["t"] for p in group if p["t"] > bad[-1]["t"] and records.outcome(p) == "ok"), None)
        # A clear's event is written once its undo is done: a resolver may come back a moment before it.
        before = [c for c in clears if recovered is not None and c <= recovered + UNDO_SLACK]
        result[resolver] = {
            "software": software.get(resolver),
            "total": len(every),
            "rcodes": dict(Counter(p.get("rcode") or p.get("error") or "none" for p in every).most_common()),
            "ede": dict(Counter(f"{code} {EDE_NAMES.get(code, 'unknown')}"
                                for p in every for code in (p.get("ede") or [])).most_common()),
            "ad": sum(1 for p in every if p.get("ad")),
            "wrong": sum(1 for p in every if records.is_wrong(p)),
            "wrong_answers": dict(Counter(_said(p) for p in every if records.is_wrong(p)).most_common()),
            "first_failure_s": _since(bad[0]["t"], t0) if bad else None,
            "recovered_s": _since(recovered, t0),
            "outage_s": round(recovered - bad[0]["t"], 3) if bad and recovered is not None else None,
            "after_clear_s": max(0.0, round(recovered - before[-1], 3)) if before and before[-1] > bad[0]["t"]
            else None,
        }
    return result


def _said(probe: Record) -> str:
    """A wrong answer in a few words: its addresses (or NXDOMAIN, NODATA), and whether it was stale."""
    said = " ".join(sorted(probe.get("answers") or [])) or ("NODATA" if probe.get("rcode") == "NOERROR"
                                                            else str(probe.get("rcode")))
    return f"stale: {said}" if probe.get("truth") == "stale" else said


def _since(t: float | None, t0: float | None) -> float | None:
    return None if t is None or t0 is None else round(t - t0, 3)
