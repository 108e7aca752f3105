"""DNSSEC fault kinds: what they refuse before touching a lab (pure)."""

from __future__ import annotations

import copy

from lab import faults
from tests.unit.test_faults_pure import DESCRIPTION

SIGNED = copy.deepcopy(DESCRIPTION)
SIGNED["dnssec"] = {"signature_validity": 3600, "static_validity": 86400}
SIGNED["nodes"]["sec-nsd"] = {"role": "authoritative", "software": "nsd", "addresses": {"core": "10.53.0.12"},
                              "container": "c-sn"}
SIGNED["zones"]["shop.test."] = {"servers": ["sec-knot", "sec-nsd"], "primary": None, "ttl": 5, "negative_ttl": 30}


def messages(kind, target, params, description=SIGNED):
    return [m for _, m in faults.param_problems(kind, target, params, description)]


def test_dnssec_faults_act_on_zones_dnslab_signs():
    assert messages("bogus-rrsig", "sec-knot", {"zone": "shop.test."}) == []
    assert messages("ksk-rollover", "sec-nsd", {"zone": "shop.test", "double_signature": True}) == []
    [online] = messages("expire-signatures", "sec-knot", {"zone": "cloud.test."})
    assert "signed online by its primary primary" in online and "shop.test." in online


def test_an_unsigned_lab_is_refused_with_what_to_do():
    [message] = messages("remove-dnskey", "sec-knot", {"zone": "test."}, DESCRIPTION)
    assert "not signed" in message and "compose/signed.yml" in message


def test_the_target_must_serve_the_zone_and_values_are_checked():
    assert "does not serve shop.test." in messages("bogus-rrsig", "tld", {"zone": "shop.test."})[0]
    assert "expires_in must be between 0 and 86400" in messages(
        "expire-signatures", "sec-knot", {"zone": "shop.test.", "expires_in": -1})[0]
    assert any("name" in m for m in messages("wrong-denial", "sec-knot", {"zone": "shop.test."}))
    assert "no zone nope.test." in messages("bogus-rrsig", "sec-knot", {"zone": "nope.test."})[0]


def test_a_rollover_needs_a_parent_dnslab_signs():
    [root] = messages("ksk-rollover", "root", {"zone": "."})
    assert "no parent" in root


def test_update_ds_targets_a_server_of_the_parent():
    assert messages("update-ds", "tld", {"zone": "shop.test."}) == []
    assert "target one of its servers (tld)" in messages("update-ds", "sec-knot", {"zone": "shop.test."})[0]
