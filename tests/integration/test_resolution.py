"""Every resolver resolves the service zone through the lab root and TLD, from client containers, and
nothing leaves the closed world."""

from __future__ import annotations

import pytest

from lab import lifecycle
from lab.agentrun import exec_json

RESOLVERS = ["unbound", "bind-resolver", "knot-resolver", "pdns-recursor"]


@pytest.mark.parametrize("client_node", ["client1", "client2"])
def test_every_resolver_answers_service_names(default_lab, rt, client_node):
    results = lifecycle.dig(default_lab["lab"], "dynamodb.us-east-1.cloud.test.", "A", client_node=client_node,
                            rt=rt)
    assert [r["resolver"] for r in results] == RESOLVERS
    for r in results:
        assert r["rcode"] == "NOERROR", r
        assert sorted(r["answers"]) == ["192.0.2.10", "192.0.2.11", "192.0.2.12"], r


def test_txt_records_resolve(default_lab, rt):
    for r in lifecycle.dig(default_lab["lab"], "api.cloud.test.", "TXT", rt=rt):
        assert (r["rcode"], r["answers"]) == ("NOERROR", ["service=api"]), r


def test_names_outside_the_lab_get_the_lab_roots_nxdomain(default_lab, rt):
    for r in lifecycle.dig(default_lab["lab"], "example.com.", "A", rt=rt):
        assert r["rcode"] == "NXDOMAIN", r
        # The denial comes from the lab's own root (its SOA names root.ns.), never from the real world.
        assert r.get("soa") == ".", r


def test_lab_networks_are_internal_and_nothing_is_published(default_lab, engine):
    nets = engine.networks.list(filters={"label": f"dnslab.lab={default_lab['lab']}"})
    assert sorted(n.attrs["Labels"]["dnslab.network"] for n in nets) == ["core", "edge"]
    assert all(n.attrs["Internal"] for n in nets)
    where = {"label": f"dnslab.lab={default_lab['lab']}"}
    for container in engine.containers.list(all=True, filters=where, ignore_removed=True):
        assert not container.attrs["HostConfig"]["PortBindings"], container.name
        assert not any(m.get("Source") == "/var/run/docker.sock" for m in container.attrs["Mounts"])


def test_clients_cannot_reach_authoritative_servers_directly(default_lab, rt):
    """Clients sit on the edge network: the hidden primary is out of their reach."""
    primary = default_lab["nodes"]["primary"]["addresses"]["core"]
    out = exec_json(rt, default_lab["nodes"]["client1"]["container"], "lab.agents.ask",
                            {"queries": [{"server": primary, "name": "cloud.test.", "type": "SOA"}], "timeout": 1})
    assert out[0]["rcode"] is None and out[0]["error"], out


def test_status_lists_every_node_running(default_lab, rt):
    rows = {r["name"]: r for r in lifecycle.status(default_lab["lab"], rt=rt)}
    assert len(rows) == 11
    assert all(r["state"] == "running" for r in rows.values()), rows
    assert all(r["answers"] == "yes" for r in rows.values() if r["role"] != "client"), rows
    assert rows["primary"]["role"] == "primary (hidden)"
    assert rows["sec-nsd"]["software"] == "nsd" and rows["sec-nsd"]["version"].startswith("4.")
    assert rows["unbound"]["version"].startswith("1.")
