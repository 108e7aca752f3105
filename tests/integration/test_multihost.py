"""compose/az3.yml across three Docker engines joined as a Swarm (scripts/swarm-sim): one enactor, one client
and some of the servers in each availability zone, the plan store served over HTTP. Signed updates cross the
hosts; a fault of each node family works on a node of another engine (its helper runs on the target's host);
the zone faults act on every node of one host and undo themselves; and the enactor race with enactor-a's
whole zone frozen fails as written and holds with the guarded enactor. One simulator and one lab serve the
module; `down` at the end must leave nothing labelled on any engine."""

from __future__ import annotations

import json
import os
import time

import docker
import pytest

from lab import lifecycle, nshelper, runtime, state, zoneupdate
from lab.agentrun import exec_json
from lab.faults import FaultContext, clear, inject, zone
from tests.integration.conftest import lab_name
from tests.integration.faultkit import until
from tests.support.cli import REPO, dnslab, run_playbook
from tests.support.swarm import swarm_sim  # noqa: F401,F811 - the module's fixture

AZ3 = REPO / "compose" / "az3.yml"
RACE = REPO / "playbooks" / "aws-2025-dynamodb-enactor-race-az.yml"
ZONE_CLIENT = {"az-a": "client1", "az-b": "client2", "az-c": "client3"}
ZONE_RESOLVER = {"az-a": "unbound", "az-b": "bind-resolver", "az-c": "knot-resolver"}  # one per zone
NAME = "api.cloud.test."


@pytest.fixture(scope="module")
def az3(swarm_sim, lab_image):
    """The az3 lab on the simulator's three engines; (description, runtime, hosts file)."""
    lab = lab_name("az3")
    hosts = str(swarm_sim.hosts_file)
    try:
        up = dnslab("up", "-t", str(AZ3), "--name", lab, "--hosts", hosts, timeout=300)
        assert up.returncode == 0, up.stderr[-2000:]
        yield state.load_description(lab), runtime.connect(hosts), hosts
    finally:
        # A partition still in force at `down` (as a killed run leaves it; `fault add` returns with it in
        # force): its table lives in the engine's own namespace, which `down` must not leave cut off.
        left_cut = dnslab("fault", "add", "host-partition", "az-b", "--name", lab, "--hosts", hosts, timeout=60)
        down = dnslab("down", "--name", lab, "--hosts", hosts, timeout=180)
        left = {host: len(docker.DockerClient(base_url=url, timeout=60).containers.list(
                    all=True, filters={"label": f"dnslab.lab={lab}"})) for host, url in swarm_sim.sockets.items()}
        tables = {host: runtime.connect(hosts).run_host_helper(host, lab_image, "nft list tables", {}).output
                  for host in swarm_sim.sockets}
    assert left_cut.returncode == 0, left_cut.stderr
    assert down.returncode == 0, down.stderr
    assert left == {host: 0 for host in swarm_sim.sockets}, left
    assert not [host for host, listed in tables.items() if "dnslab" in listed], tables


def ask(rt, description, client: str, resolver: str, name: str = NAME, timeout: float = 2.0) -> dict:
    server = lifecycle.resolver_address(description, resolver, client)
    [result] = exec_json(rt, description["nodes"][client]["container"], "lab.agents.ask",
                         {"queries": [{"server": server, "name": name, "type": "A"}], "timeout": timeout},
                         timeout=timeout + 20)
    return result


def outcome(result: dict) -> str:
    return result["rcode"] or result["error"] or "?"


def states_on(rt, description, host: str) -> dict[str, str]:
    return {c.node: c.state for c in rt.containers(description["lab"]) if c.node in zone.on_host(description, host)}


def test_the_az_race_empties_the_endpoint_as_written_and_holds_guarded(swarm_sim, tmp_path):
    """First in the module, before the az3 lab is up: each run brings up its own lab (the playbook's settings
    make another topology) and takes it down, and the race runs on a machine no busier than it must be."""
    hosts = str(swarm_sim.hosts_file)
    done, report, events = run_playbook(RACE, lab_name("race-n"), tmp_path / "naive", "--hosts", hosts, "--no-keep")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    checks = {c["name"]: c for c in report["checks"]}
    assert not checks["the DynamoDB endpoints never go empty"]["ok"]
    assert report["probes"]["empty_answers"] > 0
    frozen = [e for e in events if e["event"] == "fault_injected"]
    assert [(e["kind"], e["target"]) for e in frozen] == [("host-freeze", "az-a")], frozen
    assert "cleanup_deleted" in {e["event"] for e in events}

    done, report, events = run_playbook(RACE, lab_name("race-g"), tmp_path / "guarded", "--hosts", hosts, "--no-keep",
                                        "--set", "enactor.strategy=guarded")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert report["probes"]["empty_answers"] == 0
    refused = [e for e in events if e["event"] == "refused"]
    assert {e["source"] for e in refused} >= {"enactor-a"} and {e["reason"] for e in refused} >= {"stale"}, refused


