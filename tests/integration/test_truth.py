"""The truth over time against real servers: a spoofed secondary's answers are wrong and named, the same
playbook without the lie holds, a TTL change does not make cached copies wrong, the sampler of a
restarted server comes back, and the samplers' helpers are kept from run to run. One default lab for the
module; every run leaves it as it found it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lab import checks, records, truth, truthwatch
from tests.integration.conftest import REPO

SPOOF_PLAYBOOK = REPO / "playbooks" / "spoof-secondary.yml"
SPOOFED, TRUE_ADDRESS = "192.0.2.66", "198.51.100.1"
RESOLVERS = {"unbound", "bind-resolver", "knot-resolver", "pdns-recursor"}
SERVERS = {"primary", "sec-knot", "sec-nsd"}  # every server of cloud.test., its hidden primary too


def dnslab_run(lab: dict, playbook: Path, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run([sys.executable, "-m", "lab", "run", str(playbook), "--name", lab["lab"], "--out",
                           str(out), *extra], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert (out / "report.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads((out / "report.json").read_text())


def verdicts(report: dict) -> dict[str, tuple[bool, str]]:
    return {c["check"]: (c["ok"], c["detail"]) for c in report["checks"]}


def judge(run_dir: Path, spec: dict) -> checks.CheckResult:
    """A check over the run directory after the fact: judging is a pure function of the records."""
    found = records.read_run(run_dir)
    [result] = checks.judge([spec], found.probes, found.events)
    return result


def truth_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / truth.TRUTH_FILE).read_text().splitlines()]


def test_a_spoofed_secondary_gives_wrong_answers_and_they_are_named(default_lab, tmp_path):
    run_dir = tmp_path / "spoof"
    done, report = dnslab_run(default_lab, SPOOF_PLAYBOOK, run_dir)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    found = verdicts(report)
    ok, detail = found["answers_valid"]
    assert not ok and f"({SPOOFED} ×" in detail, detail
    assert not found["forbid_answers"][0]
    seen = judge(run_dir, {"check": "expect_answers", "answers": [SPOOFED], "min_count": 10})
    assert seen.ok, seen.detail
    # Every client-facing lie is wrong; the true address is never wrong; the sampler was never lied to.
    probes = records.read_run(run_dir).probes
    spoofed = [p for p in probes if SPOOFED in p["answers"]]
    assert spoofed and all(p["truth"] in ("unheld", "unseen") for p in spoofed)
    assert sum(p["truth"] == "unheld" for p in spoofed) == report["probes"]["wrong"] > 0
    assert not any(records.is_wrong(p) for p in probes if p["answers"] == [TRUE_ADDRESS])
    held = {(line["server"], tuple(line["answers"])) for line in truth_lines(run_dir) if line.get("rcode")}
    assert held == {(server, (TRUE_ADDRESS,)) for server in SERVERS}
    assert sum(r["wrong"] for r in report["resolvers"].values()) == report["probes"]["wrong"]


def test_the_same_playbook_without_the_lie_holds(default_lab, tmp_path):
    run_dir = tmp_path / "honest"
    done, report = dnslab_run(default_lab, SPOOF_PLAYBOOK, run_dir, "--set", "steps.3.fault.params.percent=0")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert all(c["ok"] for c in report["checks"]), report["checks"]
    assert report["probes"]["wrong"] == 0 and report["probes"]["judged"] > 0.9 * report["probes"]["total"]
    assert not judge(run_dir, {"check": "expect_answers", "answers": [SPOOFED]}).ok


TTL_CHANGE = """
name: ttl-change
topology: {topology}
probes: {{names: [api.cloud.test.], rate: 4}}
steps:
  - wait: {{probes: ok, count: 3, every_resolver: true}}
    timeout: 30s
  - fault: {{kind: ttl, target: primary, params: {{name: api.cloud.test., type: A, ttl: 30}}}}
  - wait: 8s                 # every resolver's 5 s copy expired: they now hold the address under TTL 30
  - action: {{name: zone_update, params: {{zone: cloud.test., ops: [[replace, api, 5, A, [198.51.100.9]]]}}}}
  - wait: 33s                # copies cached under TTL 30 are served until they expire, then the new address
checks:
  - check: answers_valid
  - {{check: expect_answers, answers: [198.51.100.9]}}
