"""What each resolver told the clients during a run: rcodes, Extended DNS Errors (RFC 8914), the AD bit,
and how long it took to come back. Pure: a function of the probe and event records.

The DNSSEC playbooks read this per vendor: the same bogus zone is SERVFAIL everywhere, but which EDE code
comes with it (6 DNSSEC Bogus, 7 Signature Expired, 9 DNSKEY Missing, 0 Other, or none) and how long a
resolver keeps failing after the zone is good again differ from one implementation to the next.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
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


def resolver_outcomes(probes: Iterable[Record], events: list[Record], software: dict[str, str] | None = None,
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
    t0 = records.run_start(probes, events) if t0 is None else t0
    outcomes = ResolverOutcomes(events, software, t0)
    for probe in sorted(probes, key=lambda p: p["t"]):
        outcomes.feed(probe)
    return outcomes.result()


class ResolverOutcomes:
    """resolver_outcomes() one probe at a time (in time order): `feed` each, then `result`."""

    def __init__(self, events: list[Record], software: dict[str, str] | None, t0: float | None):
        self.software, self.t0 = software or {}, t0
        # The steps are the scenario; what the run's final rollback does to caches is not (undoing a KSK
        # rollover is a rollover of its own): probes and clears after the last step finished are left out.
        clears = sorted(w["end"] for w in records.fault_windows(events) if w["end"] is not None)
        finished = [e["t"] for e in events if e.get("event") == "step_finished"]
        self.end = max(finished) if finished else float("inf")
        self.clears = [c for c in clears if c <= self.end]
        self.by_resolver: dict[str, _Resolver] = {}

    def feed(self, probe: Record) -> None:
        resolver = self.by_resolver.setdefault(str(probe.get("resolver")), _Resolver())
        resolver.add(probe, probe["t"] <= self.end)

    def result(self) -> dict[str, dict[str, Any]]:
        result = {}
        for name, resolver in sorted(self.by_resolver.items()):
            first_bad, recovered = resolver.first_bad, resolver.recovered
            # A clear's event is written once its undo is done: a resolver may come back a moment before it.
            before = [c for c in self.clears if recovered is not None and c <= recovered + UNDO_SLACK]
            result[name] = {
                "software": self.software.get(name),
                "total": resolver.total,
                "rcodes": dict(resolver.rcodes.most_common()),
                "ede": dict(resolver.ede.most_common()),
                "ad": resolver.ad,
                "wrong": resolver.wrong,
                "wrong_answers": dict(resolver.wrong_answers.most_common()),
                "first_failure_s": _since(first_bad, self.t0),
                "recovered_s": _since(recovered, self.t0),
                "outage_s": round(recovered - first_bad, 3) if first_bad is not None and recovered is not None
                else None,
                "after_clear_s": max(0.0, round(recovered - before[-1], 3)) if before and before[-1] > first_bad
                else None,
            }
        return result


class _Resolver:
    """One resolver's counts, and its first failure and the first ok answer after its last one (so far)."""

    def __init__(self) -> None:
        self.total = self.ad = self.wrong = 0
        self.rcodes: Counter[str] = Counter()
        self.ede: Counter[str] = Counter()
        self.wrong_answers: Counter[str] = Counter()
        self.first_bad: float | None = None
        self.last_bad: float | None = None
        self.recovered: float | None = None  # the first ok probe after the latest bad one

    def add(self, probe: Record, judged: bool) -> None:
        """`judged`: the probe counts for the times too (it came before the last step finished)."""
        self.total += 1
        self.rcodes[probe.get("rcode") or probe.get("error") or "none"] += 1
        for code in probe.get("ede") or []:
            self.ede[f"{code} {EDE_NAMES.get(code, 'unknown')}"] += 1
        self.ad += bool(probe.get("ad"))
        if records.is_wrong(probe):
            self.wrong += 1
            self.wrong_answers[_said(probe)] += 1
        if not judged:
            return
        if records.outcome(probe) != "ok":
            self.first_bad = probe["t"] if self.first_bad is None else self.first_bad
            self.last_bad, self.recovered = probe["t"], None
        elif self.last_bad is not None and self.recovered is None and probe["t"] > self.last_bad:
            self.recovered = probe["t"]


def _said(probe: Record) -> str:
    """A wrong answer in a few words: its addresses (or NXDOMAIN, NODATA), and whether it was stale."""
    said = " ".join(sorted(probe.get("answers") or [])) or ("NODATA" if probe.get("rcode") == "NOERROR"
                                                            else str(probe.get("rcode")))
    return f"stale: {said}" if probe.get("truth") == "stale" else said


def _since(t: float | None, t0: float | None) -> float | None:
    return None if t is None or t0 is None else round(t - t0, 3)