def test_nodes_run_where_az3_places_them_and_agents_share_the_http_store(az3):
    description, rt, _ = az3
    hosts = {c.node: c.labels.get(runtime.HOST) for c in rt.containers(description["lab"]) if c.node}
    assert {n: hosts[n] for n in ("enactor-a", "enactor-b", "enactor-c", "client1", "client2", "client3")} == {
        "enactor-a": "az-a", "enactor-b": "az-b", "enactor-c": "az-c",
        "client1": "az-a", "client2": "az-b", "client3": "az-c"}
    # Every enactor applies plans it read from the planstore node on az-b (no volume spans engines).
    # (Waited for: an enactor may still be writing its first dual-stack plan when the module's lab is up.)
    def logs():
        return {e: rt.logs(description["nodes"][e]["container"]) for e in ("enactor-a", "enactor-b", "enactor-c")}
    until(logs, lambda found: all('"event": "apply_finished"' in text for text in found.values()), timeout=60)
    status = dnslab("pipeline", "status", "--name", description["lab"], "--json", timeout=60)
    assert status.returncode == 0, status.stderr
    assert set(json.loads(status.stdout)["agents"]) >= {"enactor-a", "enactor-b", "enactor-c", "planner"}


def test_a_signed_update_from_one_zone_reaches_the_secondaries_of_the_others(az3):
    description, rt, _ = az3
    name = f"x{int(time.time())}.cloud.test."
    primary = description["nodes"]["primary"]
    # From enactor-a's container on az-a to the primary on az-b, TSIG-signed with the lab's key.
    result = exec_json(rt, description["nodes"]["enactor-a"]["container"], "lab.agents.update",
                       {"server": primary["addresses"]["core"], "zone": "cloud.test.", "key": zoneupdate.KEY_IN_CONTAINER,
                        "ops": [["replace", name, 5, "A", ["192.0.2.99"]]], "prereq": [], "timeout": 5}, timeout=20)
    assert result["rcode"] == "NOERROR", result
    unsigned = exec_json(rt, description["nodes"]["enactor-a"]["container"], "lab.agents.update",
                         {"server": primary["addresses"]["core"], "zone": "cloud.test.", "key": None,
                          "ops": [["replace", name, 5, "A", ["192.0.2.98"]]], "prereq": [], "timeout": 5}, timeout=20)
    assert unsigned["rcode"] == "REFUSED", unsigned
    # NOTIFY/IXFR from az-b to sec-knot on az-a and sec-nsd on az-c; asked from the primary's container.
    queries = [{"server": description["nodes"][s]["addresses"]["core"], "name": name, "type": "A", "rd": False,
                "expect": ["192.0.2.99"]} for s in ("sec-knot", "sec-nsd")]
    served = exec_json(rt, primary["container"], "lab.agents.ask",
                       {"queries": queries, "until": "expect", "deadline": 15, "timeout": 1})
    assert [r["answers"] for r in served] == [["192.0.2.99"], ["192.0.2.99"]], served
    # And a client in the third zone sees it through its zone's resolver.
    _, seen = until(lambda: ask(rt, description, "client3", "knot-resolver", name),
                    lambda r: r["answers"] == ["192.0.2.99"], timeout=20)


def test_a_fault_of_each_family_acts_on_a_node_of_another_engine(az3):
    description, rt, _ = az3
    ctx = FaultContext(rt, description)
    lab = description["lab"]
    # process: bind-resolver on az-b frozen; client1 (az-a) asking it times out.
    record = inject(ctx, "pause", "bind-resolver", {})
    try:
        assert states_on(rt, description, "az-b")["bind-resolver"] == "paused"
        assert ask(rt, description, "client1", "bind-resolver")["error"] == "timeout"
    finally:
        clear(ctx, record["id"])
    # dns-answer: dnsdist in front of knot-resolver on az-c, started on az-c's engine.
    record = inject(ctx, "servfail", "knot-resolver", {})
    try:
        helpers = [c for c in rt.containers(lab) if c.labels.get(runtime.HELPER) == nshelper.KIND
                   and c.labels.get(runtime.TARGET) == "knot-resolver"]
        assert [c.labels.get(runtime.HOST) for c in helpers] == ["az-c"]
        until(lambda: ask(rt, description, "client2", "knot-resolver"), lambda r: r["rcode"] == "SERVFAIL")
    finally:
        clear(ctx, record["id"])
    # network: client3 (az-c) cut off from unbound (az-a) by nftables in client3's namespace on az-c.
    record = inject(ctx, "partition", "client3", {"from": ["unbound"]})
    try:
        cut = ask(rt, description, "client3", "unbound")
        assert cut["rcode"] is None and cut["error"], cut  # dropped at client3's output: the send fails (EPERM)
        assert ask(rt, description, "client2", "unbound")["rcode"] == "NOERROR"
    finally:
        clear(ctx, record["id"])
    # zone-data: the primary's zone on az-b edited; the secondaries on az-a and az-c serve the change.
    record = inject(ctx, "empty-rrset", "primary", {"name": NAME, "type": "A"})
    try:
        until(lambda: ask(rt, description, "client1", "unbound"), lambda r: r["rcode"] == "NOERROR" and not r["answers"])
    finally:
        clear(ctx, record["id"])
    until(lambda: [ask(rt, description, ZONE_CLIENT[h], r) for h, r in ZONE_RESOLVER.items()],
          lambda seen: all(r["answers"] for r in seen))
    # Every helper (in a node's network namespace) runs on its node's own engine.
    helpers = {c.labels[runtime.TARGET]: c.labels.get(runtime.HOST) for c in rt.containers(lab)
               if runtime.HELPER in c.labels and c.labels.get(runtime.TARGET) in description["nodes"]}
    assert helpers and all(host == description["nodes"][node]["host"] for node, host in helpers.items()), helpers


