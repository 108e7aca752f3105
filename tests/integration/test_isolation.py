"""Two labs of one topology run playbooks at the same time through the real CLI, each bringing its own lab up:
neither sees the other (answers, latency, faults), only fault sidecars hold NET_ADMIN (checked while a
network fault is in force), nothing is published or mounted that should not be, and the TSIG secret the runs
used for their updates appears in none of their files or output.

The two runs bring their labs up themselves (and take them down), so this also races two `up`s for address
space. The labs are removed in a finally, whatever happens.
"""

from __future__ import annotations

import json
import time

from lab import lifecycle, runtime, state, truthwatch
from lab.faults import sidecar
from tests.integration.conftest import REPO, labelled, lab_name
from tests.integration.faultkit import CLEAN, context, leftovers
from tests.integration.test_playbook_run import assert_every_probe_recorded
from tests.support.cli import read_jsonl, start_run

BUSY = REPO / "tests" / "data" / "isolation-busy.yml"
QUIET = REPO / "tests" / "data" / "isolation-quiet.yml"


def assert_privileges(engine, labs: list[str]) -> int:
    """Nodes: no capability added, not privileged, no Docker socket, no published port. NET_ADMIN only on
    sidecars, each in the namespace of a node of its own lab; the truth samplers' helpers (in a server's
    namespace of their own lab too) hold no capability at all. Returns how many sidecars hold NET_ADMIN."""
    with_net_admin = 0
    for lab in labs:
        found = engine.containers.list(all=True, filters={"label": f"{runtime.LAB}={lab}"}, ignore_removed=True)
        own = {c.id for c in found if runtime.NODE in c.labels}
        for container in found:
            host = container.attrs["HostConfig"]
            assert not host["Privileged"], container.name
            assert all(m["Destination"] != "/var/run/docker.sock" for m in container.attrs["Mounts"]), container.name
            assert not host.get("PortBindings") and not host.get("PublishAllPorts"), container.name
            if runtime.NODE in container.labels:
                assert not host.get("CapAdd"), (container.name, host.get("CapAdd"))
            elif truthwatch.LABEL in container.labels:
                assert not host.get("CapAdd") and host.get("CapDrop") == ["ALL"], (container.name, host.get("CapAdd"))
                mode = host["NetworkMode"]
                assert mode.startswith("container:") and mode.split(":", 1)[1] in own, (container.name, mode)
            else:
                assert sidecar.SIDECAR in container.labels, container.name
                assert host.get("CapAdd") == ["NET_ADMIN"] and host.get("CapDrop") == ["ALL"], container.name
                mode = host["NetworkMode"]
                assert mode.startswith("container:") and mode.split(":", 1)[1] in own, (container.name, mode)
                with_net_admin += 1
    return with_net_admin


def test_two_labs_run_side_by_side_without_seeing_each_other(rt, engine, lab_image, tmp_path):
    busy_lab, quiet_lab = lab_name("iso-busy"), lab_name("iso-quiet")
    busy_dir, quiet_dir = tmp_path / "busy", tmp_path / "quiet"
    busy, quiet = start_run(BUSY, busy_lab, busy_dir), start_run(QUIET, quiet_lab, quiet_dir)
    secrets, sidecars_seen, checked_in_fault = {}, 0, False
    try:
        deadline = time.monotonic() + 240
        while busy.poll() is None or quiet.poll() is None:
            assert time.monotonic() < deadline, "the runs did not finish"
            for lab in (busy_lab, quiet_lab):
                key = state.lab_dir(lab) / "tsig.key"
                if lab not in secrets and key.exists() and key.stat().st_size:
                    secrets[lab] = json.loads(key.read_text())["secret"]
            sidecars_seen = max(sidecars_seen, assert_privileges(engine, [busy_lab, quiet_lab]))
            events = read_jsonl(busy_dir / "events.jsonl") if (busy_dir / "events.jsonl").exists() else []
            in_force = sum(e["event"] == "fault_injected" for e in events) == 2 and \
                not any(e["event"] == "fault_cleared" for e in events)
            if in_force and not checked_in_fault:
                # The busy lab's loss table is in its own resolver's namespace; the quiet lab has no trace.
                busy_ctx = context(rt, state.load_description(busy_lab))
                tables = sidecar.run_in_namespace(busy_ctx, "unbound", "nft list tables", "check")
                assert "dnslab_loss" in tables, tables
                assert leftovers(context(rt, state.load_description(quiet_lab))) == CLEAN
                assert assert_privileges(engine, [busy_lab, quiet_lab]) >= 1  # the dnsdist sidecar
                checked_in_fault = True
            time.sleep(0.5)
        busy_out, busy_err = busy.communicate()
        quiet_out, quiet_err = quiet.communicate()
    finally:
        for process in (busy, quiet):
            if process.poll() is None:
                process.kill()
        for lab in (busy_lab, quiet_lab):
            lifecycle.down(lab, rt=rt)

    assert busy.returncode == 1, busy_err[-3000:]  # its expected latency failure, nothing else
    assert quiet.returncode == 0, quiet_err[-3000:]
    assert checked_in_fault, "never looked while the busy lab's faults were in force"
    for lab in (busy_lab, quiet_lab):
        assert labelled(rt, lab) == {"containers": 0, "networks": 0, "volumes": 0}

    # Each lab answered with its own marker only: no query crossed to the other lab's servers.
    for run_dir, lab, marker in ((busy_dir, busy_lab, "lab=busy"), (quiet_dir, quiet_lab, "lab=quiet")):
        probes = assert_every_probe_recorded(run_dir, ("client1",))
        assert {tuple(p["answers"]) for p in probes if p["answers"]} == {(marker,)}
        events = read_jsonl(run_dir / "events.jsonl")
        assert events[0]["event"] == "run_started" and events[0]["lab"] == lab
    quiet_report = json.loads((quiet_dir / "report.json").read_text())
    assert all(check["ok"] for check in quiet_report["checks"])  # no delay, no loss leaked into the quiet lab
    busy_report = json.loads((busy_dir / "report.json").read_text())
    assert {c["name"]: c["ok"] for c in busy_report["checks"]} == {
        "the name never goes empty": True, "expected failure: p99 latency stays under 250 ms": False}

    # The TSIG secret that signed both updates is nowhere in what the runs wrote or printed.
    assert set(secrets) == {busy_lab, quiet_lab} and secrets[busy_lab] != secrets[quiet_lab]
    files = [p for d in (busy_dir, quiet_dir) for p in d.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"report.json", "events.jsonl", "probes.jsonl", "junit.xml", "playbook.yml"}
    for secret in secrets.values():
        for path in files:
            assert secret.encode() not in path.read_bytes(), path
        assert secret not in busy_out + busy_err + quiet_out + quiet_err
    assert sum(e["event"] == "action_done" for e in read_jsonl(busy_dir / "events.jsonl")) == 1
    print(f"[figures] isolation: busy exit {busy.returncode}, quiet exit {quiet.returncode}; "
          f"{sidecars_seen} NET_ADMIN sidecar(s) at most, 0 on nodes; secrets absent from {len(files)} files")
