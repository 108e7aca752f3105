"""The pytest plugin's pure parts: results a user asserts on, and finding dnslab's own files by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lab import pytest_plugin
from lab.pytest_plugin import PlaybookResult

REPO = Path(__file__).resolve().parents[2]
REPORT = {"playbook": "race", "verdict": "fail", "checks": [
    {"name": "the endpoints never go empty", "check": "never_empty", "ok": False, "detail": "12 of 40 empty"},
    {"name": "no regression", "check": "no_regression", "ok": True, "detail": "none"}]}


def test_checks_by_name_or_kind_and_a_summary_that_says_why():
    result = PlaybookResult(1, REPORT, Path("/runs/1"), "")
    assert not result.check("never_empty")["ok"] and result.check("no regression")["ok"]
    with pytest.raises(KeyError, match="checks: the endpoints never go empty, no regression"):
        result.check("availability")
    with pytest.raises(AssertionError, match="FAIL the endpoints never go empty: 12 of 40 empty"):
        result.assert_passed()
    result.assert_failed(check="never_empty")
    with pytest.raises(AssertionError):
        result.assert_failed(check="no_regression")


def test_an_aborted_run_says_its_error_line():
    result = PlaybookResult(3, {"extra": {"aborted": {"error": "enactor-a (x) exited with code 2 at start"}}},
                            Path("/runs/2"), "")
    assert "aborted: enactor-a (x) exited with code 2 at start" in result.summary()
    crashed = PlaybookResult(3, {}, Path("/runs/3"), "lab dev: checking it is up\nError: enactor-a: image nope not found")
    assert crashed.summary().endswith("Error: enactor-a: image nope not found")


def test_names_are_found_in_dnslabs_own_directories(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pytest_plugin.find("enactors.yml", "topology") == REPO / "compose" / "enactors.yml"
    assert pytest_plugin.find("dnslab:enactors.yml", "topology") == REPO / "compose" / "enactors.yml"
    assert pytest_plugin.find("aws-2025-dynamodb-enactor-race.yml", "playbook") == \
        REPO / "playbooks" / "aws-2025-dynamodb-enactor-race.yml"
    (tmp_path / "mine.yml").write_text("x: 1")
    assert pytest_plugin.find("mine.yml", "playbook") == tmp_path / "mine.yml"
    with pytest.raises(pytest.UsageError, match="nor a playbook dnslab bundles: 'nope.yml'"):
        pytest_plugin.find("nope.yml", "playbook")


def test_the_example_ci_workflow_builds_the_image_and_runs_pytest():
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["race-our-enactor"]["steps"]
    commands = " ".join(step.get("run", "") for step in steps)
    assert "dnslab image" in commands and "pytest" in commands
    assert any(step.get("env", {}).get("CI") == "true" for step in steps)


def test_a_passing_test_leaves_no_empty_artifacts_directory(tmp_path):
    root = tmp_path / ".dnslab-artifacts"
    (root / "pt1-lab" / "test_a").mkdir(parents=True)
    (root / "pt2-lab").mkdir()
    (root / "pt1-lab" / "test_a").rmdir()  # what the fixture removed: the passing test's runs
    pytest_plugin.remove_empty(root / "pt1-lab", root)
    assert not (root / "pt1-lab").exists() and root.exists()  # another lab's folder is still there
    pytest_plugin.remove_empty(root / "pt2-lab", root)
    assert not root.exists() and tmp_path.exists()
    (root / "pt3-lab" / "test_b").mkdir(parents=True)  # a failed test's runs stay
    pytest_plugin.remove_empty(root / "pt3-lab", root)
    assert (root / "pt3-lab" / "test_b").exists()
