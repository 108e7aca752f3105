"""RFC 2136: a TSIG-signed update on the hidden primary reaches both secondaries by NOTIFY/IXFR and the
clients through every resolver once the TTL runs out; an unsigned update is refused."""

from __future__ import annotations

import re
import time

from lab import lifecycle, zoneupdate
from lab.agentrun import exec_json

SECONDARIES = ["sec-knot", "sec-nsd"]


def ask_secondaries(rt, lab: dict, name: str, until: str | None = None, deadline: float = 0,
                    expect: list | None = None) -> list[dict]:
    """Ask each public secondary directly (from the primary's container, which shares their network)."""
    queries = [{"server": lab["nodes"][s]["addresses"]["core"], "name": name, "type": "A", "rd": False,
                "expect": expect or []} for s in SECONDARIES]
    return exec_json(rt, lab["nodes"]["primary"]["container"], "lab.agents.ask",
                             {"queries": queries, "until": until, "deadline": deadline, "timeout": 1})


def serials(rt, lab: dict) -> dict[str, int]:
    """The SOA serial of cloud.test. at the primary and at each secondary, asked directly."""
    servers = ["primary", *SECONDARIES]
    queries = [{"server": lab["nodes"][s]["addresses"]["core"], "name": "cloud.test.", "type": "SOA", "rd": False}
               for s in servers]
    answers = exec_json(rt, lab["nodes"]["primary"]["container"], "lab.agents.ask", {"queries": queries, "timeout": 1})
    return {s: int(a["answers"][0].split()[2]) if a["answers"] else -1 for s, a in zip(servers, answers)}


def caught_up(rt, lab: dict, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(set((seen := serials(rt, lab)).values())) != 1:
        assert time.monotonic() < deadline, f"the secondaries did not catch up with the primary: {seen}"
        time.sleep(0.2)


def test_signed_update_reaches_secondaries_and_every_resolver(default_lab, rt):
    name = "dynamodb.us-east-1.cloud.test."
    ttl = default_lab["zones"]["cloud.test."]["ttl"]
    # Warm every resolver's cache with the old answer first: the new one may only appear once it expires.
    before = lifecycle.dig(default_lab["lab"], name, rt=rt)
    assert all(r["answers"] for r in before), before

    result = zoneupdate.send(rt, default_lab, "cloud.test.",
                             [["replace", name, ttl, "A", ["192.0.2.77"]]])
    assert result["rcode"] == "NOERROR", result
    sent = time.monotonic()

    served = ask_secondaries(rt, default_lab, name, until="expect", deadline=10, expect=["192.0.2.77"])
    assert [r["answers"] for r in served] == [["192.0.2.77"], ["192.0.2.77"]], served
    assert all(r["aa"] for r in served)

    # Clients see it through every resolver within TTL + a margin (NOTIFY, IXFR and query time).
    seen: dict[str, float] = {}
    while time.monotonic() - sent < ttl + 10 and len(seen) < 4:
        for r in lifecycle.dig(default_lab["lab"], name, rt=rt):
            if r["answers"] == ["192.0.2.77"]:
                seen.setdefault(r["resolver"], time.monotonic() - sent)
        time.sleep(0.5)
    assert sorted(seen) == ["bind-resolver", "knot-resolver", "pdns-recursor", "unbound"], seen


def test_unsigned_update_is_refused(default_lab, rt):
    name = "intruder.cloud.test."
    result = zoneupdate.send(rt, default_lab, "cloud.test.", [["replace", name, 5, "A", ["192.0.2.66"]]],
                             signed=False)
    assert result["rcode"] == "REFUSED", result
    time.sleep(1)
    assert [r["rcode"] for r in ask_secondaries(rt, default_lab, name)] == ["NXDOMAIN", "NXDOMAIN"]


def test_compare_and_set_prerequisite_is_enforced_by_the_primary(default_lab, rt):
    """The building block of the guarded enactor: a write conditioned on a stale marker is refused."""
    name = "cas.cloud.test."
    ok = zoneupdate.send(rt, default_lab, "cloud.test.", [["replace", name, 5, "TXT", ["gen=2"]]])
    assert ok["rcode"] == "NOERROR"
    stale = zoneupdate.send(rt, default_lab, "cloud.test.", [["replace", name, 5, "TXT", ["gen=3"]]],
                            prereq=[["rrset_value", name, "TXT", ['"gen=1"']]])
    assert stale["rcode"] == "NXRRSET", stale
    fresh = zoneupdate.send(rt, default_lab, "cloud.test.", [["replace", name, 5, "TXT", ["gen=3"]]],
                            prereq=[["rrset_value", name, "TXT", ['"gen=2"']]])
    assert fresh["rcode"] == "NOERROR", fresh


def test_updates_reach_both_secondaries_incrementally(default_lab, rt):
    """Each secondary asks for an IXFR from its serial and gets only the change: the primary's transfer log
    names both secondaries' addresses with IXFR, one serial step and a handful of records (the zone holds
    many more); Knot's own log says it took an incoming IXFR. (NSD logs no transfer type of its own.)"""
    primary = default_lab["nodes"]["primary"]["container"]
    # Start from secondaries that hold the primary's serial: an earlier test's update still on its way would
    # arrive in the same transfer as this one (one IXFR over two serial steps), which says nothing about IXFR.
    caught_up(rt, default_lab)
    since = time.time() - 1
    name = f"ixfr-{int(time.time() * 1000) % 10**8}.cloud.test."
    result = zoneupdate.send(rt, default_lab, "cloud.test.", [["replace", name, 5, "A", ["192.0.2.55"]]])
    assert result["rcode"] == "NOERROR", result
    served = ask_secondaries(rt, default_lab, name, until="expect", deadline=10, expect=["192.0.2.55"])
    assert [r["answers"] for r in served] == [["192.0.2.55"]] * 2, served

    addresses = {s: default_lab["nodes"][s]["addresses"]["core"] for s in SECONDARIES}
    ended = re.compile(r"client @\S+ (?P<address>[\d.]+)#\d+ .*transfer of 'cloud\.test/IN': "
                       r"(?P<kind>[AI]XFR) ended: \d+ messages, (?P<records>\d+) records")
    started = re.compile(r"(?P<address>[\d.]+)#\d+ .*transfer of 'cloud\.test/IN': IXFR started "
                         r"\(serial (?P<old>\d+) -> (?P<new>\d+)\)")
    log = rt.logs(primary, stdout=True, stderr=True, since=since)
    transfers = {m["address"]: (m["kind"], int(m["records"])) for m in ended.finditer(log)}
    steps = {m["address"]: int(m["new"]) - int(m["old"]) for m in started.finditer(log)}
    zone = exec_json(rt, primary, "lab.agents.zonedump",
                     {"server": default_lab["nodes"]["primary"]["addresses"]["core"], "zone": "cloud.test."})
    zone_size = sum(len(rrset[3]) for rrset in zone)  # what a full transfer (AXFR) would carry
    for server, address in addresses.items():
        kind, records = transfers.get(address, (None, 0))
        assert kind == "IXFR" and steps.get(address) == 1, (server, log[-2000:])
        # one added A record: the new SOA, the old one, the new one again with the addition, the closing SOA
        assert records <= 6 < zone_size, (server, records, zone_size)
    knot = rt.logs(default_lab["nodes"]["sec-knot"]["container"], stdout=True, stderr=True, since=since)
    assert re.search(r"\[cloud\.test\.\] IXFR, incoming, remote [\d.]+@53, finished", knot), knot[-2000:]
