"""The automation contract's pure parts (lab.automation): plug-ins from topologies and playbooks, the role
environment, and which stdout lines are events."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from lab import automation, nodespec
from lab.automation import Automation
from lab.errors import PlaybookError, TopologyError
from lab.playbook import pipeline as pipeline_playbook, document
from lab.topology import load

REPO = Path(__file__).resolve().parents[2]
RACE = REPO / "playbooks" / "aws-2025-dynamodb-enactor-race.yml"


@pytest.mark.parametrize("line", [
    '{"event": "endpoint_applied", "generation": 3, "endpoint": "x.cloud.test.", "index": 1}',
    '{"t": 1795750000.5, "event": "my_own_event", "anything": [1, 2]}',
    '{"event": "stuck", "reason": "plan gone"}',
    "",
])
def test_events_of_the_contract(line):
    assert automation.event_problem(line) is None


@pytest.mark.parametrize("line, problem", [
    ("hello world", "is not JSON"),
    ("[1, 2]", "is JSON but not an object"),
    ('{"generation": 3}', 'has no "event" name'),
    ('{"event": "x", "t": "now"}', 'has a "t" that is no Unix time'),
    ('{"event": "endpoint_applied", "generation": "x", "endpoint": "e", "index": 1}',
     'is a endpoint_applied event whose "generation" is str, not an integer'),
    ('{"event": "endpoint_applied", "generation": 3, "endpoint": "e"}', 'is a endpoint_applied event without "index"'),
    ('{"event": "refused", "endpoint": "e", "reason": true}', 'whose "reason" is bool'),
])
def test_lines_that_break_the_contract(line, problem):
    assert problem in automation.event_problem(line)


def test_a_playbook_plugs_in_a_command_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    playbook = document.load(RACE, ['enactor.command="python3 my_enactor.py --az a"', "planner.image=my-planner:1"])
    found = pipeline_playbook.plugins(playbook)
    assert found["enactor"] == Automation(command=("sh", "-c", "python3 my_enactor.py --az a"), source=str(tmp_path))
    assert found["planner"] == Automation(image="my-planner:1")
    # The settings the agents get leave the plug-in keys out.
    assert set(playbook.sections["enactor"]["settings"]) == {
        "strategy", "apply_pace", "max_removal"}


def test_playbook_plug_in_mistakes_are_located(tmp_path):
    with pytest.raises(PlaybookError) as info:
        document.load(RACE, ["enactor.command=[]", "enactor.source=no/such/dir", "planner.cleanup=x"])
    text = str(info.value)
    assert "enactor:`: command must be a non-empty string" in text
    assert "source 'no/such/dir' is not a directory" in text
    assert "unknown planner setting 'cleanup'" in text


def test_a_topology_node_plugs_in_its_own_program(tmp_path):
    (tmp_path / "automation").mkdir()
    (tmp_path / "automation" / "enact").write_text("#!/bin/sh\n")
    (tmp_path / "automation" / "enact").chmod(0o755)
    (tmp_path / "automation" / ".git").mkdir()  # a repository's history is no part of the copy
    (tmp_path / "automation" / ".git" / "HEAD").write_text("ref: x\n")
    path = tmp_path / "mine.yml"
    path.write_text(textwrap.dedent(f"""\
        extends: {REPO / 'compose' / 'enactors.yml'}
        name: mine
        nodes:
          enactor-a: {{role: agent, software: enactor, networks: {{core: 10.53.0.31}}, command: [./enact, a],
                      source: automation, cleanup: ./clean}}
        """))
    topology = load.load(path)
    plugin = topology.nodes["enactor-a"].automation
    assert plugin == Automation(command=("./enact", "a"), source=str(tmp_path / "automation"),
                                cleanup=("sh", "-c", "./clean"))
    assert topology.nodes["enactor-b"].automation.builtin
    spec = nodespec.agent_spec("t", topology, "enactor-a", "dnslab:x", {}, plugin)
    assert spec.command == ["./enact", "a"] and spec.working_dir == "/automation"
    assert spec.files["/automation/enact"].content == b"#!/bin/sh\n" and spec.files["/automation/enact"].mode == 0o755
    assert not any(path.startswith("/automation/.git") for path in spec.files)
    assert json.loads(spec.environment["DNSLAB_CLEANUP_COMMAND"]) == ["sh", "-c", "./clean"]
    assert spec.environment["DNSLAB_PRIMARY"] == "10.53.0.10" and spec.environment["DNSLAB_NODE"] == "enactor-a"
    builtin = nodespec.agent_spec("t", topology, "enactor-b", "dnslab:x", {}, Automation())
    assert builtin.command == ["python3", "-m", "lab.agents.enactor"] and builtin.working_dir is None
    assert builtin.environment["DNSLAB_TSIG_KEYFILE"] == "/lab/node/tsig.key"
    assert spec.labels["dnslab.automation"] != builtin.labels["dnslab.automation"]


def test_only_agents_take_a_command(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(textwrap.dedent(f"""\
        extends: {REPO / 'compose' / 'enactors.yml'}
        nodes:
          unbound: {{role: resolver, software: unbound, networks: {{core: 10.53.0.21}}, command: x}}
          planner: {{role: agent, software: planner, networks: {{core: 10.53.0.30}}, cleanup: x}}
        """))
    with pytest.raises(TopologyError) as info:
        load.load(path)
    text = str(info.value)
    assert "bad.yml:3:" in text and "only pipeline agents (planner, enactor) take command" in text
    assert "bad.yml:4:" in text and "a planner takes no cleanup" in text


def test_a_playbooks_plug_in_goes_over_the_topologys():
    topology = Automation(command=("a",), source="/src", cleanup=("c",))
    assert Automation(command=("b",)).over(topology) == Automation(command=("b",), source="/src", cleanup=("c",))
    assert Automation().over(topology) == topology


def test_the_tsig_keyfile_is_what_nsupdate_reads():
    text = automation.tsig_keyfile("dnslab-update.", "hmac-sha256", "c2VjcmV0")
    assert text == 'key "dnslab-update." {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0";\n};\n'
