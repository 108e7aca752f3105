"""The pure parts of lab.faults: targets, parameters, durations, nft rule text, dnsdist commands, zone edits."""

from __future__ import annotations

import random

import pytest

import lab.faults as faults
from lab.faults import dnsdistcmd, nftrules, targets, zonetext
from lab import nshelper
from lab.duration import parse_duration
from lab.faults.arguments import parse_cli
from tests.support.cli import dnslab

DESCRIPTION = {
    "lab": "t",
    "image": "dnslab:x",
    "networks": {"core": "10.53.0.0/24", "edge": "10.53.1.0/24"},
    "nodes": {
        "root": {"role": "authoritative", "software": "bind", "addresses": {"core": "10.53.0.2"}, "container": "c-root"},
        "tld": {"role": "authoritative", "software": "knot", "addresses": {"core": "10.53.0.3"}, "container": "c-tld"},
        "primary": {"role": "authoritative", "software": "bind", "addresses": {"core": "10.53.0.10"}, "container": "c-p"},
        "sec-knot": {"role": "authoritative", "software": "knot", "addresses": {"core": "10.53.0.11"}, "container": "c-sk"},
        "unbound": {"role": "resolver", "software": "unbound",
                    "addresses": {"core": "10.53.0.21", "edge": "10.53.1.21"}, "container": "c-u"},
        "kresd": {"role": "resolver", "software": "knot-resolver",
                  "addresses": {"core": "10.53.0.23", "edge": "10.53.1.23"}, "container": "c-k"},
        "client1": {"role": "client", "software": "tools", "addresses": {"edge": "10.53.1.101"}, "container": "c-c"},
    },
    "zones": {
        ".": {"servers": ["root"], "primary": None, "ttl": 300, "negative_ttl": 300},
        "test.": {"servers": ["tld"], "primary": None, "ttl": 300, "negative_ttl": 300},
        "cloud.test.": {"servers": ["sec-knot"], "primary": "primary", "ttl": 5, "negative_ttl": 5},
    },
    "probe_name": "api.cloud.test.",
    "probe_type": "A",
}


def messages(kind, target, params, description=DESCRIPTION):
    return [m for _, m in faults.param_problems(kind, target, params, description)]


# ---- catalogue and validation ------------------------------------------------------------------------------


def test_catalogue_has_every_kind_of_the_contract_in_its_group():
    groups = {
        "process": {"pause", "kill", "stop", "restart"},
        "network": {"partition", "loss", "block-port", "disconnect"},
        "dns-answer": {"delay", "drop", "servfail", "refused", "nxdomain", "nodata", "truncate", "spoof"},
        "zone-data": {"empty-rrset", "ttl", "remove-glue", "lame-delegation", "serial-regression"},
        "dnssec": {"expire-signatures", "bogus-rrsig", "remove-dnskey", "ksk-rollover", "update-ds", "wrong-denial"},
        "zone": {"host-partition", "host-freeze", "host-loss"},
    }
    assert {k for ks in groups.values() for k in ks} == set(faults.FAULTS)
    for group, kinds in groups.items():
        assert all(faults.FAULTS[k].group == group for k in kinds)
    for kind in groups["dns-answer"]:
        assert {"percent", "names"} <= set(faults.FAULTS[kind].params)


def test_the_kinds_that_stop_containers_say_so():
    """A run's container watch excuses a paused or stopped node only for these (the others leave it running)."""
    assert {k for k, kind in faults.FAULTS.items() if kind.stops_containers} == {"pause", "kill", "stop", "restart",
                                                                                   "host-freeze", "host-loss"}


def test_unknown_kind_lists_the_known_ones():
    [message] = messages("frobnicate", "unbound", {})
    assert "frobnicate" in message and "pause" in message and "serial-regression" in message


