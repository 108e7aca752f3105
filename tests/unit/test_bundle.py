"""lab.bundle: dnslab's own topologies and playbooks by name, `dnslab:NAME` in files, one place for both."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import bundle, library
from lab.errors import InputError, PlaybookError, TopologyError
from lab.playbook import document
from lab.topology import load as topology_load

REPO = Path(__file__).resolve().parents[2]


def test_the_bundle_is_the_repositorys_compose_and_playbooks_folders():
    # In a checkout lab/bundled/* link to the top-level folders: one copy of every file.
    assert bundle.COMPOSE == REPO / "compose" and bundle.PLAYBOOKS == REPO / "playbooks"
    assert (bundle.RECIPE / "packages.txt").is_file() and bundle.DEFAULT_TOPOLOGY.is_file()
    assert {"default.yml", "enactors.yml", "minimal.yml", "signed.yml"} <= set(bundle.topologies())
    assert "aws-2025-dynamodb-enactor-race" in bundle.playbooks()
    assert library.PLAYBOOKS == bundle.PLAYBOOKS and topology_load.DEFAULT_TOPOLOGY == bundle.DEFAULT_TOPOLOGY


def test_command_line_names_a_file_or_a_bundled_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    race = bundle.PLAYBOOKS / "aws-2025-dynamodb-enactor-race.yml"
    for name in ("aws-2025-dynamodb-enactor-race", "aws-2025-dynamodb-enactor-race.yml"):
        assert bundle.command_line(name, "playbook") == race
    assert bundle.command_line("minimal", "topology") == bundle.COMPOSE / "minimal.yml"
    assert bundle.command_line("dnslab:minimal.yml", "topology") == bundle.COMPOSE / "minimal.yml"
    (tmp_path / "minimal.yml").write_text("x: 1\n")  # a file of the user's wins over the bundled name
    assert bundle.command_line("minimal.yml", "topology") == Path("minimal.yml")
    assert bundle.command_line("sub/none.yml", "playbook") == Path("sub/none.yml")  # a path: the loader says
    with pytest.raises(InputError, match=r"'aws-2025-race' \(did you mean \"aws-2025-dynamodb-enactor-race\"\?\)"):
        bundle.command_line("aws-2025-race", "playbook")
    with pytest.raises(InputError, match="dnslab bundles: .*minimal"):
        bundle.command_line("nothing-like-it", "topology")


def test_a_users_topology_extends_a_bundled_one_by_its_dnslab_name(tmp_path):
    mine = tmp_path / "lab.yml"
    mine.write_text("extends: dnslab:enactors.yml\nname: mine\n"
                    "nodes:\n  enactor-a: {command: python3 enact.py}\n")
    topology = topology_load.load(mine)
    assert topology.name == "mine" and {"planner", "enactor-a", "unbound", "root"} <= set(topology.nodes)
    assert topology.pipeline is not None


def test_wrong_bundled_names_are_reported_where_they_stand(tmp_path):
    typo = tmp_path / "typo.yml"
    typo.write_text("name: typo\nextends: dnslab:enactor.yml\n")
    with pytest.raises(TopologyError, match=r'typo.yml:2:10: .*\(did you mean "dnslab:enactors.yml"\?\)'):
        topology_load.load(typo)
    local = tmp_path / "local.yml"  # a plain name is relative to the file: the error says how to mean dnslab's
    local.write_text("extends: enactors.yml\n")
    with pytest.raises(TopologyError, match="dnslab bundles one as dnslab:enactors.yml"):
        topology_load.load(local)
    playbook = tmp_path / "p.yml"
    playbook.write_text("name: p\ntopology: dnslab:minimall.yml\nsteps: [{wait: 1s}]\n"
                        "checks: [{check: never_empty}]\n")
    with pytest.raises(PlaybookError, match=r'p.yml:2:11: .*did you mean "dnslab:minimal.yml"'):
        document.load(playbook)


def test_a_playbook_names_a_bundled_topology(tmp_path):
    playbook = tmp_path / "p.yml"
    playbook.write_text("name: p\ntopology: {file: 'dnslab:minimal.yml'}\nsteps: [{wait: 1s}]\n"
                        "checks: [{check: never_empty}]\n")
    assert document.load(playbook).topology.name == "minimal"
