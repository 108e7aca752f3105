"""Zone-data faults seen by a client: NODATA, a new TTL, broken delegations, a serial that went back; each
undone exactly (same values, same TTL, the rendered zone file byte for byte)."""

from __future__ import annotations

import pytest

from lab import nshelper, state, zoneupdate
from lab.faults import clear
from tests.integration.faultkit import (CLEAN, direct, fresh_name, inject_and_observe, leftovers, served,
                                        unused_name, via)


def flush_unbound(ctx) -> None:
    """Forget every cached delegation, so the resolver asks the parent again: over unbound's control port,
    from its kept helper (lab.agents.unboundctl, as the fault bench does)."""
    [said] = nshelper.call(ctx.rt, ctx.description, "unbound", "unboundctl", "run", {"commands": ["flush_zone ."]})
    assert said.startswith("ok"), said


def test_empty_rrset_gives_nodata_and_undo_restores_values_and_ttl(ctx):
    rt, description = ctx.rt, ctx.description
    name = fresh_name(rt, description, ttl=5)
    # The name keeps another record, so an empty A RRset is NODATA (a name left with nothing is NXDOMAIN).
    assert zoneupdate.send(rt, description, "cloud.test.", [["add", name, 5, "TXT", ["keep"]]])["rcode"] == "NOERROR"
    record, _ = inject_and_observe(ctx, "empty-rrset", "primary", {"name": name, "type": "A"},
                                   lambda: via(rt, description, "unbound", name),
                                   lambda r: r["rcode"] == "NOERROR" and r["answers"] == [])
    assert record["previous"] == [[name, "A", 5, ["192.0.2.77"]]]
    clear(ctx, record["id"])
    for server in ("sec-knot", "sec-nsd"):
        seen = direct(rt, description, server, name)
        assert (seen["answers"], seen["ttl"]) == (["192.0.2.77"], 5)
    assert via(rt, description, "bind-resolver", name)["answers"] == ["192.0.2.77"]


def test_ttl_change_is_seen_by_a_resolver_then_put_back(ctx):
    rt, description = ctx.rt, ctx.description
    name = fresh_name(rt, description, ttl=5)
    record, _ = inject_and_observe(ctx, "ttl", "primary", {"name": name, "type": "A", "ttl": 77},
                                   lambda: direct(rt, description, "sec-nsd", name), lambda r: r["ttl"] == 77)
    seen = via(rt, description, "knot-resolver", name)
    assert seen["answers"] == ["192.0.2.77"] and 70 <= seen["ttl"] <= 77
    clear(ctx, record["id"])
    assert direct(rt, description, "sec-knot", name)["ttl"] == 5


@pytest.mark.parametrize("kind", ["remove-glue", "lame-delegation"])
def test_broken_delegation_fails_resolution_until_undone(ctx, kind):
    rt, description = ctx.rt, ctx.description
    rendered = (state.node_dir(ctx.lab, "tld") / "zones" / "test.zone").read_bytes()
    assert served(rt, description, "tld", "zones/test.zone") == rendered

    def observe():
        flush_unbound(ctx)
        return via(rt, description, "unbound", unused_name())

    record, _ = inject_and_observe(ctx, kind, "tld", {"zone": "cloud.test."}, observe,
                                   lambda r: r["rcode"] in ("SERVFAIL", None))
    if kind == "lame-delegation":
        assert record["chosen"] == {"lame_server": "root", "lame_ns": "root.ns."}
    else:
        assert sorted(r[0] for r in record["previous"]) == ["sec-knot.ns.cloud.test.", "sec-nsd.ns.cloud.test."]
    clear(ctx, record["id"])
    flush_unbound(ctx)
    assert via(rt, description, "unbound", unused_name())["rcode"] == "NXDOMAIN"
    assert via(rt, description, "unbound", "api.cloud.test.")["answers"] == ["198.51.100.1"]
    assert served(rt, description, "tld", "zones/test.zone") == rendered  # byte for byte what was rendered


def soa_serial(result: dict) -> int:
    return int(result["answers"][0].split()[2])


def test_serial_regression_leaves_secondaries_stale_until_undone(ctx):
    rt, description = ctx.rt, ctx.description
    original = soa_serial(direct(rt, description, "sec-knot", "cloud.test.", "SOA"))
    record, _ = inject_and_observe(ctx, "serial-regression", "primary", {"zone": "cloud.test."},
                                   lambda: direct(rt, description, "primary", "cloud.test.", "SOA"),
                                   lambda r: r["answers"] and soa_serial(r) == record_serial(ctx))
    assert record["original_serial"] == original
    # A change made on the primary now never reaches the secondaries: their serial is "newer".
    name = unused_name()
    assert zoneupdate.send(rt, description, "cloud.test.", [["replace", name, 5, "A", ["192.0.2.88"]]])["rcode"] \
        == "NOERROR"
    assert direct(rt, description, "primary", name)["answers"] == ["192.0.2.88"]
    for server in ("sec-knot", "sec-nsd"):
        assert soa_serial(direct(rt, description, server, "cloud.test.", "SOA")) == original
        assert direct(rt, description, server, name)["rcode"] == "NXDOMAIN"
    assert via(rt, description, "unbound", name)["rcode"] == "NXDOMAIN"
    cleared = clear(ctx, record["id"])
    assert cleared["restored_serial"] == original + 1
    for server in ("sec-knot", "sec-nsd"):
        assert direct(rt, description, server, name)["answers"] == ["192.0.2.88"]
    assert via(rt, description, "pdns-recursor", name)["answers"] == ["192.0.2.88"]
    assert leftovers(ctx, ["primary", "sec-knot", "sec-nsd"]) == CLEAN


def record_serial(ctx) -> int | None:
    """The regressed serial of the serial-regression fault in force (read from the fault store)."""
    from lab.faults import active

    return next((r.get("regressed_serial") for r in active(ctx) if r["kind"] == "serial-regression"), None)