@pytest.mark.parametrize("kind,target,params,expected", [
    ("loss", "unbound", {}, "percent is required"),
    ("loss", "unbound", {"percent": 150}, "between 0 and 100"),
    ("loss", "unbound", {"percent": "x"}, "must be a number"),
    ("loss", "unbound", {"percent": 5, "jitter": 1}, "unknown parameter 'jitter'"),
    ("pause", "nosuch", {}, "no node 'nosuch'"),
    ("pause", "role:printer", {}, "must be a node name"),
    ("servfail", "client1", {}, "is a client"),
    ("servfail", "role:client", {}, "needs role authoritative or resolver"),
    ("spoof", "sec-knot", {"address": "300.1.1.1"}, "IPv4 address"),
    ("block-port", "unbound", {"proto": "sctp"}, "udp, tcp or both"),
    ("partition", "unbound", {"from": ["nobody"]}, "no node 'nobody'"),
    ("partition", "unbound", {"from": ["unbound"]}, "the target 'unbound' itself"),
    ("partition", "unbound", {"from": ["tld"], "how": "icmp"}, "how must be drop or reject, not 'icmp'"),
    ("disconnect", "client1", {"network": "core"}, "not on network 'core'"),
    ("disconnect", "client1", {"network": "wan"}, "no network 'wan'"),
    ("empty-rrset", "sec-knot", {"name": "api.cloud.test", "type": "A"}, "target primary"),
    ("empty-rrset", "role:authoritative", {"name": "api.cloud.test", "type": "A"}, "acts on one node"),
    ("remove-glue", "primary", {"zone": "cloud.test."}, "parent test."),
    ("lame-delegation", "root", {"zone": "."}, "no parent zone"),
    ("serial-regression", "tld", {"zone": "test."}, "has no primary"),
    ("serial-regression", "sec-knot", {"zone": "cloud.test."}, "target primary"),
    ("delay", "sec-knot", {"ms": 10, "names": []}, "names is empty"),
])
def test_bad_faults_are_named_with_what_to_do(kind, target, params, expected):
    found = messages(kind, target, params)
    assert any(expected in m for m in found), found


@pytest.mark.parametrize("kind,target,params", [
    ("pause", "role:resolver", {}),
    ("kill", "random:role:authoritative", {}),
    ("partition", "client1", {"from": ["role:resolver", "tld"]}),
    ("partition", "client1", {"from": ["role:resolver"], "how": "reject"}),
    ("delay", "sec-knot", {"ms": 200, "percent": 50, "names": ["cloud.test."]}),
    ("empty-rrset", "primary", {"name": "api.cloud.test", "type": "A"}),
    ("remove-glue", "tld", {"zone": "cloud.test"}),
    ("serial-regression", "primary", {"zone": "cloud.test."}),
])
def test_good_faults_have_no_problems(kind, target, params):
    assert messages(kind, target, params) == []


def test_validation_without_a_lab_checks_only_what_needs_none():
    assert messages("pause", "whatever-node", {}, None) == []
    assert messages("loss", "x", {"percent": -1}, None)


def test_random_target_is_drawn_from_the_seeded_rng_and_recorded():
    picks = {targets.resolve("random:role:resolver", DESCRIPTION, random.Random(seed))[0][0] for seed in range(20)}
    assert picks == {"unbound", "kresd"}
    nodes, chosen = targets.resolve("random:role:resolver", DESCRIPTION, random.Random(7))
    assert chosen == {"node": nodes[0]}
    assert targets.resolve("random:role:resolver", DESCRIPTION, random.Random(7))[0] == nodes
    assert targets.resolve("role:resolver", DESCRIPTION, random.Random(7)) == (["unbound", "kresd"], {})


def test_partition_peers_are_every_address_of_nodes_and_groups():
    assert targets.addresses(DESCRIPTION, ["role:resolver", "tld"]) == [
        "10.53.0.21", "10.53.1.21", "10.53.0.23", "10.53.1.23", "10.53.0.3"]


