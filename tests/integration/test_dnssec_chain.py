"""The signed lab: a chain of trust from the lab root's own key to every zone, through every resolver."""

from __future__ import annotations

import pytest

from lab import state
from lab.signing import signer
from tests.integration import faultkit

RESOLVERS = ["unbound", "bind-resolver", "knot-resolver", "pdns-recursor"]


@pytest.mark.parametrize("resolver", RESOLVERS)
@pytest.mark.parametrize("name", ["dynamodb.us-east-1.cloud.test.", "www.shop.test."])
def test_good_answers_are_validated(signed_lab, rt, resolver, name):
    """AD set: the resolver validated the answer from the lab root's key down (cloud.test. is signed online
    by its BIND primary and served by Knot and NSD secondaries; shop.test. is signed by dnslab)."""
    result = faultkit.via(rt, signed_lab, resolver, name, dnssec=True)
    assert result["rcode"] == "NOERROR" and result["answers"], result
    assert result["ad"] is True, result


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_a_denial_is_validated(signed_lab, rt, resolver):
    result = faultkit.via(rt, signed_lab, resolver, "nothing-here.shop.test.", dnssec=True)
    assert result["rcode"] == "NXDOMAIN" and result["ad"] is True, result


def test_updates_are_signed_as_they_arrive(signed_lab, rt):
    """An RFC 2136 update to the primary is signed online and validates through every resolver."""
    name = faultkit.fresh_name(rt, signed_lab)
    for resolver in RESOLVERS:
        result = faultkit.via(rt, signed_lab, resolver, name, dnssec=True)
        assert (result["rcode"], result["answers"], result["ad"]) == ("NOERROR", ["192.0.2.77"], True), result


def test_secondaries_serve_the_signed_zone(signed_lab, rt):
    for server in ("sec-knot", "sec-nsd"):
        address = next(iter(signed_lab["nodes"][server]["addresses"].values()))
        out = rt.exec(signed_lab["nodes"]["unbound"]["container"],
                              ["dig", "+norec", "+dnssec", f"@{address}", "cloud.test.", "DNSKEY"], timeout=20)
        assert "RRSIG\tDNSKEY" in out.output and "DNSKEY\t257 3 13" in out.output, out.output


def test_resolvers_trust_only_the_lab_root_key(signed_lab):
    """Every resolver's anchor is the lab root's KSK: no real root key, no RFC 5011 updater."""
    root_ksk = state.dnssec_keys(signed_lab["lab"], ["."])["."][0]
    anchor = signer.trust_anchor(root_ksk)
    nodes = state.lab_dir(signed_lab["lab"]) / "nodes"
    assert anchor["dnskey"] in (nodes / "unbound" / "unbound.conf").read_text()
    assert anchor["key"] in (nodes / "bind-resolver" / "named.conf").read_text()
    assert anchor["ds"] in (nodes / "knot-resolver" / "kresd.conf").read_text()
    assert anchor["ds"] in (nodes / "pdns-recursor" / "recursor.lua").read_text()
    for conf in nodes.glob("*/*.conf"):
        assert "auto-trust-anchor-file" not in conf.read_text() and "dnssec-validation auto" not in conf.read_text()
