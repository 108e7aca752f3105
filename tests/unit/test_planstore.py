"""The plan store over HTTP (lab.agents.planstore): the same operations as the store on a shared volume,
served by a real server on loopback; and which backend an agent of a topology is given (lab.nodespec)."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

import pytest

from lab import nodespec
from lab.agents import plans, planstore
from lab.topology import load as topology_load
from tests.unit.test_pipeline_strategy import REGIONS


@pytest.fixture
def served(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), planstore.handler(plans.PlanStore(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield planstore.HttpPlanStore(f"http://127.0.0.1:{server.server_address[1]}", patience=1), tmp_path
    server.shutdown()
    server.server_close()


def test_the_http_store_does_what_the_volume_does(served):
    store, root = served
    assert store.newest() is None and store.counter() == -1 and store.settings() == {}
    for generation in (3, 1, 12):
        store.write(plans.make_plan(generation, 0, REGIONS))
    assert store.generations() == [1, 3, 12] and store.newest() == 12
    assert store.read(3)["generation"] == 3 and store.exists(3)
    assert store.delete(3) and not store.delete(3) and store.read(3) is None and not store.exists(3)
    store.set_counter(12)
    store.write_json("settings.json", {"strategy": "guarded"})
    store.write_status("enactor-a", {"state": "idle"})
    assert store.counter() == 12 and store.settings() == {"strategy": "guarded"}
    assert store.statuses()["enactor-a"]["state"] == "idle"
    # The same files as the volume store would write: one backend can read what the other wrote.
    local = plans.PlanStore(root)
    assert local.generations() == [1, 12] and local.statuses()["enactor-a"]["state"] == "idle"
    store.clear_plans()
    assert local.generations() == []


def test_the_server_refuses_names_outside_the_store(served):
    store, root = served
    for name in ("../escape.json", "/etc/passwd", ".hidden.tmp", "status/../../x"):
        with pytest.raises(ValueError):
            store.write_json(name, {})
    assert not (root.parent / "escape.json").exists()


def test_an_unreachable_store_raises_after_its_patience():
    store = planstore.HttpPlanStore("http://127.0.0.1:9", patience=0.3, timeout=0.2)
    with pytest.raises(planstore.StoreUnreachable, match="did not answer"):
        store.generations()


def test_agents_get_the_http_store_only_when_spread_over_hosts(tmp_path):
    topology = topology_load.load(nodespec.PACKAGE_DIR.parent / "compose" / "az3.yml")
    one = {name: "az-a" for name in topology.nodes}
    spread = topology.placement.assign(topology.nodes.values(), ["az-a", "az-b", "az-c"])
    enactor = topology.nodes["enactor-a"]
    assert nodespec.plan_store_url(topology, enactor, one) is None
    assert nodespec.plan_store_url(topology, enactor, None) is None
    store = nodespec.plan_store_node(topology)
    assert nodespec.plan_store_url(topology, enactor, spread) == f"http://{store.addresses['core']}:{planstore.PORT}"
    assert nodespec.plan_store_url(topology, store, spread) is None  # the server keeps its own directory
    specs = {s.node: s for s in nodespec.container_specs("t", topology, "img", {}, spread)}
    assert "DNSLAB_PLANS_URL" in specs["enactor-b"].environment and "DNSLAB_PLANS_URL" in specs["planner"].environment
    assert "DNSLAB_PLANS_URL" not in specs["planstore"].environment
