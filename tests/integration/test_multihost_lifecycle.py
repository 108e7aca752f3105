"""A lab across three Docker engines joined as a Swarm (scripts/swarm-sim): each node on the engine its
placement says, answers across engines, status naming each node's host; bad placement and unreachable
engines refused with one line before anything starts; and `down` leaving nothing on any engine, also after the
orchestrator was killed during `up`. One simulator serves the module."""

from __future__ import annotations

import json
import os
import signal
import time

import docker

from lab import nshelper, runtime
from tests.integration.conftest import lab_name
from tests.support.cli import REPO, dnslab, start
from tests.support.swarm import swarm_sim  # noqa: F401,F811 - the module's fixture

SPREAD = REPO / "tests" / "data" / "spread-minimal.yml"
EXPECTED = {"root": "az-a", "primary": "az-b", "sec-nsd": "az-c", "unbound": "az-c", "client1": "az-a"}


def engines(sim) -> dict[str, docker.DockerClient]:
    return {host: docker.DockerClient(base_url=url, timeout=60) for host, url in sim.sockets.items()}


def labelled(sim, lab: str) -> dict[str, dict[str, int]]:
    """Per engine, what still carries the lab's label: looked at through each engine's own SDK."""
    found = {}
    for host, engine in engines(sim).items():
        where = {"label": f"dnslab.lab={lab}"}
        found[host] = {"containers": len(engine.containers.list(all=True, filters=where)),
                       "networks": len(engine.networks.list(filters=where)),
                       "volumes": len(engine.volumes.list(filters=where))}
    return found


NOTHING = {"containers": 0, "networks": 0, "volumes": 0}


def test_a_lab_spread_over_three_engines(swarm_sim):
    lab = lab_name("spread")
    hosts = str(swarm_sim.hosts_file)
    try:
        # DNSLAB_HELPERS=up: `up` starts every node's helper too (a run would, at its first wait).
        up = dnslab("up", "-t", str(SPREAD), "--name", lab, "--hosts", hosts, timeout=300,
                    env={**os.environ, nshelper.MODE_ENV: "up"})
        assert up.returncode == 0, up.stderr[-2000:]
        listed = {host: engine.containers.list() for host, engine in engines(swarm_sim).items()}
        on = {c.labels[runtime.NODE]: host for host, found in listed.items() for c in found if runtime.NODE in c.labels}
        assert on == EXPECTED
        # A node's kept-alive fault helper (lab.nshelper) shares its namespace, so it runs on the node's engine.
        helpers = {c.labels[runtime.TARGET]: host for host, found in listed.items() for c in found
                   if c.labels.get(runtime.HELPER) == nshelper.KIND}
        assert helpers and all(on[node] == host for node, host in helpers.items()), helpers
        # Across engines: the client on az-a asks Unbound on az-c, which asks the root on az-a, the TLD on
        # az-a and the secondary on az-c (its zone came from the primary on az-b by NOTIFY/IXFR over the overlay).
        dig = dnslab("dig", "dynamodb.us-east-1.cloud.test", "--name", lab, "--json", timeout=60)  # hosts from lab.json
        assert dig.returncode == 0, dig.stderr
        [answer] = json.loads(dig.stdout)
        assert answer["rcode"] == "NOERROR" and sorted(answer["answers"]) == ["192.0.2.10", "192.0.2.11"]
        status = dnslab("status", "--name", lab, "--json", timeout=60)
        assert status.returncode == 0, status.stderr
        assert {row["name"]: row["host"] for row in json.loads(status.stdout)} == EXPECTED
        assert all(row["answers"] in ("yes", "-") for row in json.loads(status.stdout))
    finally:
        down = dnslab("down", "--name", lab, "--hosts", hosts, timeout=180)
    assert down.returncode == 0, down.stderr
    assert labelled(swarm_sim, lab) == {h: NOTHING for h in swarm_sim.sockets}


def test_a_placement_naming_an_unknown_host_is_refused_with_its_place(swarm_sim):
    lab = lab_name("badhost")
    done = dnslab("up", "-t", str(REPO / "tests" / "data" / "spread-unknown-host.yml"), "--name", lab,
                  "--hosts", str(swarm_sim.hosts_file), timeout=120)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "spread-unknown-host.yml:5:" in line and "'az-z'" in line, line
    assert labelled(swarm_sim, lab) == {h: NOTHING for h in swarm_sim.sockets}  # nothing started


def test_an_engine_that_does_not_answer_is_named(swarm_sim, tmp_path):
    hosts = tmp_path / "hosts.yml"
    good = swarm_sim.sockets["az-a"]
    hosts.write_text(f'hosts:\n  az-a: {{docker: "{good}"}}\n  az-x: {{docker: "unix://{tmp_path}/gone.sock"}}\n')
    done = dnslab("up", "-t", str(SPREAD), "--name", lab_name("gone"), "--hosts", str(hosts), timeout=120)
    assert done.returncode == 3, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "az-x" in line and "gone.sock" in line, line


def test_down_after_sigkill_during_up_leaves_nothing_on_any_engine(swarm_sim):
    lab = lab_name("killed")
    hosts = str(swarm_sim.hosts_file)
    proc = start("up", "-t", str(SPREAD), "--name", lab, "--hosts", hosts)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(n["containers"] for n in labelled(swarm_sim, lab).values()) < 3:
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        left = labelled(swarm_sim, lab)
        assert sum(n["containers"] for n in left.values()) >= 3, left  # the killed orchestrator left them
        assert sum(1 for n in left.values() if n["containers"]) >= 2, left  # on more than one engine
    finally:
        if proc.poll() is None:
            proc.kill()
        # lab.json may not be written yet: the hosts file comes from the command line.
        done = dnslab("down", "--name", lab, "--hosts", hosts, timeout=180)
    assert done.returncode == 0, done.stderr
    assert labelled(swarm_sim, lab) == {h: NOTHING for h in swarm_sim.sockets}


def test_matrix_spreads_its_runs_over_the_engines(swarm_sim, tmp_path):
    """`dnslab matrix --hosts`: each run's lab on one engine, the runs side by side on different engines."""
    out = tmp_path / "matrix"
    done = dnslab("matrix", "akamai-2021-servfail-config", "--hosts", str(swarm_sim.hosts_file), "--out", str(out),
                  "--lab-prefix", lab_name("mx"), timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = json.loads((out / "matrix.json").read_text())["rows"]
    assert {(r["variant"], r["exit_code"], r["host"]) for r in rows} == {("as-written", 1, "az-a"),
                                                                         ("mitigated", 0, "az-b")}
    assert all(labelled(swarm_sim, lab_name(f"mx-{i}")) == {h: NOTHING for h in swarm_sim.sockets} for i in (1, 2))
