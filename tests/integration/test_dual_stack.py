"""The dual-stack world (compose/dual-stack.yml) with real servers: every resolver answers A and AAAA over
IPv4 and IPv6 transport, reaches the authoritative servers over either IP version alone, faults cut IPv6
too, and a playbook probes over both transports. One lab for the module."""

from __future__ import annotations

import json
import uuid

import pytest

from lab import lifecycle
from lab.faults import clear, inject, sidecar
from tests.integration.faultkit import CLEAN, ask, context, leftovers, unused_name, until, via
from tests.support.cli import REPO, run_playbook

RESOLVERS = ["unbound", "bind-resolver", "knot-resolver", "pdns-recursor"]
ENDPOINT = "dynamodb.us-east-1.cloud.test."
ADDRESSES = {"A": ["192.0.2.10", "192.0.2.11", "192.0.2.12"], "AAAA": ["2001:db8:10::10", "2001:db8:10::11"]}


@pytest.fixture(scope="module")
def ctx(rt, dual_stack_lab):
    return context(rt, dual_stack_lab)


@pytest.mark.parametrize("transport", [4, 6])
def test_every_resolver_answers_a_and_aaaa_over_either_transport(dual_stack_lab, rt, transport):
    for rdtype, expected in ADDRESSES.items():
        results = lifecycle.dig(dual_stack_lab["lab"], ENDPOINT, rdtype, rt=rt, transport=transport)
        assert [r["resolver"] for r in results] == RESOLVERS
        for r in results:
            assert (r["rcode"], sorted(r["answers"]), r["transport"]) == ("NOERROR", expected, transport), r


def test_every_authoritative_server_answers_at_its_ipv6_address(ctx):
    """BIND (root, primary), Knot (tld, sec-knot) and NSD (sec-nsd), asked directly over IPv6."""
    zones = {"root": ".", "tld": "test.", "primary": "cloud.test.", "sec-knot": "cloud.test.", "sec-nsd": "cloud.test."}
    for node, zone in zones.items():
        address = ctx.description["nodes"][node]["addresses6"]["core"]
        seen = ask(ctx.rt, ctx.description, "unbound", address, zone, "SOA", rd=False)
        assert seen["rcode"] == "NOERROR" and seen["answers"], (node, address, seen)


def _drop_upstream(family: str) -> str:
    """nft rules in a resolver's namespace: its queries to port 53 over one IP version go nowhere."""
    return (f"table inet dnslab_test_{family} {{\n  chain outgoing {{\n"
            f"    type filter hook output priority raw; policy accept;\n    oifname \"lo\" accept\n"
            f"    meta nfproto {family} udp dport 53 drop\n    meta nfproto {family} tcp dport 53 drop\n  }}\n}}\n")


@pytest.mark.parametrize("family, other", [("ipv4", "addresses6"), ("ipv6", "addresses")])
def test_resolvers_reach_the_authoritative_servers_over_either_ip_version_alone(ctx, family, other):
    rt, description = ctx.rt, ctx.description
    table = f"dnslab_test_{family}"
    try:
        for resolver in RESOLVERS:
            sidecar.nft(ctx, resolver, _drop_upstream(family), f"test-{family}")
        # The rule bites: the secondary is out of reach over that version, reachable over the other.
        blocked = "addresses" if family == "ipv4" else "addresses6"
        sec = description["nodes"]["sec-knot"]
        cut = ask(rt, description, "unbound", sec[blocked]["core"], "cloud.test.", "SOA", rd=False, timeout=1)
        assert cut["rcode"] is None and cut["error"], cut  # dropped on the way out: EPERM or a timeout
        assert ask(rt, description, "unbound", sec[other]["core"], "cloud.test.", "SOA", rd=False)["rcode"] == "NOERROR"
        # A name no resolver has cached: its denial can only come from cloud.test.'s servers, over the other version.
        for resolver in RESOLVERS:
            _, seen = until(lambda: via(rt, description, resolver, unused_name(), timeout=5),
                            lambda r: r["rcode"] == "NXDOMAIN", timeout=40)
            assert seen.get("soa") == "cloud.test.", (resolver, seen)
    finally:
        for resolver in RESOLVERS:
            sidecar.run_in_namespace(ctx, resolver, f"nft delete table inet {table} 2>/dev/null || true", "test")


def test_a_partition_cuts_the_ipv6_paths_too(ctx):
    rt, description = ctx.rt, ctx.description
    record = inject(ctx, "partition", "unbound", {"from": ["role:authoritative"]})
    try:
        sec = description["nodes"]["sec-knot"]
        for address in (sec["addresses"]["core"], sec["addresses6"]["core"]):
            cut = ask(rt, description, "unbound", address, "cloud.test.", "SOA", rd=False, timeout=1)
            assert cut["rcode"] is None and cut["error"], (address, cut)
        assert via(rt, description, "unbound", unused_name(), timeout=5)["rcode"] in ("SERVFAIL", None)
    finally:
        clear(ctx, record["id"])
    assert via(rt, description, "unbound", unused_name())["rcode"] == "NXDOMAIN"
    assert leftovers(ctx, ["unbound"]) == CLEAN


def test_a_spoof_answers_over_ipv6_too(ctx):
    """dnsdist's redirect is an inet table in a dual-stack lab: a query to the server's IPv6 address is spoofed."""
    rt, description = ctx.rt, ctx.description
    name = f"s{uuid.uuid4().hex[:8]}.cloud.test."
    record = inject(ctx, "spoof", "sec-knot", {"address": "192.0.2.66", "names": [name]})
    try:
        for address in (description["nodes"]["sec-knot"]["addresses"]["core"],
                        description["nodes"]["sec-knot"]["addresses6"]["core"]):
            seen = ask(rt, description, "unbound", address, name, "A", rd=False)
            assert (seen["rcode"], seen["answers"]) == ("NOERROR", ["192.0.2.66"]), (address, seen)
    finally:
        clear(ctx, record["id"])
    assert leftovers(ctx, ["sec-knot"]) == CLEAN


def test_a_playbook_probes_over_both_transports_and_each_probe_says_which(dual_stack_lab, tmp_path):
    playbook = tmp_path / "both.yml"
    playbook.write_text(f"""name: both-transports
topology: {{file: {REPO / "compose" / "dual-stack.yml"}}}
probes: {{names: [{ENDPOINT}], types: [A, AAAA], transport: [4, 6], rate: 4, clients: [client1]}}
steps:
  - wait: {{probes: ok, count: 2, every_resolver: true}}
    timeout: 30s
  - wait: 2s
checks:
  - {{name: always answered, check: never_empty}}
""")
    done, report, _ = run_playbook(playbook, dual_stack_lab["lab"], tmp_path / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    probes = [json.loads(line) for line in (tmp_path / "out" / "probes.jsonl").read_text().splitlines()]
    seen = {(p["resolver"], p["transport"], p["type"]) for p in probes}
    assert seen == {(r, t, q) for r in RESOLVERS for t in (4, 6) for q in ("A", "AAAA")}
    for p in probes:
        if p["rcode"] is not None:
            assert sorted(p["answers"]) == ADDRESSES[p["type"]], p
    assert report["verdict"] == "pass"
