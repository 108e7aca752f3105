"""Secrets and privileges: the per-lab TSIG key is private and never printed; lab containers run without
extra capabilities, privileges or the Docker socket."""

from __future__ import annotations

import json
import os
import stat

from lab import nshelper, runtime, state, zoneupdate
from tests.support.cli import dnslab


def test_tsig_key_is_generated_private_and_never_printed(default_lab, rt, engine):
    lab = default_lab["lab"]
    key_file = state.lab_dir(lab) / "tsig.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = json.loads(key_file.read_text())["secret"]
    assert len(secret) >= 40  # 32 random bytes, base64

    holders = sorted(p.parent.name for p in (state.lab_dir(lab) / "nodes").glob("*/tsig.json"))
    assert holders == ["primary"]  # only the node that takes updates (and pipeline agents) hold it
    for path in (state.lab_dir(lab) / "nodes").rglob("*"):
        if path.is_file() and secret in path.read_text(errors="replace"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    # Use the key, then look everywhere a user or CI would see output.
    assert zoneupdate.send(rt, default_lab, "cloud.test.",
                           [["replace", "secret-check.cloud.test.", 5, "A", ["192.0.2.5"]]])["rcode"] == "NOERROR"
    env = {**os.environ}
    for args in (["status", "--name", lab, "--json"], ["dig", "secret-check.cloud.test", "--name", lab]):
        done = dnslab(*args, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert secret not in done.stdout + done.stderr
    assert secret not in (state.lab_dir(lab) / "lab.json").read_text()
    for container in engine.containers.list(all=True, filters={"label": f"dnslab.lab={lab}"}, ignore_removed=True):
        assert secret.encode() not in container.logs(), container.name
        # Nor on any command line inside the lab (the update agent reads the key from its file).
        assert secret not in " ".join(container.attrs["Config"]["Cmd"] or [])


def test_lab_containers_have_no_extra_privileges(default_lab, rt, engine):
    """Nodes hold no added capability; the helper kept in each node's namespace (lab.nshelper, started here as
    a run starts them) holds NET_ADMIN and nothing else, in a node of this lab; nothing is privileged or has
    the Docker socket."""
    nshelper.ensure(rt, default_lab).join()
    where = {"label": f"dnslab.lab={default_lab['lab']}"}
    found = engine.containers.list(all=True, filters=where, ignore_removed=True)
    nodes = {c.id for c in found if runtime.NODE in c.labels}
    helpers = 0
    for container in found:
        host = container.attrs["HostConfig"]
        assert not host["Privileged"], container.name
        assert all(m["Destination"] != "/var/run/docker.sock" for m in container.attrs["Mounts"])
        if runtime.NODE in container.labels:
            assert not host.get("CapAdd"), (container.name, host.get("CapAdd"))
            assert host["NetworkMode"].startswith(f"dnslab-{default_lab['lab']}-")
        else:
            assert container.labels.get(runtime.HELPER) == nshelper.KIND, container.name
            assert host.get("CapAdd") == ["NET_ADMIN"] and host.get("CapDrop") == ["ALL"], container.name
            mode = host["NetworkMode"]
            assert mode.startswith("container:") and mode.split(":", 1)[1] in nodes, (container.name, mode)
            helpers += 1
    assert helpers == len(nodes)  # one per node, from up