"""


def test_copies_cached_under_the_old_ttl_are_not_wrong_after_a_ttl_change(default_lab, tmp_path):
    playbook = tmp_path / "ttl-change.yml"
    playbook.write_text(TTL_CHANGE.format(topology=REPO / "compose" / "default.yml"))
    run_dir = tmp_path / "ttl"
    done, report = dnslab_run(default_lab, playbook, run_dir)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert all(c["ok"] for c in report["checks"]), report["checks"]
    found = records.read_run(run_dir)
    changed = next(e["t"] for e in found.events if e.get("event") == "action_done")
    # The proof: old answers served well after the new TTL (plus slack) would have let them go — judged by
    # the TTL they were cached under, they are held, not wrong.
    late = [p for p in found.probes if p["answers"] == [TRUE_ADDRESS]
            and p["t"] > changed + truth.MIN_CACHE_TTL_S + truth.SLACK_S + 2]
    assert late, "no resolver served a copy cached under the old TTL after the change"
    assert all(p["truth"] == "held" for p in late)
    assert {line["ttl"] for line in truth_lines(run_dir) if line.get("answers") == [TRUE_ADDRESS]} >= {5, 30}


RESTART = """
name: restart-secondary
topology: {topology}
probes: {{names: [api.cloud.test.], rate: 4}}
steps:
  - wait: {{probes: ok, count: 3, every_resolver: true}}
    timeout: 30s
  - fault: {{kind: restart, target: sec-nsd}}
  - wait: 10s
checks:
  - check: answers_valid
"""


def truth_helpers(rt, lab: dict) -> dict[str, object]:
    """server -> its truth helper (a runtime.Container), as the engine lists them."""
    return {c.labels[truthwatch.LABEL]: c for c in rt.containers(lab["lab"]) if truthwatch.LABEL in c.labels}


JUST_WAIT = """name: just-wait
topology: {topology}
probes: {{names: [api.cloud.test.], rate: 2}}
steps:
  - wait: 2s
checks:
  - check: answers_valid
"""


def test_the_samplers_helpers_stay_from_run_to_run_without_a_capability(default_lab, rt, engine, tmp_path):
    playbook = tmp_path / "wait.yml"
    playbook.write_text(JUST_WAIT.format(topology=REPO / "compose" / "default.yml"))
    seen = []
    for run in ("first", "second"):
        done, report = dnslab_run(default_lab, playbook, tmp_path / run)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        helpers = truth_helpers(rt, default_lab)
        assert set(helpers) == SERVERS and all(h.state == "running" for h in helpers.values()), helpers
        seen.append({server: h.id for server, h in helpers.items()})
        for helper in helpers.values():  # idle between runs, and still no capability
            host = engine.containers.get(helper.id).attrs["HostConfig"]
            assert not host.get("CapAdd") and host.get("CapDrop") == ["ALL"], (helper.name, host.get("CapAdd"))
        assert {line["server"] for line in truth_lines(tmp_path / run) if line.get("sampler") == "started"} == SERVERS
    assert seen[0] == seen[1]  # the second run reused every one


def test_the_sampler_of_a_restarted_server_comes_back(default_lab, rt, tmp_path):
    playbook = tmp_path / "restart.yml"
    playbook.write_text(RESTART.format(topology=REPO / "compose" / "default.yml"))
    run_dir = tmp_path / "restart"
    done, report = dnslab_run(default_lab, playbook, run_dir)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # fault_injected is written once the restart is done; the sidecar was left behind while it happened
    restarted = next(e["t"] for e in records.read_run(run_dir).events
                     if e.get("event") == "step_started" and e.get("index") == 2)
    nsd = [line for line in truth_lines(run_dir) if line["server"] == "sec-nsd" and line.get("sampler")]
    states = [(line["sampler"], line["t"] > restarted) for line in nsd]
    # planned, started, then the restart leaves the sidecar in the old namespace: stopped, and started again
    assert states[:2] == [("planned", False), ("started", False)], nsd
    assert ("stopped", True) in states and states.index(("stopped", True)) < states.index(("started", True)), nsd
    assert states[-1] == ("stopped", True) and nsd[-1]["reason"] == "run ended"
    assert report["probes"]["judged"] > 0.8 * report["probes"]["total"]
    # The helper kept for the next run is the one in the restarted server's new namespace.
    server = rt.container(default_lab["nodes"]["sec-nsd"]["container"])
    assert truth_helpers(rt, default_lab)["sec-nsd"].labels[truthwatch.TARGET_STARTED] == server.started
