"""`dnslab run/validate/report` through the real CLI against a real lab: verdicts, files, rollback, Ctrl-C.

One default lab is shared by the module (the runs leave it as they found it: that is one of the things
asserted). The node-lost test gets its own minimal lab, since it removes a container.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from lab import faults, lifecycle, runtime, state
from tests.integration.conftest import REPO, labelled, lab_name
from tests.support.cli import dnslab, read_jsonl, start_run

PLAYBOOK = REPO / "playbooks" / "freeze-primary-partition-secondary.yml"
THREE_MISTAKES = REPO / "tests" / "data" / "three-mistakes.yml"
PROBE_FIELDS = {"t", "client", "resolver", "name", "type", "rcode", "answers", "ttl", "latency_ms", "error", "seq", "transport"}
REPORT_FILES = ("probes.jsonl", "events.jsonl", "report.json", "junit.xml", "timeline.png", "report.html")


def just_wait(tmp_path: Path, topology: str, wait: str) -> Path:
    """A playbook that probes at 2 rounds/s, waits, and checks never_empty: a run with nothing of its own."""
    playbook = tmp_path / f"wait-{topology}"
    playbook.write_text(f"name: just-wait\ntopology: {REPO / 'compose' / topology}\nprobes: {{rate: 2}}\n"
                        f"steps:\n  - wait: {wait}\nchecks:\n  - check: never_empty\n")
    return playbook


def assert_lab_clean(rt, description: dict) -> None:
    """No fault left in the store, no paused or stopped container: the lab is as a run found it."""
    ctx = faults.FaultContext(rt, state.load_description(description["lab"]))
    assert faults.active(ctx) == []
    found = rt.containers(description["lab"])
    assert {c.node: c.state for c in found if c.node} == {node: "running" for node in description["nodes"]}
    assert not [c.name for c in found if c.state == "paused"]  # a fault's helpers neither (lab.nshelper)


def assert_every_probe_recorded(run_dir: Path, clients: tuple[str, ...] = ("client1", "client2")) -> list[dict]:
    probes = read_jsonl(run_dir / "probes.jsonl")  # every line is JSON
    assert probes and all(set(p) == PROBE_FIELDS for p in probes)
    summaries = [e for e in read_jsonl(run_dir / "events.jsonl") if e["event"] == "prober_summary"]
    assert {s["client"] for s in summaries} == set(clients)
    for summary in summaries:  # every query a prober sent has its line in probes.jsonl
        assert summary["sent"] == summary["written"] == sum(p["client"] == summary["client"] for p in probes)
    return probes


def test_the_shipped_playbook_holds_availability_and_breaks_the_latency_bound(default_lab, rt, tmp_path):
    run_dir = tmp_path / "run"
    result = dnslab("run", str(PLAYBOOK), "--name", default_lab["lab"], "--out", str(run_dir))
    assert result.returncode == 1, result.stderr[-3000:]
    assert all((run_dir / name).is_file() for name in REPORT_FILES)
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "fail" and report["seed"] == 7
    verdicts = {check["name"]: check["ok"] for check in report["checks"]}
    assert verdicts == {
        "the name stays resolvable": True,
        "the name never goes empty": True,
        "the service comes back within 10 s of the clear": True,
        "expected failure: p99 latency stays under 50 ms": False,
    }
    probes = assert_every_probe_recorded(run_dir)
    assert {p["resolver"] for p in probes} == {"unbound", "bind-resolver", "knot-resolver", "pdns-recursor"}
    events = read_jsonl(run_dir / "events.jsonl")
    injected = [(e["kind"], e["target"]) for e in events if e["event"] == "fault_injected"]
    cleared = [(e["kind"], e["target"]) for e in events if e["event"] == "fault_cleared"]
    assert injected == [("pause", "primary"), ("partition", "sec-knot")]
    assert sorted(cleared) == sorted(injected)
    assert events[0]["event"] == "run_started" and events[-1] == {**events[-1], "event": "run_finished",
                                                                  "verdict": "fail"}
    assert "FAIL" in result.stdout and "expected failure" in result.stdout
    assert_lab_clean(rt, default_lab)

    # `dnslab report` re-judges the same records to the same verdicts, from the run's copy of the playbook
    again = dnslab("report", str(run_dir))
    assert again.returncode == 1, again.stderr
    rejudged = json.loads((run_dir / "report.json").read_text())
    assert {c["name"]: c["ok"] for c in rejudged["checks"]} == verdicts
    assert rejudged["extra"]["rejudged"] is True and rejudged["extra"]["lab"] == default_lab["lab"]


def test_validate_reports_all_three_mistakes_and_run_starts_nothing(rt, tmp_path):
    result = dnslab("validate", str(THREE_MISTAKES))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    for line, (where, words) in zip(lines, [(":8:24:", "bind-resolvr"), (":13:19:", "pasue"),
                                            (":14:11:", "10 seconds")]):
        assert f"{THREE_MISTAKES}{where}" in line and words in line, line

    lab = lab_name("never-started")
    run = dnslab("run", str(THREE_MISTAKES), "--name", lab, "--out", str(tmp_path / "run"))
    assert run.returncode == 2 and run.stderr.strip().splitlines() == lines
    assert labelled(rt, lab) == {"containers": 0, "networks": 0, "volumes": 0}
    assert not (tmp_path / "run").exists()


def test_a_bad_set_path_is_one_line_naming_the_option():
    result = dnslab("validate", str(PLAYBOOK), "--set", "probes.rat.x=3")
    assert result.returncode == 2
    assert result.stderr.strip() == ("Error: --set probes.rat.x=3: probes has no 'rat' (did you mean \"rate\"?); "
                                     "it has: names, types, rate, timeout")


def test_ctrl_c_rolls_every_fault_back_and_reports_an_interrupted_run(default_lab, rt, tmp_path):
    run_dir = tmp_path / "run"
    process = start_run(PLAYBOOK, default_lab["lab"], run_dir, "--set", "steps.4.wait=60s")
    try:
        deadline = time.monotonic() + 60
        events = run_dir / "events.jsonl"
        while time.monotonic() < deadline:  # interrupt while both faults are in force
            if events.exists() and sum(e["event"] == "fault_injected" for e in read_jsonl(events)) == 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the faults were never injected")
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, process.stderr.read()[-3000:]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "interrupted" and report["probes"]["total"] > 0
    assert all(fault["end"] is not None for fault in report["faults"]) and len(report["faults"]) == 2
    assert_every_probe_recorded(run_dir)
    assert_lab_clean(rt, default_lab)


def test_a_run_says_which_faults_it_found_in_place_and_its_rollback_clears_them(default_lab, rt,
                                                                                 tmp_path):
    lab = default_lab["lab"]
    added = dnslab("fault", "add", "block-port", "sec-knot", "proto=tcp", "--name", lab)
    assert added.returncode == 0, added.stderr
    run_dir = tmp_path / "run"
    try:
        result = dnslab("run", str(just_wait(tmp_path, "default.yml", "1s")), "--name", lab, "--out", str(run_dir))
    finally:
        dnslab("fault", "clear", "--all", "--name", lab)
    assert result.returncode == 0, result.stderr[-3000:]
    said = " ".join((result.stdout + result.stderr).split())
    assert f"lab {lab} already has 1 fault(s) in place (block-port-" in said
    swept = [e for e in read_jsonl(run_dir / "events.jsonl") if e["event"] == "fault_cleared" and e.get("sweep")]
    assert [e["kind"] for e in swept] == ["block-port"]  # recorded as cleared by the run's sweep
    assert_lab_clean(rt, default_lab)


def test_a_node_removed_under_the_run_ends_it_with_node_lost(rt, lab_image, tmp_path):
    playbook = just_wait(tmp_path, "minimal.yml", "60s")
    lab = lab_name("node-lost")
    run_dir = tmp_path / "run"
    try:
        lifecycle.up(REPO / "compose" / "minimal.yml", lab, rt=rt)
        process = start_run(playbook, lab, run_dir)
        deadline = time.monotonic() + 30
        while not (run_dir / "probes.jsonl").exists() or not (run_dir / "probes.jsonl").read_text():
            assert time.monotonic() < deadline, "no probe recorded"
            time.sleep(0.2)
        started = time.monotonic()
        rt.remove(runtime.container_name(lab, "sec-nsd"))
        _, stderr = process.communicate(timeout=60)
        assert time.monotonic() - started < 20  # no hang: the 60 s wait was cut short
        assert process.returncode == 3, stderr
        assert "node sec-nsd was lost" in stderr
        lost = [e for e in read_jsonl(run_dir / "events.jsonl") if e["event"] == "node_lost"]
        assert lost == [{**lost[0], "node": "sec-nsd", "state": "removed"}]
        report = json.loads((run_dir / "report.json").read_text())
        assert report["verdict"] == "fail" and "sec-nsd" in report["extra"]["aborted"]["error"]
    finally:
        lifecycle.down(lab, rt=rt)
