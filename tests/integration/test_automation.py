"""Bring your own automation (docs/automation.md), on a real enactors lab: users' enactors plugged in through
`--set enactor.command=...` only, the example test suite through the pytest plugin, and roles that fail.

The race runs use the shipped playbook unchanged; every run in this module shares one lab (the race playbook
resets the pipeline first; the smoke playbook needs none)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import runtime
from tests.support.cli import REPO, run_playbook

RACE = REPO / "playbooks" / "aws-2025-dynamodb-enactor-race.yml"
SMOKE = REPO / "tests" / "data" / "automation-smoke.yml"
SHELL = "sh examples/automation/shell/enactor.sh"
PYTHON = "python3 examples/automation/python/enactor.py"
RESOLVERS = {"unbound", "bind-resolver", "knot-resolver", "pdns-recursor"}


def run(lab: dict, playbook: Path, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
    return run_playbook(playbook, lab["lab"], out, *extra)


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() + done.stdout.splitlines() if line.startswith("Error:")]


def agent_states(rt, lab: str) -> dict[str, str]:
    return {c.node: c.state for c in rt.containers(lab)
            if c.labels.get(runtime.ROLE) == "agent"}


def test_racy_shell_enactor_empties_the_endpoint_in_the_race(enactors_lab, tmp_path):
    done, report, events = run(enactors_lab, RACE, tmp_path / "racy", "--set", f"enactor.command={SHELL} racy")
    assert done.returncode == 1, done.stderr[-3000:]
    checks = {c["check"]: c for c in report["checks"]}
    assert not checks["never_empty"]["ok"]
    empty = {r: v["empty"] for r, v in report["probes"]["by_resolver"].items()}
    assert set(empty) == RESOLVERS and all(n > 0 for n in empty.values()), empty
    # It was the user's program that ran, and it got stuck as the us-east-1 design did.
    assert report["extra"]["roles"]["enactor-b"]["command"] == ["sh", "-c", f"{SHELL} racy"]
    assert report["extra"]["roles"]["planner"] == "built-in"
    assert {e["source"] for e in events if e["event"] == "stuck"} >= {"enactor-a"}


def test_safe_shell_enactor_passes_the_race(enactors_lab, tmp_path):
    done, report, events = run(enactors_lab, RACE, tmp_path / "safe", "--set", f"enactor.command={SHELL} safe")
    assert done.returncode == 0, done.stderr[-3000:]
    assert report["probes"]["empty_answers"] == 0
    assert all(c["ok"] for c in report["checks"]), report["checks"]
    applied = {e["source"] for e in events if e["event"] == "endpoint_applied"}
    assert applied == {"enactor-a", "enactor-b", "enactor-c"}  # they did the work, nobody else
    assert any(e["event"] == "refused" and e["reason"] == "stale" for e in events)


@pytest.mark.parametrize("variant, code", [("safe", 0), ("racy", 1)])
def test_example_user_suite_with_the_pytest_plugin(variant, code, lab_image, tmp_path):
    """examples/pytest through pytest with the plugin (entry point): its own lab, up and down by the plugin."""
    env = {**os.environ, "MY_ENACTOR": f"{PYTHON} {variant}"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/pytest",
                           "--dnslab-artifacts", str(tmp_path / "artifacts"), "-o", "addopts="],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == code, done.stdout[-4000:]
    if variant == "racy":
        assert "never go empty" in done.stdout and "FAIL" in done.stdout  # the failure says which check
        kept = list((tmp_path / "artifacts").glob("*/*/*/report.json"))
        assert kept, "the failed test's run directory is kept"
    else:
        assert "1 passed" in done.stdout
        assert not list((tmp_path / "artifacts").glob("*/*/*/report.json")), "a passed test's runs are removed"
    assert not [c for c in runtime.connect().containers(None) if "test-my-enactor" in
                c.labels.get(runtime.LAB, "")], "the plugin took its lab down"


def test_role_that_exits_at_once_is_named_with_its_exit_code(enactors_lab, rt, tmp_path):
    done, report, _ = run(enactors_lab, SMOKE, tmp_path / "gone", "--set", "enactor.command=python3 nonexistent.py")
    assert done.returncode == 3, done.stderr[-2000:]
    lines = error_lines(done)
    assert len(lines) == 1 and "enactor-a (python3 nonexistent.py) exited with code 2 at start" in lines[0], lines
    assert "can't open file" in lines[0]
    states = agent_states(rt, enactors_lab["lab"])
    assert all(states[n] == "exited" for n in ("enactor-a", "enactor-b", "enactor-c")), states
    assert not (tmp_path / "gone").exists()  # nothing started: no probers, no run directory


def test_role_printing_garbage_breaks_the_contract(enactors_lab, rt, tmp_path):
    command = "enactor.command=while :; do echo hello world; sleep 0.3; done"
    done, report, events = run(enactors_lab, SMOKE, tmp_path / "garbage", "--set", command)
    assert done.returncode == 3, done.stderr[-2000:]
    lines = error_lines(done)
    assert len(lines) == 1 and "broke the automation contract: its stdout line 1 is not JSON: 'hello world'" in \
        lines[0], lines
    assert lines[0].split(":")[1].strip().startswith("enactor-")
    assert report["verdict"] == "fail" and report["extra"]["roles_failed"]
    prober = report["extra"]["probers"]["client1"]
    assert prober["sent"] == prober["written"]  # the probers were stopped and drained, not left running
    states = agent_states(rt, enactors_lab["lab"])
    assert all(states[n] != "running" for n in ("enactor-a", "enactor-b", "enactor-c")), states  # nor the program
    assert states["planner"] == "running"  # the built-in planner is not the user's to stop


def test_role_dying_during_the_run_is_named_with_its_last_words(enactors_lab, rt, tmp_path):
    command = "enactor.command=sleep 7; echo boom >&2; exit 7"  # after the start-up check, within the 8 s wait
    done, report, events = run(enactors_lab, SMOKE, tmp_path / "dies", "--set", command)
    assert done.returncode == 3, done.stderr[-2000:]
    lines = error_lines(done)
    assert len(lines) == 1 and "exited with code 7 during the run; last output: boom" in lines[0], lines
    failed = report["extra"]["roles_failed"]
    assert len(failed) == 1 and next(iter(failed.values()))["exit_code"] == 7
    assert any(e["event"] == "role_failed" for e in events)


def test_built_in_roles_come_back_after_a_user_run(enactors_lab, rt, engine, tmp_path):
    done, report, events = run(enactors_lab, SMOKE, tmp_path / "builtin")
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(report["extra"]["roles"].values()) == {"built-in"}
    assert set(agent_states(rt, enactors_lab["lab"]).values()) == {"running"}
    container = engine.containers.get(enactors_lab["nodes"]["enactor-a"]["container"])
    assert container.attrs["Config"]["Cmd"] == ["python3", "-m", "lab.agents.enactor"]
    assert container.attrs["Config"]["WorkingDir"] in ("", "/")
