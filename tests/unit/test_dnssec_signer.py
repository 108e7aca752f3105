"""The offline signer and the lab's keys: what they produce validates (dnspython's validator), and each
deliberate mistake a fault makes breaks exactly what it should."""

from __future__ import annotations

import time

import dns.dnssec
import dns.name
import dns.rdatatype
import dns.zone
import pytest

from lab.signing import keys as K, signer
from lab.errors import TopologyError
from lab.topology import load
from lab.topology.render import Tsig, render

ZONE = """$ORIGIN shop.test.
@ 5 IN SOA ns.shop.test. h.shop.test. 1 3600 600 86400 5
@ 5 IN NS ns.shop.test.
ns 5 IN A 10.53.0.11
www 5 IN A 192.0.2.80
api 5 IN A 192.0.2.81
"""
KEYS = [K.generate("shop.test.", "ksk"), K.generate("shop.test.", "zsk")]
NOW = time.time()


def _validate(text: str, name: str, rdtype: str, now: float = NOW) -> None:
    zone = dns.zone.from_text(text, "shop.test.", relativize=False)
    origin = dns.name.from_text("shop.test.")
    owner = dns.name.from_text(name)
    rrset = zone.find_rrset(owner, rdtype)
    sigs = zone.find_rrset(owner, dns.rdatatype.RRSIG, rdtype)
    keys = {origin: zone.find_rrset(origin, "DNSKEY")}
    dns.dnssec.validate(rrset, sigs, keys, now=now)


def test_a_signed_zone_validates_and_carries_an_nsec_chain():
    text = signer.sign(ZONE, "shop.test.", KEYS, NOW - 60, NOW + 3600)
    for name, rdtype in (("www.shop.test.", "A"), ("shop.test.", "DNSKEY"), ("shop.test.", "SOA")):
        _validate(text, name, rdtype)
    assert "IN NSEC" in text


def test_signing_again_replaces_the_old_signatures():
    once = signer.sign(ZONE, "shop.test.", KEYS, NOW - 60, NOW + 3600)
    twice = signer.sign(once, "shop.test.", KEYS, NOW - 60, NOW + 7200)
    assert signer.expirations(twice, "shop.test.") and set(signer.expirations(twice, "shop.test.")) == {int(NOW + 7200)}


def test_signatures_past_their_validity_no_longer_validate():
    text = signer.sign(ZONE, "shop.test.", KEYS, NOW - 120, NOW - 60)
    with pytest.raises(dns.dnssec.ValidationFailure):
        _validate(text, "www.shop.test.", "A")


def test_corrupted_signatures_fail_and_others_still_validate():
    text, touched = signer.corrupt(signer.sign(ZONE, "shop.test.", KEYS, NOW - 60, NOW + 3600), "shop.test.",
                                   ["www.shop.test."])
    assert touched == ["www.shop.test."]
    with pytest.raises(dns.dnssec.ValidationFailure):
        _validate(text, "www.shop.test.", "A")
    _validate(text, "api.shop.test.", "A")


def test_unsigned_gives_back_the_data():
    signed = signer.sign(ZONE, "shop.test.", KEYS, NOW - 60, NOW + 3600)
    plain = signer.unsigned(signed, "shop.test.")
    assert "RRSIG" not in plain and "NSEC" not in plain and "DNSKEY" not in plain and "192.0.2.80" in plain


def test_bind_key_files_name_the_key_by_its_tag():
    files = K.bind_files(KEYS[0], created=0)
    assert sorted(files) == [f"Kshop.test.+013+{K.tag(KEYS[0]):05d}.key", f"Kshop.test.+013+{K.tag(KEYS[0]):05d}.private"]
    assert "DNSKEY 257 3 13" in files[next(f for f in files if f.endswith(".key"))]


def test_the_signed_topology_renders_ds_records_anchors_and_an_online_signer():
    topology = load.load("compose/signed.yml")
    keys = {z: [K.generate(z, "ksk"), K.generate(z, "zsk")] for z in topology.zones}
    files = render(topology, Tsig("k.", "hmac-sha256", "c2VjcmV0"), keys, now=NOW)
    assert f"cloud.test. IN DS {K.ds_text(keys['cloud.test.'][0])}" in files["tld"]["zones/test.zone"].replace(" 20 ", " ")
    assert "RRSIG" in files["root"]["zones/root.zone"]
    assert "RRSIG" not in files["primary"]["zones/cloud.test.zone"]  # BIND signs it online
    assert 'dnssec-policy "lab";' in files["primary"]["named.conf"]
    assert any(f.startswith("keys/Kcloud.test.") for f in files["primary"])
    assert "dnssec-validation yes;" in files["bind-resolver"]["named.conf"]
    assert "dnssec=validate" in files["pdns-recursor"]["recursor.conf"]
    assert 'module-config: "validator iterator"' in files["unbound"]["unbound.conf"]


def test_the_unsigned_topology_renders_no_validation():
    files = render(load.load("compose/default.yml"), Tsig("k.", "hmac-sha256", "c2VjcmV0"))
    assert "dnssec-validation no;" in files["bind-resolver"]["named.conf"]
    assert "dnssec=off" in files["pdns-recursor"]["recursor.conf"] and "recursor.lua" not in files["pdns-recursor"]
    assert "RRSIG" not in files["root"]["zones/root.zone"]


def test_a_bad_dnssec_section_is_reported_with_its_line(tmp_path):
    path = tmp_path / "t.yml"
    path.write_text("extends: " + str(load.DEFAULT_TOPOLOGY) + "\ndnssec:\n  signature_validity: soon\n  rollover: yes\n")
    with pytest.raises(TopologyError) as err:
        load.load(path)
    text = str(err.value)
    assert f"{path}:3:" in text and "signature_validity" in text and "rollover" in text


def test_enabled_false_is_the_unsigned_lab_and_durations_are_read(tmp_path):
    path = tmp_path / "t.yml"
    path.write_text("extends: " + str(load.DEFAULT_TOPOLOGY) + "\ndnssec: {enabled: false}\n")
    assert load.load(path).dnssec is None
    path.write_text("extends: " + str(load.DEFAULT_TOPOLOGY) + "\ndnssec: {signature_validity: 2m}\n")
    assert load.load(path).dnssec.signature_validity == 120


def test_verify_names_what_a_checking_signer_would_refuse():
    now = time.time()  # verify() judges at the current time: the module's NOW may be an hour old in a long session
    good = signer.sign(ZONE, "shop.test.", KEYS, now - 60, now + 3600)
    assert signer.verify(good, "shop.test.") == []
    bad, _ = signer.corrupt(good, "shop.test.", ["api.shop.test."])
    assert signer.verify(bad, "shop.test.") == ["api.shop.test."]
    assert signer.verify(signer.without(good, "shop.test.", "shop.test.", "DNSKEY"), "shop.test.")
