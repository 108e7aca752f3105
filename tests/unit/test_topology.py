"""Topology loading: the default files load, and every mistake is reported at once with file:line:col."""

from __future__ import annotations

import ipaddress
import textwrap
from pathlib import Path

import pytest

from lab.errors import TopologyError
from lab.topology import load

REPO = Path(__file__).resolve().parents[2]


def load_text(tmp_path: Path, text: str):
    path = tmp_path / "topo.yml"
    path.write_text(textwrap.dedent(text))
    return load.load(path)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load_text(tmp_path, text)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("name", ["default.yml", "minimal.yml", "dual-stack.yml"])
def test_shipped_topologies_load(name):
    topology = load.load(REPO / "compose" / name)
    assert "." in topology.zones and "cloud.test." in topology.zones
    assert topology.by_role("resolver") and topology.by_role("client")


def test_default_topology_has_the_documented_shape():
    t = load.load(load.DEFAULT_TOPOLOGY)
    assert {n.software for n in t.by_role("resolver")} == {"unbound", "bind", "knot-resolver", "pdns-recursor"}
    service = t.zones["cloud.test."]
    assert t.nodes[service.primary].software == "bind"
    assert sorted(t.nodes[s].software for s in service.servers) == ["knot", "nsd"]
    assert t.describe_role(t.nodes["primary"]) == "primary (hidden)"
    assert t.describe_role(t.nodes["root"]) == "root"
    assert t.describe_role(t.nodes["tld"]) == "tld"


def test_every_problem_is_reported_with_its_line(tmp_path):
    problems = problems_of(tmp_path, """\
        networks:
          core: {subnet: 10.53.0.0/24}
        nodes:
          root: {role: authoritativ, networks: {core: 10.53.0.2}}
          res:  {role: resolver, software: unbound, networks: {core: 10.54.0.9}}
          cli:  {role: client, networks: {cor: 10.53.0.100}}
        zones:
          .: {servers: [rooot]}
        """)
    text = "\n".join(problems)
    assert len(problems) == 4, text
    assert 'topo.yml:4:16: node \'root\': unknown role \'authoritativ\' (did you mean "authoritative"?)' in text
    assert "topo.yml:5:62: node 'res': 10.54.0.9 is outside network 'core' (10.53.0.0/24)" in text
    assert "topo.yml:6:35: node 'cli': unknown network 'cor' (did you mean \"core\"?)" in text
    assert "topo.yml:8:17: zone '.': unknown node 'rooot'" in text


def test_yaml_syntax_error_has_its_place(tmp_path):
    problems = problems_of(tmp_path, "networks:\n  core: {subnet: 10.53.0.0/24\nnodes: {}\n")
    assert len(problems) == 1 and problems[0].startswith(str(tmp_path / "topo.yml") + ":3:")


def test_duplicate_keys_are_refused(tmp_path):
    problems = problems_of(tmp_path, "networks: {}\nnetworks: {}\nnodes: {}\nzones: {}\n")
    assert "topo.yml:2:1: invalid YAML: duplicate key 'networks'" in problems[0]


def test_gateway_and_duplicate_addresses_and_unknown_fields(tmp_path):
    problems = problems_of(tmp_path, """\
        networks: {core: {subnet: 10.53.0.0/24}}
        nodes:
          a: {role: client, networks: {core: 10.53.0.1}}
          b: {role: client, networks: {core: 10.53.0.5}, colour: blue}
          c: {role: client, networks: {core: 10.53.0.5}}
        zones: {.: {servers: [a]}}
        """)
    text = "\n".join(problems)
    assert "reserved in 10.53.0.0/24" in text and ":3:" in text
    assert "topo.yml:4:50: unknown node 'b' field 'colour'" in text
    assert "10.53.0.5 is already the address of node 'b'" in text
    assert "unknown node 'a'" not in text  # 'a' is invalid already: no knock-on error where a zone names it


def test_primary_must_be_bind_and_hidden(tmp_path):
    problems = problems_of(tmp_path, """\
        networks: {core: {subnet: 10.53.0.0/24}}
        nodes:
          root: {role: authoritative, software: nsd, networks: {core: 10.53.0.2}}
        zones:
          .: {servers: [root]}
          test.: {servers: [root], primary: root}
        """)
    text = "\n".join(problems)
    assert "needs an authoritative server running bind" in text
    assert "must not also be a public server" in text


def test_bad_records_are_found(tmp_path):
    problems = problems_of(tmp_path, """\
        networks: {core: {subnet: 10.53.0.0/24}}
        nodes:
          root: {role: authoritative, networks: {core: 10.53.0.2}}
        zones:
          .:
            servers: [root]
            records:
              www.test: {A: [300.1.1.1], BOGUS: [x]}
        """)
    text = "\n".join(problems)
    assert "topo.yml:8:21: zone '.': www.test A value '300.1.1.1' is invalid" in text
    assert "unknown record type 'BOGUS'" in text


def test_at_slot_moves_every_subnet_and_address_by_a_slash_20():
    t = load.load(load.DEFAULT_TOPOLOGY)
    moved = t.at_slot(2)
    assert moved.networks["core"].subnet == ipaddress.IPv4Network("10.53.32.0/24")
    assert moved.nodes["unbound"].addresses == {"core": ipaddress.IPv4Address("10.53.32.21"),
                                                "edge": ipaddress.IPv4Address("10.53.33.21")}
    assert moved.at_slot(0) == t