def test_cli_parameters_are_typed_from_text():
    params, problems = parse_cli("partition", faults.FAULTS["partition"].params, ["from=unbound,tld"])
    assert params == {"from": ["unbound", "tld"]} and problems == []
    params, problems = parse_cli("delay", faults.FAULTS["delay"].params, ["ms=250", "percent=12.5"])
    assert params == {"ms": 250, "percent": 12.5}
    _, problems = parse_cli("delay", faults.FAULTS["delay"].params, ["ms=fast", "bogus=1", "novalue"])
    text = " ".join(m for _, m in problems)
    assert "ms must be an integer" in text and "unknown parameter 'bogus'" in text and "KEY=VALUE" in text


@pytest.mark.parametrize("text,seconds", [("10s", 10), ("500ms", 0.5), ("2m", 120), ("1m30s", 90), ("2.5", 2.5),
                                          ("1h", 3600)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ten", "10x", "-1s", "0s", "5s junk"])
def test_bad_durations_say_what_is_accepted(text):
    with pytest.raises(ValueError):
        parse_duration(text)


# ---- rule text ---------------------------------------------------------------------------------------------


def test_nft_tables_are_named_after_the_fault_and_spare_loopback():
    text = nftrules.partition("partition-3", ["10.53.0.21", "10.53.1.21"])
    assert text.startswith("table inet dnslab_partition_3 {")
    assert "ip saddr { 10.53.0.21, 10.53.1.21 } drop" in text and "ip daddr { 10.53.0.21, 10.53.1.21 } drop" in text
    assert 'iifname "lo" accept' in text and 'oifname "lo" accept' in text
    assert "priority raw" in text  # before the dnsdist redirect rewrites port 53
    # Dual-stack peers: their IPv6 addresses are cut off too, each family in its own rule.
    text = nftrules.partition("partition-4", ["10.53.0.21", "fd00:53:a35::15"])
    assert "ip saddr { 10.53.0.21 } drop" in text and "ip6 saddr { fd00:53:a35::15 } drop" in text
    assert "ip6 daddr { fd00:53:a35::15 } drop" in text


def test_nft_partition_reject_answers_unreachable_and_lets_its_own_unreachables_out():
    assert nftrules.partition("p", ["10.53.0.21"]) == nftrules.partition("p", ["10.53.0.21"], "drop")
    text = nftrules.partition("partition-5", ["10.53.0.21", "fd00:53:a35::15"], "reject")
    assert "drop" not in text
    assert text.count("ip saddr { 10.53.0.21 } reject with icmp type host-prohibited") == 1
    assert text.count("ip daddr { 10.53.0.21 } reject with icmp type host-prohibited") == 1
    assert "ip6 saddr { fd00:53:a35::15 } reject with icmpv6 type reject-route" in text
    assert "ip6 daddr { fd00:53:a35::15 } reject with icmpv6 type reject-route" in text
    # The unreachables answering the peers leave before the outgoing reject rules could swallow them.
    outgoing = text[text.index("chain outgoing"):]
    assert outgoing.index("icmp type destination-unreachable accept") < outgoing.index("reject")
    assert outgoing.index("icmpv6 type destination-unreachable accept") < outgoing.index("reject")
    assert "accept" not in text[:text.index("chain outgoing")].replace('iifname "lo" accept', "").replace(
        "policy accept", "")


def test_nft_loss_thresholds():
    assert "numgen random mod 100 < 30 drop" in nftrules.loss("loss-1", 30)
    full = nftrules.loss("loss-1", 100)
    assert "numgen" not in full and full.count("    drop") == 2
    assert "drop" not in nftrules.loss("loss-1", 0)


def test_nft_block_port_both_protocols_both_directions():
    text = nftrules.block_port("block-port-2", "both", 53)
    assert text.count("udp dport 53 drop") == 2 and text.count("tcp dport 53 drop") == 2
    assert "tcp" not in nftrules.block_port("b", "udp", 53)


def test_nft_redirect_and_sweep_touch_only_dnslab_tables():
    assert "redirect to :5300" in nftrules.redirect(5300) and nftrules.REDIRECT_TABLE.startswith(nftrules.PREFIX)
    # Dual-stack: queries over IPv6 are redirected too, and dnsdist listens there.
    assert nftrules.redirect(5300, ipv6=True).startswith(f"table inet {nftrules.REDIRECT_TABLE}")
    assert 'addLocal("[::]:5300")' in nshelper.dnsdist_config(ipv6=True) and "::" not in nshelper.dnsdist_config()
    assert "dnslab*)" in nftrules.SWEEP_SCRIPT


def test_dnsdist_rules_match_only_queries_and_carry_the_fault_id():
    commands, names = dnsdistcmd.add_commands("servfail-4", "servfail", {"percent": 100}, {})
    assert names == ["servfail-4.0"]
    assert commands == ['addAction(AndRule{OpcodeRule(DNSOpcode.Query), NotRule(QTypeRule(DNSQType.AXFR)), '
                        'NotRule(QTypeRule(DNSQType.IXFR))}, RCodeAction(DNSRCode.SERVFAIL), {name="servfail-4.0"})']
    assert dnsdistcmd.remove_commands(names) == ['rmRule("servfail-4.0")']


def test_dnsdist_percent_names_and_spoof():
    [command], _ = dnsdistcmd.add_commands("spoof-1", "spoof", {"address": "192.0.2.99", "percent": 25,
                                                                "names": ["api.cloud.test."], "ttl": 5}, {})
    assert 'makeRule({"api.cloud.test."})' in command and "ProbaRule(0.25)" in command
    assert 'QTypeRule(DNSQType.A)' in command and 'SpoofAction({"192.0.2.99"}, {aa=true, ttl=5})' in command


def test_dnsdist_negative_answers_carry_the_deepest_zone_soa_first():
    zones = {z: DESCRIPTION["zones"][z] for z in ("test.", "cloud.test.")}
    commands, names = dnsdistcmd.add_commands("nodata-1", "nodata", {"percent": 100}, zones)
    assert len(commands) == 3 and names[-1] == "nodata-1.2"
    assert 'NegativeAndSOAAction(false, "cloud.test.", 5, "sec-knot.ns.cloud.test."' in commands[0]
    assert '"test."' in commands[1]
    nxd, _ = dnsdistcmd.add_commands("nxdomain-1", "nxdomain", {}, zones)
    assert "NegativeAndSOAAction(true" in nxd[0] and "RCodeAction(DNSRCode.NXDOMAIN)" in nxd[-1]


def test_dnsdist_config_is_closed_world_and_keyless():
    config = nshelper.dnsdist_config()
    assert 'setSecurityPollSuffix("")' in config and "setKey" not in config
    assert 'newServer({address="127.0.0.1:53"})' in config


# ---- zone data ---------------------------------------------------------------------------------------------

TEST_ZONE = """$ORIGIN test.
$TTL 300
@ 300 IN SOA tld.ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS tld.ns.test.
tld.ns.test. IN A 10.53.0.3
cloud.test. IN NS sec-knot.ns.cloud.test.
sec-knot.ns.cloud.test. IN A 10.53.0.11
"""


def test_zone_edit_and_exact_restore():
    before = zonetext.parse(TEST_ZONE, "test.")
    glue = zonetext.find(before, "sec-knot.ns.cloud.test.", "A")
    assert glue == ["sec-knot.ns.cloud.test.", "A", 300, ["10.53.0.11"]]
    edited = zonetext.edit(TEST_ZONE, "test.", [["delete", glue[0], "A"]])
    assert zonetext.find(zonetext.parse(edited, "test."), glue[0], "A") is None
    restored = zonetext.edit(edited, "test.", zonetext.restore_ops([glue]))
    assert zonetext.parse(restored, "test.") == before
    lame = zonetext.edit(TEST_ZONE, "test.", [["replace", "cloud.test.", 300, "NS", ["root.ns."]]])
    assert zonetext.find(zonetext.parse(lame, "test."), "cloud.test.", "NS")[3] == ["root.ns."]


def test_zone_file_with_a_lower_serial_keeps_every_record():
    rrsets = zonetext.parse(TEST_ZONE, "test.")
    lower = zonetext.regressed(zonetext.soa_serial(rrsets, "test."), 1000)
    text = zonetext.zone_file("test.", rrsets, serial=lower)
    again = zonetext.parse(text, "test.")
    assert zonetext.soa_serial(again, "test.") == lower == 2**32 - 999
    assert [r for r in again if r[1] != "SOA"] == [r for r in rrsets if r[1] != "SOA"]


def test_serial_arithmetic_rfc1982():
    assert zonetext.serial_gt(2, 1) and not zonetext.serial_gt(1, 2)
    assert zonetext.serial_gt(1, 2**32 - 1)  # wrapped
    lower = zonetext.regressed(7, 1000)
    assert zonetext.serial_gt(7, lower)
    assert zonetext.serial_after(lower, 7) == 8
    assert zonetext.serial_after(lower + 1, 7) == 8
    assert zonetext.serial_after(20, 7) == 21


def test_names_are_absolute_and_zone_membership():
    assert zonetext.absolute("API.cloud.test") == "api.cloud.test."
    assert zonetext.in_zone("a.cloud.test.", "cloud.test.") and not zonetext.in_zone("xcloud.test.", "cloud.test.")
    assert zonetext.in_zone("cloud.test.", ".")


def test_lame_delegation_goes_to_a_server_outside_the_zone_and_its_parent():
    from lab.faults import zonedata

    assert zonedata.lame_candidates(DESCRIPTION, "cloud.test.") == ["root"]
    assert zonedata.ns_name_of(DESCRIPTION, "root") == "root.ns."
    assert zonedata.ns_name_of(DESCRIPTION, "primary") is None  # hidden: no NS name to delegate to
    assert zonedata.zone_of_name(DESCRIPTION, "primary", "api.cloud.test.") == "cloud.test."
    assert zonedata.zone_of_name(DESCRIPTION, "tld", "sec-knot.ns.cloud.test.") == "test."


def test_store_keeps_faults_across_calls_and_numbers_them(tmp_path, monkeypatch):
    from lab.faults import store

    monkeypatch.setenv("DNSLAB_HOME", str(tmp_path))
    first, second = store.new_id("t", "pause"), store.new_id("t", "loss")
    assert (first, second) == ("pause-1", "loss-2")
    store.put("t", {"id": first, "kind": "pause"})
    store.put("t", {"id": second, "kind": "loss"})
    store.put("t", {"id": first, "kind": "pause", "nodes": ["x"]})
    assert [r["id"] for r in store.active("t")] == ["loss-2", "pause-1"]
    store.remove("t", second)
    assert store.get("t", first)["nodes"] == ["x"] and store.get("t", second) is None
    assert not list(tmp_path.glob("labs/t/*.tmp"))


def test_cli_rejects_a_bad_kind_or_parameter_with_exit_2_and_the_valid_choices():
    bad_kind = dnslab("fault", "add", "melt", "unbound", timeout=60)
    assert bad_kind.returncode == 2 and "known: pause, kill" in bad_kind.stderr
    bad_param = dnslab("fault", "add", "delay", "x", "speed=3", timeout=60)
    assert bad_param.returncode == 2 and "allowed: ms, percent, names" in bad_param.stderr
    bad_for = dnslab("fault", "add", "pause", "x", "--for", "soon", timeout=60)
    assert bad_for.returncode == 2 and "--for" in bad_for.stderr


def test_the_role_status_shows_is_a_target_group_too():
    """`dnslab status` shows sec-knot's role as `secondary` (the primary as `primary (hidden)`): `role:secondary`
    and `random:role:primary` name those nodes, and a dns-answer fault may act on them (they are authoritative)."""
    functions = {"root": "root", "tld": "tld", "primary": "primary (hidden)", "sec-knot": "secondary"}
    described = DESCRIPTION | {"nodes": {name: node | ({"function": functions[name]} if name in functions else
                                                       {"function": node["role"]})
                                         for name, node in DESCRIPTION["nodes"].items()}}
    assert targets.resolve("role:secondary", described, random.Random(1)) == (["sec-knot"], {})
    assert targets.resolve("random:role:primary", described, random.Random(1))[0] == ["primary"]
    assert messages("servfail", "role:secondary", {}, described) == []
    assert messages("pause", "role:tld", {}, described) == []
    assert "needs role" in messages("empty-rrset", "random:role:client", {"name": "a", "type": "A"}, described)[0]


# ---- zone faults: a host of a lab across engines -------------------------------------------------------------


SPREAD = {**DESCRIPTION, "hosts": "/h/hosts.yml",
          "nodes": {n: {**v, "host": "az-a" if n in ("unbound", "client1") else "az-b"}
                    for n, v in DESCRIPTION["nodes"].items()}}


def test_a_zone_fault_acts_on_every_node_of_its_host():
    assert messages("host-freeze", "az-a", {}, SPREAD) == []
    from lab.faults import zone
    assert zone.on_host(SPREAD, "az-a") == ["unbound", "client1"]


@pytest.mark.parametrize("kind,target,description,expected", [
    ("host-freeze", "az-a", DESCRIPTION, "runs on one engine"),  # a lab without --hosts
    ("host-loss", "az-z", SPREAD, "no host 'az-z' in lab t; its hosts: az-a, az-b"),
    ("host-partition", "role:resolver", SPREAD, "must be a host of the lab's hosts file"),
])
def test_a_zone_fault_needs_a_host_of_a_lab_across_engines(kind, target, description, expected):
    [message] = messages(kind, target, {}, description)
    assert expected in message and ("--hosts" in message) == (description is DESCRIPTION)


def test_a_playbook_with_a_zone_fault_is_refused_before_a_lab_starts():
    from lab.faults import zone
    from lab.playbook.steps import Step

    steps = [Step(1, "sleep", "", {}, None, 10), Step(2, "fault", "", {"kind": "host-freeze", "target": "az-a"}, None, 12),
             Step(3, "fault", "", {"kind": "pause", "target": "az-q"}, None, 14)]
    [(line, message)] = zone.run_problems(steps, faults.FAULTS, None)
    assert line == 12 and "--hosts FILE" in message
    [(line, message)] = zone.run_problems(steps, faults.FAULTS, ["az-b", "az-c"])
    assert line == 12 and "'az-a' is not in the hosts file" in message
    assert zone.run_problems(steps, faults.FAULTS, ["az-a"]) == []


def test_host_partition_drops_the_overlays_udp_port_in_its_own_table():
    from lab.faults import zone
    name = zone.table("t1-az", "host-partition-1")
    assert name.startswith("dnslab_zone_t1_az_") and name.isidentifier()


def test_a_hosts_kept_helper_is_named_apart_from_every_node_and_node_helper():
    from lab import nshelper
    from lab.faults import zone
    name = zone.helper_name("t", "az-a")
    described = {"lab": "t", "nodes": {n: {"container": f"dnslab-t-{n}"} for n in ("host", "host-az-a", "az-a")}}
    taken = {v["container"] for v in described["nodes"].values()}
    taken |= {nshelper.name(described, n) for n in described["nodes"]}
    assert name.startswith("dnslab-t-") and name not in taken
    assert zone.lab_hosts(SPREAD) == ["az-a", "az-b"] and zone.lab_hosts(DESCRIPTION) == []


def test_a_hosts_sweep_deletes_its_labs_partition_tables_only(tmp_path):
    """The sweep script (run by a host's helper when swept or stopped) against a fake nft that lists tables of
    lab t1, of labs t1-b and t1-host-partition-5, and a node's own."""
    import subprocess

    from lab.faults import zone
    ours = [zone.table("t1", "host-partition-3"), zone.table("t1", "host-partition-12"), zone.table("t1", "host-loss-4")]
    others = [zone.table("t1-b", "host-partition-3"), zone.table("t1-host-partition-5", "host-partition-1"),
              zone.table("t1-b", "host-loss-4"), "dnslab_partition_1", zone.table("t1", "host-partition-") + "x"]
    fake = tmp_path / "nft"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = list ]; then printf 'table inet %s\\n' " + " ".join(ours + others)
                    + "; else echo \"$@\" >> " + str(tmp_path / "deleted") + "; fi\n")
    fake.chmod(0o755)
    done = subprocess.run(["sh", "-c", zone._sweep_script("t1")], capture_output=True, text=True,
                          env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [word for t in ours for word in ("inet", t)]
    assert (tmp_path / "deleted").read_text().split("\n")[:-1] == [f"delete table inet {t}" for t in ours]
    assert "TERM" in zone.HELPER_SCRIPT and "$DNSLAB_ON_STOP" in zone.HELPER_SCRIPT


TEST_ZONE = """$ORIGIN test.
@ 300 IN SOA tld.ns.test. hostmaster.test. 1 3600 600 86400 300
@ 300 IN NS tld.ns.test.
tld.ns.test. 300 IN A 10.53.0.3
cloud.test. 300 IN NS sec-knot.ns.cloud.test.
sec-knot.ns.cloud.test. 300 IN A 10.53.0.11
"""


def test_a_reloaded_file_is_confirmed_by_every_rrset_the_change_touched():
    from lab.faults import zonedata

    glue = [["delete", "sec-knot.ns.cloud.test.", "A"]]
    edited = zonetext.parse(zonetext.edit(TEST_ZONE, "test.", glue), "test.")
    [gone] = zonedata.served_checks(edited, glue)
    assert gone == {"server": "127.0.0.1", "name": "sec-knot.ns.cloud.test.", "type": "A", "rd": False,
                    "sections": True, "expect": []}
    lame = [["replace", "cloud.test.", 300, "NS", ["root.ns."]]]
    [ns] = zonedata.served_checks(zonetext.parse(zonetext.edit(TEST_ZONE, "test.", lame), "test."), lame)
    assert (ns["name"], ns["type"], ns["expect"]) == ("cloud.test.", "NS", ["300 root.ns."])
    # The undo puts the glue back: its TTL counts too (a ttl fault changes nothing else).
    back = zonetext.restore_ops([["sec-knot.ns.cloud.test.", "A", 300, ["10.53.0.11"]]])
    assert zonedata.served_checks(zonetext.parse(TEST_ZONE, "test."), back)[0]["expect"] == ["300 10.53.0.11"]
    assert zonedata.served_checks(edited, [["delete", "cloud.test."]]) == []  # a whole name: nothing typed to ask


def test_ask_counts_records_of_the_asked_rrset_in_any_section():
    import dns.message

    from lab.agents import ask

    referral = dns.message.from_text("""id 1
opcode QUERY
rcode NOERROR
flags QR
;QUESTION
sec-knot.ns.cloud.test. IN A
;AUTHORITY
cloud.test. 300 IN NS sec-knot.ns.cloud.test.
;ADDITIONAL
sec-knot.ns.cloud.test. 300 IN A 10.53.0.11
""")
    result = {"rcode": "NOERROR", "answers": [], "records": ask.section_records(referral, "A")}
    assert result["records"] == ["300 10.53.0.11"]
    assert ask._done(result, "records", {"expect": ["300 10.53.0.11"]})
    assert not ask._done(result, "records", {"expect": []})
    assert not ask._done({**result, "rcode": None, "records": []}, "records", {"expect": []})  # a timeout is no answer
