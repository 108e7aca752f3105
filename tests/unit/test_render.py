"""Config rendering: every node of the shipped topologies gets a complete config (templates use
StrictUndefined, so a missing variable fails here), zones carry their delegations and glue."""

from __future__ import annotations

import json
from pathlib import Path

import dns.zone
import pytest

from lab.topology import load
from lab.topology.render import Tsig, lab_tlds, render, zone_text

REPO = Path(__file__).resolve().parents[2]
TSIG = Tsig("dnslab-update.", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=")


@pytest.fixture(scope="module")
def default():
    return load.load(REPO / "compose" / "default.yml")


@pytest.mark.parametrize("name", ["default.yml", "minimal.yml"])
def test_every_node_gets_its_config(name):
    topology = load.load(REPO / "compose" / name)
    files = render(topology, TSIG)
    expected = {"bind": "named.conf", "knot": "knot.conf", "nsd": "nsd.conf", "unbound": "unbound.conf",
                "knot-resolver": "kresd.conf", "pdns-recursor": "recursor.conf"}
    for node in topology.nodes.values():
        if node.software in expected:
            assert expected[node.software] in files[node.name], node.name
        assert "resolv.conf" in files[node.name]


def test_zones_parse_and_carry_delegations_with_glue(default):
    for zone in default.zones.values():
        parsed = dns.zone.from_text(zone_text(default, zone), origin=zone.origin, relativize=False)
        assert parsed.get_rdataset(zone.origin, "SOA") is not None
    root = dns.zone.from_text(zone_text(default, default.zones["."]), origin=".", relativize=False)
    assert {r.to_text() for r in root.get_rdataset("test.", "NS")} == {"tld.ns.test."}
    assert [r.to_text() for r in root.get_rdataset("tld.ns.test.", "A")] == ["10.53.0.3"]
    tld = dns.zone.from_text(zone_text(default, default.zones["test."]), origin="test.", relativize=False)
    assert {r.to_text() for r in tld.get_rdataset("cloud.test.", "NS")} == \
        {"sec-knot.ns.cloud.test.", "sec-nsd.ns.cloud.test."}
    service = dns.zone.from_text(zone_text(default, default.zones["cloud.test."]), origin="cloud.test.",
                                 relativize=False)
    soa = service.get_rdataset("cloud.test.", "SOA")[0]
    assert soa.minimum == 5 and service.get_rdataset("cloud.test.", "SOA").ttl == 5
    assert "primary" not in str(service.get_rdataset("cloud.test.", "NS"))  # hidden


def test_primary_takes_signed_updates_and_notifies_the_secondaries(default):
    conf = render(default, TSIG)["primary"]["named.conf"]
    assert 'allow-update { key "dnslab-update."; };' in conf
    assert "also-notify { 10.53.0.11; 10.53.0.12; };" in conf
    assert json.loads(render(default, TSIG)["primary"]["tsig.json"])["secret"] == TSIG.secret


def test_secondaries_follow_the_primary(default):
    files = render(default, TSIG)
    knot = files["sec-knot"]["knot.conf"]
    assert "address: 10.53.0.10@53" in knot and "master: primary-cloud-test" in knot
    nsd = files["sec-nsd"]["nsd.conf"]
    assert "request-xfr: 10.53.0.10 NOKEY" in nsd and "allow-notify: 10.53.0.10 NOKEY" in nsd
    assert "secret" not in knot + nsd  # only the primary and agents hold the key


def test_resolvers_know_only_the_lab_root(default):
    files = render(default, TSIG)
    hints = files["unbound"]["root.hints"]
    assert "root.ns." in hints and "10.53.0.2" in hints
    assert lab_tlds(default) == ["test."]
    assert 'local-zone: "test." nodefault' in files["unbound"]["unbound.conf"]
    assert "policy.add(policy.suffix(policy.PASS, { todname('test.') }))" in files["knot-resolver"]["kresd.conf"]
    assert "trust_anchors.remove('.')" in files["knot-resolver"]["kresd.conf"]
    assert "dnssec-validation no;" in files["bind-resolver"]["named.conf"]
    assert "dnssec=off" in files["pdns-recursor"]["recursor.conf"]
    assert "dont-query=\n" in files["pdns-recursor"]["recursor.conf"]


def test_clients_resolve_through_a_lab_resolver(default):
    assert render(default, TSIG)["client1"]["resolv.conf"] == "nameserver 10.53.1.21\n"


def test_slot_moves_rendered_addresses(default):
    files = render(default.at_slot(1), TSIG)
    assert "10.53.16.2" in files["unbound"]["root.hints"]
    assert "also-notify { 10.53.16.11; 10.53.16.12; };" in files["primary"]["named.conf"]


def test_a_dual_stack_world_derives_its_ipv6_addresses_and_publishes_aaaa_glue():
    topology = load.load(REPO / "compose" / "dual-stack.yml")
    assert str(topology.subnet6("core")) == "fd00:53:a35::/64" and str(topology.subnet6("edge")) == "fd00:53:a35:100::/64"
    unbound = topology.nodes["unbound"]
    assert {n: str(a) for n, a in topology.addresses6(unbound).items()} == {"core": "fd00:53:a35::15",
                                                                           "edge": "fd00:53:a35:100::15"}
    # Another slot moves the IPv6 subnets with the IPv4 ones: two labs never share one.
    assert str(topology.at_slot(2).subnet6("core")) == "fd00:53:a35:2000::/64"
    test_zone = dns.zone.from_text(zone_text(topology, topology.zones["test."]), origin="test.", relativize=False)
    glue = test_zone.get_rdataset("sec-knot.ns.cloud.test.", "AAAA")
    assert [r.to_text() for r in glue] == ["fd00:53:a35::b"]
    files = render(topology, TSIG)
    assert "root.ns.          3600000  AAAA fd00:53:a35::2" in files["unbound"]["root.hints"]
    assert "do-ip6: yes" in files["unbound"]["unbound.conf"] and "listen-on-v6 { any; }" in files["root"]["named.conf"]
    assert "net.ipv6 = true" in files["knot-resolver"]["kresd.conf"]
    assert "local-address=0.0.0.0, ::" in files["pdns-recursor"]["recursor.conf"]


def test_an_ipv4_only_world_stays_ipv4_only(default):
    files = render(default, TSIG)
    assert "AAAA" not in files["unbound"]["root.hints"] and "do-ip6: no" in files["unbound"]["unbound.conf"]
    assert "listen-on-v6 { none; }" in files["bind-resolver"]["named.conf"]
    assert default.addresses6(default.nodes["unbound"]) == {} and default.subnet6("core") is None


def test_bind_runs_without_minus_4_only_in_a_dual_stack_lab():
    from lab.topology.software import software_of
    bind = software_of("resolver", "bind")
    assert "-4" in bind.command_for(ipv6=False) and "-4" not in bind.command_for(ipv6=True)
