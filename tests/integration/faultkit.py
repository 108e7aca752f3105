"""Helpers for the fault integration tests: ask like a client, make fresh names, time the first observation
of a fault's effect, and list what a fault could have left behind."""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from pathlib import Path

from lab import lifecycle, nshelper, zoneupdate
from lab.agentrun import exec_json
from lab.faults import FaultContext, sidecar
from lab.faults.zonedata import wait_propagated

LATENCY_FILE = Path(os.environ.get("DNSLAB_FAULT_LATENCY", "/tmp/dnslab-fault-latency.jsonl"))


def context(rt, description) -> FaultContext:
    return FaultContext(rt, description, random.Random(42))


def ask(rt, description, from_node: str, server: str, name: str, rdtype: str = "A", rd: bool = True,
        tcp: bool = False, timeout: float = 2.0, **flags) -> dict:
    """`flags`: dnssec=True (EDNS + AD: the result has `ad` and `ede`), cd=True (checking disabled)."""
    [result] = exec_json(rt, description["nodes"][from_node]["container"], "lab.agents.ask",
                                 {"queries": [{"server": server, "name": name, "type": rdtype, "rd": rd, "tcp": tcp,
                                               **flags}],
                                  "timeout": timeout}, timeout=timeout + 20)
    return result


def via(rt, description, resolver: str, name: str, rdtype: str = "A", tcp: bool = False,
        timeout: float = 3.0, **flags) -> dict:
    """What client1 gets when it asks `resolver`."""
    server = lifecycle.resolver_address(description, resolver, "client1")
    return ask(rt, description, "client1", server, name, rdtype, tcp=tcp, timeout=timeout, **flags)


def direct(rt, description, server_node: str, name: str, rdtype: str = "A", tcp: bool = False) -> dict:
    """What a resolver container gets when it asks an authoritative server itself (no recursion, no cache)."""
    address = next(iter(description["nodes"][server_node]["addresses"].values()))
    return ask(rt, description, "unbound", address, name, rdtype, rd=False, tcp=tcp)


def fresh_name(rt, description, value: str = "192.0.2.77", ttl: int = 5) -> str:
    """A name no resolver has seen, with one A record, on every secondary already."""
    name = f"f{uuid.uuid4().hex[:8]}.cloud.test."
    result = zoneupdate.send(rt, description, "cloud.test.", [["replace", name, ttl, "A", [value]]])
    assert result["rcode"] == "NOERROR", result
    assert wait_propagated(context(rt, description), "cloud.test.")
    return name


def served(rt, description, node: str, path: str) -> bytes | None:
    """A file as the node's container holds it now (paths under /lab/node, e.g. zones/test.zone)."""
    return rt.read_file(description["nodes"][node]["container"], f"/lab/node/{path}")


def unused_name() -> str:
    return f"nx{uuid.uuid4().hex[:8]}.cloud.test."


def until(observe, predicate, timeout: float = 30.0, started: float | None = None) -> tuple[float, dict]:
    """Observe until the predicate holds; (seconds since `started`, last observation). Fails on timeout."""
    started = time.monotonic() if started is None else started
    deadline = started + timeout
    while True:
        seen = observe()
        if predicate(seen):
            return time.monotonic() - started, seen
        assert time.monotonic() < deadline, f"not observed within {timeout:.0f}s; last: {seen}"
        time.sleep(0.2)


def inject_and_observe(ctx, kind: str, target: str, params: dict, observe, predicate,
                       timeout: float = 30.0) -> tuple[dict, dict]:
    """Inject, then wait for the first client observation of the effect; log the apply latency."""
    from lab.faults import inject

    started = time.monotonic()
    record = inject(ctx, kind, target, params)
    injected = time.monotonic() - started
    latency, seen = until(observe, predicate, timeout, started)
    with LATENCY_FILE.open("a") as out:
        out.write(json.dumps({"kind": kind, "target": target, "inject_s": round(injected, 3),
                              "observed_s": round(latency, 3)}) + "\n")
    return record, seen


def leftovers(ctx, nodes: list[str] | None = None) -> dict:
    """What faults must not leave behind: dnslab nft tables in node namespaces, rules on the kept helpers'
    dnsdist, helpers other than the lab's kept ones, paused or stopped nodes."""
    nodes = nodes or list(ctx.description["nodes"])
    tables, rules = {}, {}
    for node in nodes:
        out = sidecar.run_in_namespace(ctx, node, "nft list tables", "check")
        found = [line for line in out.splitlines() if "dnslab" in line]
        if found:
            tables[node] = found
        if nshelper.runs_dnsdist(ctx.description, node):
            listed = sidecar.console(ctx, node, "showRules()").strip().splitlines()[1:]  # under the header
            if listed:
                rules[node] = listed
    containers = ctx.rt.containers(ctx.lab)
    return {
        "nft": tables,
        "dnsdist_rules": rules,
        # A fault's helpers, not the lab's own: its kept helpers, a run's rollback sweep and this check's probes.
        "sidecars": [c.name for c in containers if sidecar.SIDECAR in c.labels and not sidecar.kept(c)
                     and c.labels.get(sidecar.FAULT) not in ("sweep", "check")],
        "not_running": [c.name for c in containers if c.node and c.state != "running"],
    }


CLEAN = {"nft": {}, "dnsdist_rules": {}, "sidecars": [], "not_running": []}
