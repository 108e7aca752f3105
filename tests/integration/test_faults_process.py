"""Process faults seen by a client: frozen, killed, stopped and restarted servers, and a clean undo."""

from __future__ import annotations

import pytest

from lab.faults import active, clear, inject
from tests.integration.faultkit import CLEAN, inject_and_observe, leftovers, unused_name, via

FAILED = ("SERVFAIL", None)  # None: the client timed out


@pytest.mark.parametrize("kind", ["pause", "kill"])
def test_both_secondaries_down_fail_uncached_names_then_recover(ctx, kind):
    rt, description = ctx.rt, ctx.description
    records = []
    try:
        records.append(inject(ctx, kind, "sec-knot", {}))
        record, seen = inject_and_observe(
            ctx, kind, "sec-nsd", {}, lambda: via(rt, description, "unbound", unused_name()),
            lambda r: r["rcode"] in FAILED)
        records.append(record)
        assert seen["rcode"] in FAILED
    finally:
        for record in records:
            clear(ctx, record["id"])
    # Cleared means serving again: the answer comes back without waiting for anything.
    assert via(rt, description, "unbound", unused_name())["rcode"] == "NXDOMAIN"
    assert via(rt, description, "unbound", "api.cloud.test.")["answers"] == ["198.51.100.1"]
    assert leftovers(ctx, ["sec-knot", "sec-nsd"]) == CLEAN


def test_stopped_resolver_times_out_and_answers_after_clear(ctx):
    rt, description = ctx.rt, ctx.description
    record, seen = inject_and_observe(ctx, "stop", "unbound", {},
                                      lambda: via(rt, description, "unbound", "api.cloud.test.", timeout=1),
                                      lambda r: r["error"] == "timeout")
    assert via(rt, description, "bind-resolver", "api.cloud.test.")["answers"] == ["198.51.100.1"]
    clear(ctx, record["id"])
    assert via(rt, description, "unbound", "api.cloud.test.")["answers"] == ["198.51.100.1"]
    assert leftovers(ctx, ["unbound"]) == CLEAN


def test_restart_returns_when_the_node_answers_again(ctx, engine):
    rt, description = ctx.rt, ctx.description
    resolvers = [n for n, v in description["nodes"].items() if v["role"] == "resolver"]

    def started_at() -> dict[str, str]:
        return {n: engine.containers.get(description["nodes"][n]["container"]).attrs["State"]["StartedAt"]
                for n in resolvers}

    before = started_at()
    record = inject(ctx, "restart", "random:role:resolver", {})
    node = record["chosen"]["node"]
    assert record["nodes"] == [node] and node in record["ready_s"]
    assert via(rt, description, node, "api.cloud.test.")["answers"] == ["198.51.100.1"]
    clear(ctx, record["id"])  # nothing to undo, but it leaves the active list
    assert active(ctx) == []
    # Whichever resolver the seed picked was restarted (a new start time), and only that one.
    after = started_at()
    assert {n for n in resolvers if after[n] != before[n]} == {node}
