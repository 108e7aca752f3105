"""Topologies with what applications see: service, app and workload nodes, their settings checked with
file:line, the JSON their agents get, and endpoint addresses that move with the lab's slot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.errors import TopologyError
from lab.topology import appnodes, load

REPO = Path(__file__).resolve().parents[2]


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "topo.yml"
    path.write_text(f"extends: {REPO / 'compose' / 'cascade.yml'}\n" + text)
    with pytest.raises(TopologyError) as info:
        load.load(path)
    return [str(p) for p in info.value.problems]


def test_the_cascade_topology_has_a_service_at_every_address_the_plans_hand_out():
    t = load.load(REPO / "compose" / "cascade.yml")
    served = {str(a) for n in t.by_role("service") for a in n.addresses.values()}
    assert set(t.pipeline.regions["us-east-1"].addresses) <= served
    assert {n.software for n in t.by_role("app")} == {"glibc", "nscd", "dnsmasq", "jvm", "stale-on-error"}
    spec = appnodes.agent_spec(t, t.nodes["app-jvm"])
    assert spec["model"] == "jvm" and spec["resolv_conf"]["nameservers"] == ["10.53.1.21"]
    json.dumps(spec)  # the agent's argument


def test_endpoint_addresses_in_a_lab_network_move_with_the_slot_and_others_stay():
    t = load.load(REPO / "compose" / "cascade.yml").at_slot(2)
    assert t.pipeline.regions["us-east-1"].addresses == ("192.0.34.10", "192.0.34.11", "192.0.34.12")
    records = {(r.name, r.type): r.rdatas for r in t.zones["cloud.test."].records}
    assert records[("dynamodb.us-east-1.cloud.test.", "A")] == ("192.0.34.10", "192.0.34.11", "192.0.34.12")
    assert records[("api.cloud.test.", "A")] == ("198.51.100.1",)  # not in any network: data only
    assert str(t.nodes["dynamodb-1"].address) == "192.0.34.10"


def test_bad_settings_are_reported_at_their_line(tmp_path):
    problems = _problems(tmp_path, """\
nodes:
  app-jvm: {settings: {retry: {policy: storm}, cache: {positive: 30, negatve: 1}}}
  app-glibc: {settings: {resolvers: [unbond], nscd: {positive: 3}}}
  dwfm: {settings: {throttle: {max_concurrent: 0}, ttl: 0.5, colour: red}}
  dynamodb-1: {settings: {jitter: 2}}
  client1: {settings: {rate: 1}}
""")
    text = "\n".join(problems)
    assert "topo.yml:3:" in text and "retry: unknown retry policy 'storm'" in text
    assert "cache: unknown key 'negatve' (did you mean \"negative\"?)" in text
    assert "topo.yml:4:" in text and "'unbond' is not a resolver node (did you mean \"unbound\"?)" in text
    assert "nscd: only a nscd app takes it (this one's model is glibc)" in text
    assert "throttle: max_concurrent must be at least 1" in text and "unknown parameter 'colour'" in text
    assert "0 < renew_every < ttl" in text and "jitter must be at least 0 and below 1" in text
    assert "only service, app, workload nodes take settings" in text


def test_an_app_needs_a_service_and_a_resolver_it_can_reach(tmp_path):
    problems = _problems(tmp_path, """\
nodes:
  app-lost: {role: app, networks: {core: 10.53.0.77}, settings: {name: a.test.}}
""")
    assert any("app-lost" in p and "no network with any service node" in p for p in problems), problems
    assert not any("app-lost" in p and "any resolver" in p for p in problems)  # core has the resolvers
