"""`extends:` (a topology built on another file) and the `pipeline:` section: loading, merging and
problems that point at the right file:line:col in either file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from lab.errors import TopologyError
from lab.topology import load
from lab.topology.render import Tsig, render

REPO = Path(__file__).resolve().parents[2]
TSIG = Tsig("k.", "hmac-sha256", "c2VjcmV0")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load.load(path)
    return [str(p) for p in info.value.problems]


def test_enactors_topology_is_the_default_world_plus_the_pipeline():
    default = load.load(REPO / "compose" / "default.yml")
    enactors = load.load(REPO / "compose" / "enactors.yml")
    assert enactors.name == "enactors"
    assert set(enactors.nodes) == set(default.nodes) | {"planner", "enactor-a", "enactor-b", "enactor-c"}
    assert enactors.zones == default.zones and enactors.networks == default.networks
    pipeline = enactors.pipeline
    assert pipeline.zone == "cloud.test." and pipeline.settings["strategy"] == "naive"
    endpoints = pipeline.regions["us-east-1"].endpoints
    assert "dynamodb.us-east-1.cloud.test." in endpoints and len(endpoints) == 4
    assert default.pipeline is None


def test_agents_get_their_pipeline_config_and_the_key(tmp_path):
    topology = load.load(REPO / "compose" / "enactors.yml")
    files = render(topology, TSIG)
    config = json.loads(files["enactor-b"]["pipeline.json"])
    assert config["node"] == "enactor-b" and config["primary"] == "10.53.0.10"
    assert config["agents"] == ["planner", "enactor-a", "enactor-b", "enactor-c"]
    assert config["enactors"] == ["enactor-a", "enactor-b", "enactor-c"]  # their order staggers their start
    assert config["settings"]["keep"] == 3
    assert "tsig.json" in files["planner"] and "pipeline.json" not in files["client1"]


def test_extends_merges_mappings_and_the_child_names_itself(tmp_path):
    write(tmp_path, "base.yml", """\
        name: base
        networks: {core: {subnet: 10.53.0.0/24}}
        nodes:
          root: {role: authoritative, networks: {core: 10.53.0.2}}
        zones:
          .: {servers: [root], ttl: 60}
        """)
    child = write(tmp_path, "child.yml", """\
        extends: base.yml
        nodes:
          res: {role: resolver, networks: {core: 10.53.0.21}}
        zones:
          .: {ttl: 5}
        """)
    topology = load.load(child)
    assert topology.name == "child"
    assert set(topology.nodes) == {"root", "res"}
    assert topology.zones["."].ttl == 5 and topology.zones["."].servers == ("root",)


def test_problems_point_into_the_file_they_are_in(tmp_path):
    write(tmp_path, "base.yml", """\
        networks: {core: {subnet: 10.53.0.0/24}}
        nodes:
          root: {role: authoritative, networks: {core: 10.53.0.2}}
          bad:  {role: resolvr, networks: {core: 10.53.0.3}}
        zones:
          .: {servers: [root]}
        """)
    child = write(tmp_path, "child.yml", """\
        extends: base.yml
        nodes:
          cli: {role: client, networks: {core: 10.53.0.2}}
        """)
    problems = problems_of(child)
    text = "\n".join(problems)
    assert len(problems) == 2, text
    assert f"{tmp_path / 'base.yml'}:4:16: node 'bad': unknown role 'resolvr'" in text
    assert f"{tmp_path / 'child.yml'}:3:40: node 'cli': 10.53.0.2 is already the address of node 'root'" in text


def test_extends_of_a_missing_file_or_itself(tmp_path):
    missing = write(tmp_path, "a.yml", "extends: nowhere.yml\n")
    assert problems_of(missing) == [f"{missing}:1:10: extends 'nowhere.yml': cannot read file: No such file or "
                                    f"directory (paths are relative to a.yml)"]
    looped = write(tmp_path, "b.yml", "extends: b.yml\n")
    assert "forms a cycle" in problems_of(looped)[0]


def test_pipeline_problems_are_located(tmp_path):
    path = write(tmp_path, "p.yml", """\
        extends: %s
        pipeline:
          zone: nowhere.test.
          strategy: careful
          keep: 0
          intervall: 2
          regions:
            r1: {endpoints: [x.cloud.test., "bad..name"], addresses: [192.0.2.1, not-an-ip]}
        """ % (REPO / "compose" / "enactors.yml"))
    text = "\n".join(problems_of(path))
    assert "p.yml:3:9: pipeline zone 'nowhere.test.' must be a zone of this topology with a primary" in text
    assert "p.yml:4:13: pipeline: enactor.strategy must be one of naive, guarded, not 'careful'" in text
    assert "p.yml:5:9: pipeline: pipeline.keep must be between 1 and 1000, not 0" in text
    assert "p.yml:6:3: unknown pipeline field 'intervall' (did you mean \"interval\"?)" in text
    assert "p.yml:8:74: pipeline region 'r1': 'not-an-ip' is not an IPv4 or IPv6 address" in text
    assert "is not a valid DNS name" in text


def test_agents_without_a_pipeline_are_refused(tmp_path):
    path = write(tmp_path, "q.yml", """\
        extends: %s
        nodes:
          planner: {role: agent, software: planner, networks: {core: 10.53.0.30}}
        """ % (REPO / "compose" / "default.yml"))
    assert "need a `pipeline:` section" in problems_of(path)[0]
