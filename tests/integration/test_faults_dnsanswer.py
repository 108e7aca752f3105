"""DNS-answer faults (dnsdist in front of a server) seen by a client, each undone without a trace."""

from __future__ import annotations

import pytest

from lab.faults import clear, inject
from tests.integration.faultkit import (CLEAN, direct, fresh_name, inject_and_observe, leftovers,
                                        unused_name, via)

SECONDARIES = ("sec-knot", "sec-nsd")


def on_both_secondaries(ctx, kind, params, observe, predicate):
    """Inject on both secondaries (the second one timed until a client sees it); returns (records, seen)."""
    first = inject(ctx, kind, SECONDARIES[0], params)
    try:
        second, seen = inject_and_observe(ctx, kind, SECONDARIES[1], params, observe, predicate)
    except BaseException:
        clear(ctx, first["id"])
        raise
    return [first, second], seen


def clear_and_check(ctx, records, name="api.cloud.test.", answers=("198.51.100.1",)):
    for record in records:
        clear(ctx, record["id"])
    for server in SECONDARIES:
        assert direct(ctx.rt, ctx.description, server, name)["answers"] == list(answers)
    assert leftovers(ctx, list(SECONDARIES)) == CLEAN


@pytest.mark.parametrize("kind,rcode,resolvers", [
    ("servfail", "SERVFAIL", ("bind-resolver", "knot-resolver", "pdns-recursor")),
    ("refused", "SERVFAIL", ()),
    ("nxdomain", "NXDOMAIN", ("pdns-recursor",)),
])
def test_rcode_faults_reach_clients_through_resolvers(ctx, kind, rcode, resolvers):
    rt, description = ctx.rt, ctx.description
    # Names made before the fault: while it lasts the secondaries cannot even confirm a transfer.
    name, *others = [fresh_name(rt, description) for _ in range(4)]
    records, _ = on_both_secondaries(ctx, kind, {}, lambda: via(rt, description, "unbound", name),
                                     lambda r: r["rcode"] == rcode)
    try:
        for resolver, other in zip(resolvers, others):
            seen = via(rt, description, resolver, other)
            assert seen["rcode"] in (rcode, None), (resolver, seen)
            assert seen["answers"] == []
    finally:
        clear_and_check(ctx, records)
    assert via(rt, description, "unbound", fresh_name(rt, description))["answers"] == ["192.0.2.77"]


def test_nodata_empties_an_existing_name(ctx):
    rt, description = ctx.rt, ctx.description
    name = fresh_name(rt, description)
    records, seen = on_both_secondaries(ctx, "nodata", {}, lambda: via(rt, description, "unbound", name),
                                        lambda r: r["rcode"] == "NOERROR" and r["answers"] == [])
    clear_and_check(ctx, records)


def test_spoof_answers_the_made_up_address_only_for_the_names_given(ctx):
    rt, description = ctx.rt, ctx.description
    name, other = fresh_name(rt, description), fresh_name(rt, description)
    params = {"address": "192.0.2.66", "names": [name]}
    records, _ = on_both_secondaries(ctx, "spoof", params, lambda: via(rt, description, "unbound", name),
                                     lambda r: r["answers"] == ["192.0.2.66"])
    try:
        assert via(rt, description, "unbound", other)["answers"] == ["192.0.2.77"]
    finally:
        clear_and_check(ctx, records)


def test_truncate_sends_clients_to_tcp_which_still_answers(ctx):
    rt, description = ctx.rt, ctx.description
    name = fresh_name(rt, description)
    record, seen = inject_and_observe(ctx, "truncate", "sec-knot", {},
                                      lambda: direct(rt, description, "sec-knot", "api.cloud.test."),
                                      lambda r: r.get("tc") is True)
    try:
        assert seen["answers"] == []
        assert direct(rt, description, "sec-knot", "api.cloud.test.", tcp=True)["answers"] == ["198.51.100.1"]
        second = inject(ctx, "truncate", "sec-nsd", {})
        records = [record, second]
        # Resolvers retry over TCP: a fresh name still resolves.
        assert via(rt, description, "unbound", name)["answers"] == ["192.0.2.77"]
    finally:
        clear_and_check(ctx, [r for r in (record, locals().get("second")) if r])


def test_drop_and_delay(ctx):
    rt, description = ctx.rt, ctx.description
    record, _ = inject_and_observe(ctx, "drop", "sec-knot", {},
                                   lambda: direct(rt, description, "sec-knot", "api.cloud.test."),
                                   lambda r: r["error"] == "timeout")
    clear(ctx, record["id"])
    record, seen = inject_and_observe(ctx, "delay", "sec-knot", {"ms": 800},
                                      lambda: direct(rt, description, "sec-knot", "api.cloud.test."),
                                      lambda r: r["latency_ms"] is not None and r["latency_ms"] >= 800)
    assert seen["answers"] == ["198.51.100.1"]
    clear_and_check(ctx, [record])


def test_two_faults_on_one_server_share_one_dnsdist_and_leave_nothing(ctx):
    rt, description = ctx.rt, ctx.description
    a = inject(ctx, "servfail", "sec-knot", {"names": ["api.cloud.test."]})
    b = inject(ctx, "nxdomain", "sec-knot", {"names": ["dynamodb.us-east-1.cloud.test."]})
    try:
        assert direct(rt, description, "sec-knot", "api.cloud.test.")["rcode"] == "SERVFAIL"
        clear(ctx, a["id"])
        assert direct(rt, description, "sec-knot", "api.cloud.test.")["answers"] == ["198.51.100.1"]
        assert direct(rt, description, "sec-knot", "dynamodb.us-east-1.cloud.test.")["rcode"] == "NXDOMAIN"
        left = leftovers(ctx, ["sec-knot"])  # one dnsdist, now with b's rules only
        assert left["sidecars"] == [] and left["dnsdist_rules"]["sec-knot"]
        assert all(b["id"] in line for line in left["dnsdist_rules"]["sec-knot"]), left
    finally:
        clear(ctx, b["id"]) if b else None
    assert direct(rt, description, "sec-knot", unused_name())["rcode"] == "NXDOMAIN"
    assert leftovers(ctx, ["sec-knot"]) == CLEAN
