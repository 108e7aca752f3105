"""Network faults seen by a client (nftables in the target's namespace, Docker disconnect), the clean undo,
the sweep after a lost fault store, and the CLI."""

from __future__ import annotations

import json
import os


from lab import faults
from lab.faults import clear, clear_all, inject, store
from tests.integration.faultkit import CLEAN, direct, inject_and_observe, leftovers, unused_name, until, via
from tests.support.cli import dnslab

TIMEOUT = lambda r: r["error"] == "timeout"  # noqa: E731


def test_partition_cuts_one_resolver_off_the_authoritative_servers(ctx):
    rt, description = ctx.rt, ctx.description
    record, seen = inject_and_observe(
        ctx, "partition", "unbound", {"from": ["role:authoritative"]},
        lambda: via(rt, description, "unbound", unused_name()), lambda r: r["rcode"] in ("SERVFAIL", None))
    try:
        # Only that resolver: the others still reach the servers, and clients still reach it.
        assert via(rt, description, "bind-resolver", unused_name())["rcode"] == "NXDOMAIN"
    finally:
        clear(ctx, record["id"])
    assert via(rt, description, "unbound", unused_name())["rcode"] == "NXDOMAIN"
    assert leftovers(ctx, ["unbound"]) == CLEAN


def test_partition_reject_fails_at_once_where_drop_leaves_senders_waiting(ctx):
    rt, description = ctx.rt, ctx.description
    # The target's kernel answers a peer's packet with an ICMP unreachable: a TCP connect from the peer
    # fails at once with "No route to host" instead of waiting out its timeout.
    record = inject(ctx, "partition", "sec-knot", {"from": ["unbound"], "how": "reject"})
    try:
        seen = direct(rt, description, "sec-knot", "api.cloud.test.", tcp=True)
        assert "No route to host" in (seen["error"] or ""), seen
    finally:
        clear(ctx, record["id"])
    # A resolver whose own packets to every server are rejected answers SERVFAIL at once: what turns clients'
    # immediate retries into a storm (playbooks/facebook-2021-auth-unreachable.yml).
    record = inject(ctx, "partition", "unbound", {"from": ["role:authoritative"], "how": "reject"})
    try:
        seen = via(rt, description, "unbound", unused_name())
        assert seen["rcode"] == "SERVFAIL" and seen["latency_ms"] < 1500, seen
    finally:
        clear(ctx, record["id"])
    until(lambda: via(rt, description, "unbound", unused_name()), lambda r: r["rcode"] == "NXDOMAIN")
    assert leftovers(ctx, ["sec-knot", "unbound"]) == CLEAN


def test_loss_100_is_a_partition(ctx):
    rt, description = ctx.rt, ctx.description
    record, _ = inject_and_observe(ctx, "loss", "knot-resolver", {"percent": 100},
                                   lambda: via(rt, description, "knot-resolver", "api.cloud.test.", timeout=1),
                                   TIMEOUT)
    clear(ctx, record["id"])
    assert via(rt, description, "knot-resolver", "api.cloud.test.")["answers"] == ["198.51.100.1"]
    assert leftovers(ctx, ["knot-resolver"]) == CLEAN


def test_block_udp_port_53_leaves_tcp_working(ctx):
    rt, description = ctx.rt, ctx.description
    record, _ = inject_and_observe(ctx, "block-port", "sec-knot", {"proto": "udp"},
                                   lambda: direct(rt, description, "sec-knot", "api.cloud.test."), TIMEOUT)
    try:
        over_tcp = direct(rt, description, "sec-knot", "api.cloud.test.", tcp=True)
        assert over_tcp["aa"] and over_tcp["answers"] == ["198.51.100.1"]
    finally:
        clear(ctx, record["id"])
    assert direct(rt, description, "sec-knot", "api.cloud.test.")["answers"] == ["198.51.100.1"]
    assert leftovers(ctx, ["sec-knot"]) == CLEAN


def test_disconnect_and_reconnect_with_the_same_address(ctx):
    rt, description = ctx.rt, ctx.description
    record, _ = inject_and_observe(ctx, "disconnect", "pdns-recursor", {"network": "edge"},
                                   lambda: via(rt, description, "pdns-recursor", "api.cloud.test.", timeout=1),
                                   TIMEOUT)
    assert record["disconnected"] == {"pdns-recursor": description["nodes"]["pdns-recursor"]["addresses"]["edge"]}
    clear(ctx, record["id"])
    assert via(rt, description, "pdns-recursor", "api.cloud.test.")["answers"] == ["198.51.100.1"]


def test_clear_all_sweeps_leftovers_when_the_fault_store_is_lost(ctx):
    rt, description = ctx.rt, ctx.description
    inject(ctx, "pause", "sec-nsd", {})
    inject(ctx, "loss", "unbound", {"percent": 100})
    record = inject(ctx, "servfail", "sec-knot", {})
    inject(ctx, "disconnect", "client2", {"network": "edge"})
    store.path(ctx.lab).unlink()  # an orchestrator killed with its records gone
    assert store.active(ctx.lab) == []
    [sweep] = clear_all(ctx)
    swept = sweep["swept"]
    assert swept["resumed"] == ["sec-nsd"] and swept["reconnected"] == ["client2/edge"]
    assert "unbound:dnslab_loss_" in " ".join(swept["nft_tables"]) and "sec-knot:dnslab_dnsdist" in swept["nft_tables"]
    assert swept["sidecars"] == [] and swept["dnsdist_rules"] == [f"sec-knot:{record['id']}.0"]
    assert leftovers(ctx) == CLEAN
    assert via(rt, description, "unbound", unused_name())["rcode"] == "NXDOMAIN"
    assert clear_all(ctx) == []  # nothing left the second time


def test_cli_fault_for_a_duration_returns_at_once_and_clears_itself_in_the_background(ctx):
    """`--for` does not hold the shell: two timed faults overlap by hand, both are listed with their end, and
    both clear themselves (a detached `fault clear --when-due`); `--wait` still stays until the clear."""
    env = {**os.environ}
    first = dnslab("fault", "add", "servfail", "sec-knot", "--name", ctx.lab, "--for", "20s", env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "clears itself at" in first.stdout and "cleared" not in first.stdout.replace("clears itself", "")
    second = dnslab("fault", "add", "loss", "client1", "percent=30", "--name", ctx.lab, "--for", "3s", env=env,
                    timeout=120)
    assert second.returncode == 0, second.stderr
    listed = json.loads(dnslab("fault", "list", "--name", ctx.lab, "--json", env=env, timeout=60).stdout)
    assert sorted(r["kind"] for r in listed) == ["loss", "servfail"] and all(r["until"] for r in listed)
    until(lambda: [r["kind"] for r in faults.active(ctx)], lambda kinds: kinds == ["servfail"], timeout=30)
    until(lambda: faults.active(ctx), lambda active: active == [], timeout=60)
    waited = dnslab("fault", "add", "servfail", "sec-knot", "--name", ctx.lab, "--for", "500ms", "--wait", env=env,
                    timeout=120)
    assert waited.returncode == 0 and "cleared servfail-" in waited.stdout, waited.stderr
    listed = dnslab("fault", "list", "--name", ctx.lab, "--json", env=env, timeout=60)
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"
    bad = dnslab("fault", "add", "loss", "unbound", "--name", ctx.lab, "percent=lots", env=env, timeout=60)
    assert bad.returncode == 2 and "percent must be a number" in bad.stderr
    assert leftovers(ctx, ["sec-knot", "client1"]) == CLEAN
