"""`dnslab init`: the starter it writes is a working project (a topology extending dnslab's world, the race
with the project's enactor, a pytest test, a CI workflow), in step with the bundled race, and it never
overwrites a file. (tests/integration/test_installed.py runs the written project's test on real containers.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from lab import bundle, scaffold
from lab.errors import InputError
from lab.playbook import document
from lab.topology import load as topology_load
from tests.support.cli import dnslab

RACE = bundle.PLAYBOOKS / "aws-2025-dynamodb-enactor-race.yml"


def test_the_starter_is_a_project_whose_race_is_dnslabs(tmp_path):
    project = tmp_path / "Team DNS_automation"
    written = scaffold.write(project)
    assert sorted(p.relative_to(project).as_posix() for p in written) == sorted(scaffold.LAYOUT)
    topology = topology_load.load(project / "dnslab" / "topology.yml")
    assert topology.name == "team-dns-automation" and topology.pipeline is not None
    assert {"planner", "enactor-a", "enactor-b", "enactor-c", "unbound", "pdns-recursor"} <= set(topology.nodes)
    ours, theirs = document.load(project / "dnslab" / "race.yml"), document.load(RACE)
    assert ours.topology.name == "team-dns-automation"
    # Every step, check and probe of dnslab's race, with the project's enactor in place of the built-in one.
    assert [s.text for s in ours.setup] == [s.text for s in theirs.setup]
    assert [s.text for s in ours.steps] == [s.text for s in theirs.steps]
    assert ours.checks == theirs.checks and ours.probes == theirs.probes
    written, race = (yaml.safe_load(p.read_text()) for p in (project / "dnslab" / "race.yml", RACE))
    assert written["pipeline"] == race["pipeline"]
    assert written["enactor"]["apply_pace"] == race["enactor"]["apply_pace"]
    enactor = ours.sections["enactor"]["automation"]
    assert list(enactor.command) == ["sh", "-c", "python3 automation/enactor.py"]
    assert enactor.source == str(project.resolve())
    script = project / "automation" / "enactor.py"
    assert os.access(script, os.X_OK) and script.read_text().startswith("#!/usr/bin/env python3\n# The placeholder")
    compile(script.read_text(), str(script), "exec")
    compile((project / "tests" / "test_dnslab_race.py").read_text(), "test", "exec")


def test_the_workflow_installs_dnslab_builds_the_image_and_runs_the_test_that_is_there(tmp_path):
    scaffold.write(tmp_path)
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "dnslab.yml").read_text())
    job = workflow["jobs"]["dns-automation"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert any('pip install "$DNSLAB_WHEEL" pytest' in r for r in runs)
    assert any("dnslab image" in r for r in runs)
    [tests] = [r for r in runs if r.startswith("pytest ")]
    assert (tmp_path / tests.split()[1]).is_file() and job["env"]["CI"] == "true"


def test_init_never_overwrites_and_writes_nothing_then(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_dnslab_race.py").write_text("mine\n")
    with pytest.raises(InputError, match="tests/test_dnslab_race.py already exists; dnslab init never overwrites"):
        scaffold.write(tmp_path)
    assert (tmp_path / "tests" / "test_dnslab_race.py").read_text() == "mine\n"
    assert not (tmp_path / "dnslab").exists() and not (tmp_path / "automation").exists()


def test_the_command_line_says_it_in_one_line_with_exit_2(tmp_path):
    first = dnslab("init", tmp_path / "p")
    assert first.returncode == 0 and "wrote 6 files" in first.stdout and "dnslab run dnslab/race.yml" in first.stdout
    again = dnslab("init", tmp_path / "p")
    lines = [line for line in again.stderr.splitlines() if line.strip()]
    assert again.returncode == 2 and len(lines) == 1 and lines[0].startswith("Error: ") and \
        "6" not in again.stdout, again.stderr


def test_lab_names_follow_the_rules_for_lab_names():
    for name, expected in (("My Repo", "my-repo"), ("---", "my-lab"), ("x" * 60, "x" * 40), ("dns.ops_2", "dns-ops-2")):
        assert scaffold.lab_name(Path("/tmp") / name) == expected
        assert topology_load.NODE_NAME.match(expected)
