"""Zone-data faults on zones served from files (compose/file-zones.yml: cloud.test. loaded by Knot and NSD
from their own copies): the inject call returns once the target server serves the change, the other server
keeps the rendered data, undo puts the rendered file back byte for byte, and the sweep restores a file a
fault left behind with no record of it. Also after the server's container restarted (the loop kept in it
is opened again)."""

from __future__ import annotations

import pytest

from lab import state
from lab.faults import clear, clear_all, inject, zonedata
from lab.faults.readiness import wait_answering
from tests.integration.faultkit import context, direct, served

ZONE_FILE = "zones/cloud.test.zone"


@pytest.fixture(scope="module")
def ctx(rt, file_zones_lab):
    context_ = context(rt, file_zones_lab)
    yield context_
    clear_all(context_)


def rendered(ctx, node: str) -> bytes:
    return (state.node_dir(ctx.lab, node) / ZONE_FILE).read_bytes()


@pytest.mark.parametrize("node", ["sec-nsd", "sec-knot"])
def test_ttl_on_a_file_zone_is_served_when_inject_returns_and_undone_byte_for_byte(ctx, node):
    rt, description = ctx.rt, ctx.description
    other = "sec-knot" if node == "sec-nsd" else "sec-nsd"
    record = inject(ctx, "ttl", node, {"name": "api.cloud.test.", "type": "A", "ttl": 77})
    assert record["previous"] == [["api.cloud.test.", "A", 5, ["198.51.100.1"]]]
    seen = direct(rt, description, node, "api.cloud.test.")  # no wait: the call returned once it was served
    assert (seen["answers"], seen["ttl"]) == (["198.51.100.1"], 77)
    assert direct(rt, description, other, "api.cloud.test.")["ttl"] == 5  # each server loads its own file
    assert served(rt, description, node, ZONE_FILE) != rendered(ctx, node)
    clear(ctx, record["id"])
    assert direct(rt, description, node, "api.cloud.test.")["ttl"] == 5
    assert served(rt, description, node, ZONE_FILE) == rendered(ctx, node)


def test_empty_rrset_then_the_sweep_restores_the_rendered_file_without_the_record(ctx):
    rt, description = ctx.rt, ctx.description
    record = inject(ctx, "empty-rrset", "sec-nsd", {"name": "api.cloud.test.", "type": "TXT"})
    seen = direct(rt, description, "sec-nsd", "api.cloud.test.", "TXT")
    assert (seen["rcode"], seen["answers"]) == ("NOERROR", [])
    # What `dnslab down`, a rollback or the next run after a SIGKILL do: no record needed.
    assert zonedata.restore_static_files(ctx) == ["sec-nsd:cloud.test."]
    assert served(rt, description, "sec-nsd", ZONE_FILE) == rendered(ctx, "sec-nsd")
    assert direct(rt, description, "sec-nsd", "api.cloud.test.", "TXT")["answers"] == ["service=api"]
    assert zonedata.restore_static_files(ctx) == []
    clear(ctx, record["id"])  # the undo finds the data back already: it writes the rendered file again
    assert served(rt, description, "sec-nsd", ZONE_FILE) == rendered(ctx, "sec-nsd")


def test_a_fault_after_the_server_restarted_reopens_the_loop_in_its_container(ctx):
    rt, description = ctx.rt, ctx.description
    rt.restart(ctx.container("sec-knot"))
    wait_answering(ctx, "sec-knot")
    record = inject(ctx, "empty-rrset", "sec-knot", {"name": "api.cloud.test.", "type": "A"})
    assert direct(rt, description, "sec-knot", "api.cloud.test.")["answers"] == []
    clear(ctx, record["id"])
    assert direct(rt, description, "sec-knot", "api.cloud.test.")["answers"] == ["198.51.100.1"]
    assert served(rt, description, "sec-knot", ZONE_FILE) == rendered(ctx, "sec-knot")
