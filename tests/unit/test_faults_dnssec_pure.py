"""DNSSEC fault kinds: what they refuse before touching a lab (pure)."""

from __future__ import annotations

import copy
import time

from lab import faults
from lab.faults import zonetext
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


SHOP = """$ORIGIN shop.test.
@ 5 IN SOA sec-knot.ns.cloud.test. hostmaster.shop.test. 1 3600 600 86400 30
@ 5 IN NS sec-knot.ns.cloud.test.
www 5 IN A 192.0.2.80
api 5 IN A 192.0.2.81
"""


def _signed(text=SHOP, keys=None, expiration=None):
    from lab.signing import keys as K, signer

    keys = keys or [K.generate("shop.test.", "ksk"), K.generate("shop.test.", "zsk")]
    now = time.time()
    return signer.sign(text, "shop.test.", keys, now - 3600, expiration or now + 86400), keys


def test_a_published_signed_zone_is_confirmed_by_every_rrset_that_changed_signatures_included():
    from lab.faults import zonedata
    from lab.signing import signer

    good, keys = _signed()
    # Re-signed (an expiring validity): every RRSIG set differs, no record does; each asked with DNSSEC OK.
    expired, _ = _signed(keys=keys, expiration=time.time() + 60)
    checks = zonedata.signed_checks(good, expired, "shop.test.")
    assert {(c["name"], c["type"]) for c in checks} == {
        ("shop.test.", t) for t in ("SOA", "NS", "DNSKEY", "NSEC")} | {
        (n, t) for n in ("www.shop.test.", "api.shop.test.") for t in ("A", "NSEC")}
    www = next(c for c in checks if (c["name"], c["type"]) == ("www.shop.test.", "A"))
    assert (www["server"], www["rd"], www["do"], www["sections"]) == ("127.0.0.1", False, True, True)
    assert www["expect"][0] == "5 192.0.2.80" and www["expect"][1].startswith("5 RRSIG A 13 3 5 ")
    # One bad signature: that RRSIG set only. No DNSKEY: the RRset and its signature, expected gone.
    bogus, _ = signer.corrupt(good, "shop.test.", ["www.shop.test."])
    assert [(c["name"], c["type"]) for c in zonedata.signed_checks(good, bogus, "shop.test.")] == [
        ("www.shop.test.", "A")]
    [dnskey] = zonedata.signed_checks(good, signer.without(good, "shop.test.", "shop.test.", "DNSKEY"), "shop.test.")
    assert (dnskey["name"], dnskey["type"], dnskey["expect"]) == ("shop.test.", "DNSKEY", [])
    # Undo: the other way round, the original's records expected.
    [back] = zonedata.signed_checks(bogus, good, "shop.test.")
    assert back["expect"] == zonetext.signed_rrsets(good, "shop.test.")[("www.shop.test.", "A")]
    assert zonedata.signed_checks(good, "; a comment only differs\n" + good, "shop.test.") == []


def test_a_parents_new_ds_is_confirmed_by_the_ds_not_by_the_nsec_a_server_refers_for():
    from lab.faults import zonedata
    from lab.signing import keys as K, signer

    parent = """$ORIGIN test.
@ 20 IN SOA tld.ns.test. hostmaster.test. 1 3600 600 86400 20
@ 20 IN NS tld.ns.test.
tld.ns.test. 20 IN A 10.53.0.3
shop.test. 20 IN NS sec-knot.ns.shop.test.
shop.test. 20 IN DS 1 13 2 {digest}
sec-knot.ns.shop.test. 20 IN A 10.53.0.11
"""
    keys = [K.generate("test.", "ksk"), K.generate("test.", "zsk")]
    now = time.time()
    old, new = (signer.sign(parent.format(digest=d * 64), "test.", keys, now - 60, now + 3600) for d in "ab")
    checks = {(c["name"], c["type"]): c["expect"] for c in zonedata.signed_checks(old, new, "test.")}
    assert checks[("shop.test.", "DS")][0] == "20 1 13 2 " + "b" * 64 and " RRSIG DS " in checks[("shop.test.", "DS")][1]
    assert list(checks) == [("shop.test.", "DS")]  # same validity: nothing else was signed differently
    # Later: every signature differs too, but the delegation's NSEC (the parent's, though asked for it a server
    # refers to the child) is not asked, nor its NS or glue (unsigned, unchanged).
    later = signer.sign(parent.format(digest="b" * 64), "test.", keys, now, now + 3600)
    checks = {(c["name"], c["type"]) for c in zonedata.signed_checks(old, later, "test.")}
    assert {("shop.test.", "DS"), ("test.", "SOA"), ("test.", "NSEC"), ("tld.ns.test.", "A")} <= checks
    assert not {("shop.test.", "NSEC"), ("shop.test.", "NS"), ("sec-knot.ns.shop.test.", "A")} & checks


def test_ask_counts_the_signatures_over_the_asked_rrset_when_it_asks_with_dnssec_ok():
    import dns.message

    from lab.agents import ask

    good, _ = _signed()
    expected = zonetext.signed_rrsets(good, "shop.test.")[("www.shop.test.", "A")]
    rrsig = next(e for e in expected if " RRSIG " in e).split(" ", 1)[1]
    nsec = zonetext.signed_rrsets(good, "shop.test.")[("www.shop.test.", "NSEC")]
    answer = dns.message.from_text(f"""id 1
opcode QUERY
rcode NOERROR
flags QR AA
;QUESTION
www.shop.test. IN A
;ANSWER
www.shop.test. 5 IN A 192.0.2.80
www.shop.test. 5 IN {rrsig}
;AUTHORITY
www.shop.test. 30 IN {nsec[0].split(" ", 1)[1]}
""")
    assert sorted(ask.section_records(answer, "A", signatures=True)) == expected
    assert ask.section_records(answer, "A") == ["5 192.0.2.80"]  # no signatures asked for, none counted


def test_ask_in_order_asks_one_question_a_round_until_the_first_is_answered(monkeypatch):
    from lab.agents import ask

    served = {"n": 0}
    asked = []

    def fake(server, name, *args):
        asked.append(name)
        if name == "a.":
            served["n"] += 1
        ready = served["n"] >= 3
        return {"rcode": "NOERROR", "records": ["new"] if ready else ["old"]}
    monkeypatch.setattr(ask, "ask", fake)
    queries = [{"server": "127.0.0.1", "name": n, "expect": ["new"]} for n in ("a.", "b.", "c.")]
    results = ask.run({"queries": queries, "until": "records", "deadline": 5, "every": 0, "in_order": True})
    assert asked == ["a.", "a.", "a.", "b.", "c."] and all(r["records"] == ["new"] for r in results)
    # Past the deadline every query is asked (and answered as it was), none left out.
    served["n"], asked[:] = -100, []
    results = ask.run({"queries": queries, "until": "records", "deadline": 0.05, "every": 0.01, "in_order": True})
    assert asked[-2:] == ["b.", "c."] and len(results) == 3 and all(r["records"] == ["old"] for r in results)