def test_host_partition_cuts_one_zone_off_and_its_undo_brings_it_back(az3, swarm_sim):
    description, rt, hosts = az3
    lab = description["lab"]
    done = dnslab("fault", "add", "host-partition", "az-a", "--name", lab, "--hosts", hosts, timeout=60)
    assert done.returncode == 0, done.stderr
    fault_id = done.stdout.split()[1]
    # The rules went in by the lab's helper kept on az-a: the engine's namespace, NET_ADMIN and nothing else.
    [helper] = docker.DockerClient(base_url=swarm_sim.sockets["az-a"], timeout=60).containers.list(
        filters={"label": [f"dnslab.lab={lab}", f"{runtime.HELPER}={nshelper.HOST_KIND}"]})
    config = helper.attrs["HostConfig"]
    assert (config["NetworkMode"], config["CapAdd"], config["CapDrop"], config["Privileged"]) == (
        "host", ["NET_ADMIN"], ["ALL"], False)
    assert helper.labels[runtime.TARGET] == "az-a" and helper.labels[runtime.STOP_FIRST]
    try:
        # az-a's client reaches no resolver in the other zones; the other zones keep resolving.
        cut = [outcome(ask(rt, description, "client1", r)) for r in ("bind-resolver", "knot-resolver")]
        assert cut == ["timeout", "timeout"], cut
        others = {c: outcome(until(lambda c=c, r=r: ask(rt, description, c, r), lambda x: x["rcode"] == "NOERROR")[1])
                  for c, r in (("client2", "bind-resolver"), ("client3", "knot-resolver"), ("client2", "knot-resolver"))}
        assert set(others.values()) == {"NOERROR"}
        assert ask(rt, description, "client2", "unbound")["error"] == "timeout"  # nothing reaches az-a either
    finally:
        cleared = dnslab("fault", "clear", fault_id, "--name", lab, "--hosts", hosts, timeout=60)
    assert cleared.returncode == 0, cleared.stderr
    # Every client through every zone's resolver (pdns-recursor holds servers it found down for 60 s: left out).
    pairs = [(c, r) for c in ZONE_CLIENT.values() for r in ZONE_RESOLVER.values()]
    recovered, _ = until(lambda: [outcome(ask(rt, description, c, r)) for c, r in pairs],
                         lambda seen: set(seen) == {"NOERROR"}, timeout=60)
    print(f"host-partition az-a: every client through every zone's resolver {recovered:.1f}s after the undo")
    listed = rt.run_host_helper("az-a", description["image"], "nft list tables", {runtime.LAB: lab})
    assert "dnslab" not in listed.output, listed.output


def test_host_freeze_and_host_loss_act_on_every_node_of_a_host_and_undo(az3):
    description, rt, hosts = az3
    lab = description["lab"]
    on_c = zone.on_host(description, "az-c")
    for kind, state_during in (("host-freeze", {"paused"}), ("host-loss", {"exited"})):
        done = dnslab("fault", "add", kind, "az-c", "--name", lab, "--hosts", hosts, timeout=60)
        assert done.returncode == 0, done.stderr
        fault_id = done.stdout.split()[1]
        try:
            assert set(states_on(rt, description, "az-c").values()) == state_during
            assert set(states_on(rt, description, "az-b").values()) == {"running"}
            assert outcome(ask(rt, description, "client2", "bind-resolver")) == "NOERROR"  # sec-knot still serves
        finally:
            cleared = dnslab("fault", "clear", fault_id, "--name", lab, "--hosts", hosts, timeout=180)
        assert cleared.returncode == 0, cleared.stderr
        assert states_on(rt, description, "az-c") == {node: "running" for node in on_c}
        until(lambda: ask(rt, description, "client3", "knot-resolver"), lambda r: r["rcode"] == "NOERROR", timeout=30)


def test_zone_faults_need_a_host_of_the_lab(az3):
    description, _, hosts = az3
    done = dnslab("fault", "add", "host-freeze", "az-q", "--name", description["lab"], "--hosts", hosts, timeout=60)
    assert done.returncode == 2 and "no host 'az-q'" in done.stderr, done.stderr
    done = dnslab("run", str(RACE), "--name", lab_name("nohosts"), timeout=60, env={**os.environ, "DNSLAB_HOSTS": ""})
    assert done.returncode == 2 and "--hosts FILE" in done.stderr and "race-az.yml:" in done.stderr, done.stderr
