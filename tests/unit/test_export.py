"""`dnslab export compose`: the compose document mirrors the lab (no Docker needed to build it)."""

from __future__ import annotations

from lab import composeproject, lifecycle, nodespec
from lab.topology import load


def test_compose_document_mirrors_the_lab(tmp_path, monkeypatch):
    monkeypatch.setenv("DNSLAB_HOME", str(tmp_path))
    topology = load.load(load.DEFAULT_TOPOLOGY).at_slot(1)
    description = lifecycle.describe("demo", topology, "dnslab:abc", load.DEFAULT_TOPOLOGY)
    doc = composeproject.compose_document(description)
    assert set(doc["services"]) == set(topology.nodes)
    unbound = doc["services"]["unbound"]
    assert unbound["networks"] == {"dnslab-demo-core": {"ipv4_address": "10.53.16.21"},
                                   "dnslab-demo-edge": {"ipv4_address": "10.53.17.21"}}
    assert unbound["labels"]["dnslab.lab"] == "demo"  # `dnslab down` finds compose-made containers too
    assert "./nodes/unbound:/lab/node:rw" in unbound["volumes"]
    core = doc["networks"]["dnslab-demo-core"]
    assert core["internal"] is True and core["ipam"]["config"] == [{"subnet": "10.53.16.0/24"}]
    assert not any("ports" in s for s in doc["services"].values())


def test_the_plan_store_volume_is_exported(tmp_path, monkeypatch):
    monkeypatch.setenv("DNSLAB_HOME", str(tmp_path))
    path = load.DEFAULT_TOPOLOGY.parent / "enactors.yml"
    description = lifecycle.describe("demo", load.load(path), "dnslab:abc", path)
    doc = composeproject.compose_document(description)
    volume = nodespec.plan_volume("demo")
    assert doc["volumes"] == {volume: {"name": volume, "labels": {"dnslab.lab": "demo"}}}
    assert any(v.startswith(f"{volume}:") for v in doc["services"]["planner"]["volumes"])
