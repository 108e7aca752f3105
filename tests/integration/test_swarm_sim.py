"""scripts/swarm-sim with real engines: one Swarm of three, DNS across engines over an internal overlay with
fixed addresses, and nothing left behind — after a clean down, with two instances at once, after a killed up.

One simulator (3 engines, the lab image copied in) serves the module; the collision and kill tests start their
own small instances without the image."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest

from tests.support.swarm import (RUN_ROOT, SWARM_SIM, SwarmSim, leftovers, sim_or_skip, swarm_sim,  # noqa: F401
                                 swarm_sim_cli, up)

SUBNET = "10.99.0.0/24"
SERVER = "10.99.0.20"
NAME, ADDRESS = "www.sim.test", "192.0.2.53"
UNBOUND_CONF = f"""server:
  interface: 0.0.0.0
  access-control: 0.0.0.0/0 allow
  do-daemonize: no
  username: ""
  chroot: ""
  use-syslog: no
  logfile: ""
  local-zone: "sim.test." static
  local-data: "{NAME}. 5 IN A {ADDRESS}"
"""


def short_id(number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return digits or "0"


def dig(sim: SwarmSim, host: str, client: str, name: str) -> tuple[str, list[str]]:
    """rcode and A records of `name`, asked from the client container on `host`."""
    done = sim.docker(host, "exec", client, "dig", "+time=2", "+tries=3", f"@{SERVER}", name, "A", check=False)
    rcode = re.search(r"status: (\w+)", done.stdout)
    answers = re.findall(rf"^{re.escape(name)}\.\s+\d+\s+IN\s+A\s+(\S+)$", done.stdout, re.M)
    return (rcode.group(1) if rcode else f"no answer: {(done.stdout + done.stderr)[-200:]}"), answers


def test_three_engines_form_one_swarm(swarm_sim):
    info = swarm_sim.docker("az-a", "info", "--format", "{{json .Swarm}}").stdout
    swarm = json.loads(info)
    assert (swarm["Nodes"], swarm["Managers"], swarm["ControlAvailable"]) == (3, 1, True), swarm
    nodes = swarm_sim.docker("az-a", "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}}")
    assert sorted(nodes.stdout.split("\n")[:-1]) == ["az-a Ready Active", "az-b Ready Active", "az-c Ready Active"]
    for host in ("az-b", "az-c"):
        worker = json.loads(swarm_sim.docker(host, "info", "--format", "{{json .Swarm}}").stdout)
        assert worker["LocalNodeState"] == "active" and not worker["ControlAvailable"]
        assert [m["NodeID"] for m in worker["RemoteManagers"]] == [swarm["NodeID"]]
    assert [line for line in swarm_sim.hosts_file.read_text().splitlines() if not line.startswith("#")] == \
        ["hosts:"] + [f'  {host}: {{docker: "{url}"}}' for host, url in swarm_sim.sockets.items()]


def test_dns_across_engines_on_an_internal_overlay(swarm_sim, lab_image):
    """Unbound with a fixed address on engine 2 answers clients on engines 1 and 3 (the hand-made proof of
    DESIGN.md, as a test)."""
    network = f"simnet-{swarm_sim.name}"
    swarm_sim.docker("az-a", "network", "create", "--driver", "overlay", "--attachable", "--internal",
                     "--subnet", SUBNET, network)
    containers = [("az-b", "sim-unbound"), ("az-a", "sim-client-a"), ("az-c", "sim-client-c")]
    try:
        # the config travels in the command, not through a host path: engines of a real Swarm share no files
        swarm_sim.docker("az-b", "run", "-d", "--name", "sim-unbound", "--network", network, "--ip", SERVER,
                         lab_image, "sh", "-c",
                         f"printf '%s' '{UNBOUND_CONF}' > /tmp/unbound.conf && exec unbound -d -c /tmp/unbound.conf")
        for host, client in containers[1:]:
            swarm_sim.docker(host, "run", "-d", "--name", client, "--network", network, lab_image, "sleep", "600")
        deadline = time.monotonic() + 30
        while dig(swarm_sim, "az-a", "sim-client-a", NAME)[0] != "NOERROR" and time.monotonic() < deadline:
            time.sleep(0.5)
        for host, client in containers[1:]:
            assert dig(swarm_sim, host, client, NAME) == ("NOERROR", [ADDRESS]), host
            assert dig(swarm_sim, host, client, "nothing.sim.test") == ("NXDOMAIN", []), host
        inside = swarm_sim.docker("az-c", "exec", "sim-client-c", "sh", "-c",
                                  "ip -4 route; cat /sys/class/net/eth0/mtu").stdout
        assert "default" not in inside, f"an internal overlay has no way out: {inside}"
        assert inside.split()[-1] == "1450", f"overlay MTU: {inside}"
        server = json.loads(swarm_sim.docker("az-b", "inspect", "sim-unbound").stdout)[0]
        assert server["NetworkSettings"]["Networks"][network]["IPAddress"] == SERVER
    finally:
        for host, container in containers:  # one at a time (moby/moby#46661)
            swarm_sim.docker(host, "rm", "-f", container, check=False)
        swarm_sim.docker("az-a", "network", "rm", network, check=False)


def test_down_leaves_nothing_of_the_instance(swarm_sim):
    assert leftovers(swarm_sim.name), "the instance should be up before its down"
    started = time.monotonic()
    swarm_sim.down()
    print(f"down of 3 engines with the image: {time.monotonic() - started:.1f} s")
    assert leftovers(swarm_sim.name) == []
    assert not os.path.exists(swarm_sim.sockets["az-a"].removeprefix("unix://"))
    swarm_sim.down()  # idempotent
    assert "no swarm-sim instance" in swarm_sim_cli("status").stdout or \
        swarm_sim.name not in swarm_sim_cli("status").stdout


def test_two_instances_at_once_do_not_collide():
    sim_or_skip()
    names = [f"c{short_id(os.getpid())}{suffix}"[:7] for suffix in "xy"]
    procs = [subprocess.Popen([str(SWARM_SIM), "up", "2", "--name", name, "--owner", str(os.getpid())],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in names]
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err[-400:]
        sims = [SwarmSim.from_state(name) for name in names]
        assert sims[0].subnet != sims[1].subnet
        assert set(sims[0].sockets.values()).isdisjoint(sims[1].sockets.values())
        clusters = []
        for sim in sims:
            swarm = json.loads(sim.docker("az-a", "info", "--format", "{{json .Swarm}}").stdout)
            assert swarm["Nodes"] == 2, swarm
            clusters.append(swarm["Cluster"]["ID"])
            # each engine reaches its own Swarm peers only
            other = sims[1 - sims.index(sim)]
            assert sim.addresses["az-a"] != other.addresses["az-a"]
        assert clusters[0] != clusters[1]
    finally:
        for name in names:
            swarm_sim_cli("down", "--name", name, check=False)
    for name in names:
        assert leftovers(name) == [], name


@pytest.fixture(scope="module")
def bystander():
    """A small instance owned by this test process, up while the kill tests sweep: `down --all` must spare it."""
    sim_or_skip()
    sim = up(1)
    try:
        yield sim
    finally:
        swarm_sim_cli("down", "--name", sim.name, check=False)
        assert leftovers(sim.name) == []


@pytest.mark.parametrize("when", ["engines-starting", "state-lost"])
def test_down_all_cleans_up_after_a_killed_up(when, bystander):
    """SIGKILL `up` midway (nothing of it can clean up): `down --all` finds every piece, with a partial state
    file or none at all — and spares an instance whose owner process is alive."""
    name = f"k{short_id(os.getpid())}{'ab'[when == 'state-lost']}"[:7]
    proc = subprocess.Popen([str(SWARM_SIM), "up", "2", "--name", name], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        socket = RUN_ROOT / name / "az-a.sock"
        deadline = time.monotonic() + 60
        # kill it while it still creates engines (the netns of the last one exists), or once one answers
        while time.monotonic() < deadline and proc.poll() is None:
            if when == "engines-starting" and os.path.exists(f"/run/netns/dnslab-sim-{name}-az-b"):
                break
            if when == "state-lost" and socket.exists():
                break
            time.sleep(0.02)
        assert proc.poll() is None, "up finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if when == "state-lost":
            (RUN_ROOT / name / "state.json").unlink()
        assert leftovers(name), "the killed up should have left pieces behind"
        assert name in swarm_sim_cli("status").stdout
        swarm_sim_cli("down", "--all")
        assert leftovers(name) == []
        assert leftovers(bystander.name), "down --all removed an instance whose owner is alive"
        assert json.loads(bystander.docker("az-a", "info", "--format", "{{json .Swarm}}").stdout)["Nodes"] == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        swarm_sim_cli("down", "--name", name, check=False)
