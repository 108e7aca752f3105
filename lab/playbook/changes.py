"""Playbook actions that change servers the way operators' automation does, with or without its safeguard:

    rollout   apply one change to a list of servers: all at once, or staged (one server, a health check by
              real queries, the next) with an automatic halt and roll-back of the server that failed it
    delegate  move a zone's delegation to another server, optionally after a pre-flight check that the
              new server answers authoritatively for the zone (refused otherwise)
    scale_in  take resolvers out of the fleet one by one, optionally behind a minimum-healthy-capacity
              guard that counts the resolvers answering (by real queries) before each removal

A change to a server is one of the lab's faults (lab.faults: a `servfail` answer, an `empty-rrset` edit, a
`stop`), applied through the run (RunContext.inject): it shows in events.jsonl as fault_injected, and the
run rolls it back like any other. What the safeguard saw and decided is an event of its own
(health_check, rollout_halted, change_refused, capacity_guard), so the report tells the story.
"""

from __future__ import annotations

import time
from typing import Any

from lab import lifecycle
from lab.agentrun import exec_json
from lab.errors import InputError, LabError
from lab.names import absolute
from lab.faults import zonedata
from lab.params import Param
from lab.playbook.action import Action, RunContext
from lab.topology.load import parent_zone

HEALTH_TIMEOUT = 1.0  # seconds per health query: a server that needs longer is not healthy
HEALTH_SAMPLES = 3  # queries per health check; every one must be answered well


# ---- asking from inside the lab ----------------------------------------------------------------------------


def vantage(description: dict, node: str, avoid: set[str]) -> str | None:
    """A node to ask `node` from: one that shares a network with it, preferring resolvers (they are where
    authoritative servers are asked from), never one in `avoid` (being changed)."""
    networks = set(description["nodes"][node]["addresses"])
    order = {"resolver": 0, "authoritative": 1, "client": 2, "agent": 3}
    peers = [n for n, v in description["nodes"].items()
             if n != node and n not in avoid and networks & set(v["addresses"])]
    return min(peers, key=lambda n: order.get(description["nodes"][n]["role"], 9), default=None)


def ask(ctx: RunContext, where: str, queries: list[dict]) -> list[dict]:
    container = ctx.description["nodes"][where]["container"]
    return exec_json(ctx.rt, container, "lab.agents.ask", {"queries": queries, "timeout": HEALTH_TIMEOUT}, timeout=30)


def _address_from(description: dict, node: str, peer: str) -> str:
    """`node`'s address as `peer` reaches it."""
    mine, theirs = description["nodes"][node]["addresses"], description["nodes"][peer]["addresses"]
    return next((a for net, a in mine.items() if net in theirs), next(iter(mine.values())))


def server_health(ctx: RunContext, node: str, name: str, rdtype: str, avoid: set[str]) -> dict:
    """Ask an authoritative server directly (no recursion) HEALTH_SAMPLES times: healthy when every answer
    is an authoritative NOERROR with data."""
    where = vantage(ctx.description, node, avoid)
    if where is None:
        raise LabError(f"no node shares a network with {node}: nothing can check its health")
    server = _address_from(ctx.description, node, where)
    results = ask(ctx, where, [{"server": server, "name": name, "type": rdtype, "rd": False}] * HEALTH_SAMPLES)
    seen = [r["rcode"] or r["error"] for r in results]
    healthy = all(r["rcode"] == "NOERROR" and r["aa"] and r["answers"] for r in results)
    if not healthy and all(r["rcode"] == "NOERROR" and r["aa"] for r in results):
        seen = ["NODATA" if not r["answers"] else r["rcode"] for r in results]
    return {"node": node, "from": where, "healthy": healthy, "answers": seen}


def _pause(ctx: RunContext, seconds: float) -> None:
    """Sleep while the run keeps watching (timed clears, lost containers, the status line)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ctx.tick()
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def _needs_run(ctx: RunContext) -> None:
    if ctx.inject is None or ctx.clear is None:
        raise LabError("this action changes servers and must run inside `dnslab run`")


# ---- rollout ------------------------------------------------------------------------------------------------


def rollout(ctx: RunContext, params: dict) -> dict:
    """Push one change (a lab fault kind with its parameters) to `servers`. `all-at-once`: every server,
    then a look at their health (nothing halts it). `staged`: server by server, each followed by a health
    check; the first server that fails it gets the change rolled back and the rollout halts."""
    _needs_run(ctx)
    servers, strategy = list(params["servers"]), params["strategy"]
    if strategy not in ("all-at-once", "staged"):
        raise InputError(f"rollout strategy must be all-at-once or staged, not {strategy!r}")
    unknown = [s for s in servers if s not in ctx.description["nodes"]]
    if unknown or not servers:
        raise InputError(f"rollout servers: unknown node(s) {', '.join(unknown) or '(none given)'}")
    name = params["check_name"] or ctx.description["probe_name"]
    rdtype = params["check_type"] or ctx.description["probe_type"]
    change = {"kind": params["change"], "params": dict(params["change_params"] or {})}
    ctx.emit("rollout_started", strategy=strategy, servers=servers, change=change)
    changed, halted = [], None
    for server in servers:
        record = ctx.inject(change["kind"], server, change["params"])
        changed.append(server)
        ctx.emit("rollout_applied", server=server, fault=record["id"], strategy=strategy)
        if strategy == "staged":
            _pause(ctx, params["settle"])
            health = server_health(ctx, server, name, rdtype, set(servers))
            ctx.emit("health_check", **health)
            if not health["healthy"]:
                ctx.clear(record["id"])
                changed.remove(server)
                halted = server
                ctx.emit("rollout_halted", server=server, answers=health["answers"], rolled_back=True,
                         untouched=servers[servers.index(server) + 1:])
                break
    if strategy == "all-at-once":
        _pause(ctx, params["settle"])
        for server in servers:  # what the operators' alert saw; the push is already everywhere
            ctx.emit("health_check", **server_health(ctx, server, name, rdtype, set()))
    ctx.emit("rollout_finished", strategy=strategy, changed=changed, halted_at=halted)
    return {"strategy": strategy, "changed": changed, "halted_at": halted}


# ---- delegate ------------------------------------------------------------------------------------------------


def delegate(ctx: RunContext, params: dict) -> dict:
    """Move the delegation of `zone` (in its parent) to the server `to`. With `preflight`, first ask `to`
    for the zone's SOA without recursion: unless it answers authoritatively, the change is refused."""
    _needs_run(ctx)
    zone = absolute(params["zone"])
    target = params["to"]
    zones = ctx.description["zones"]
    if zone not in zones or parent_zone(zone, zones) is None:
        raise InputError(f"delegate: {zone} is no delegated zone of lab {ctx.lab}")
    if target not in ctx.description["nodes"] or ctx.description["nodes"][target]["role"] != "authoritative":
        raise InputError(f"delegate: {target!r} is no authoritative server of lab {ctx.lab}")
    parent = parent_zone(zone, zones)
    holder = zonedata.holders(ctx.description, parent)[0]
    if params["preflight"]:
        where = vantage(ctx.description, target, set())
        [answer] = ask(ctx, where, [{"server": _address_from(ctx.description, target, where), "name": zone,
                                     "type": "SOA", "rd": False}])
        serves = answer["rcode"] == "NOERROR" and answer["aa"] and bool(answer["answers"])
        seen = answer["rcode"] or answer["error"]
        if serves is False and answer["rcode"] == "NOERROR":
            seen = "referral" if not answer["aa"] else "NODATA"
        ctx.emit("preflight_check", zone=zone, server=target, serves=serves, answer=seen)
        if not serves:
            ctx.emit("change_refused", zone=zone, to=target,
                     reason=f"{target} does not answer authoritatively for {zone} ({seen})")
            return {"applied": False, "to": target, "preflight": seen}
    record = ctx.inject("lame-delegation", holder, {"zone": zone, "to": target})
    ctx.emit("delegation_changed", zone=zone, parent=parent, to=target, fault=record["id"])
    return {"applied": True, "to": target, "fault": record["id"]}


# ---- scale_in ------------------------------------------------------------------------------------------------


def resolver_health(ctx: RunContext, resolvers: list[str], client: str) -> dict[str, bool]:
    """Which resolvers answer the service name from `client` (one query each, HEALTH_TIMEOUT)."""
    name, rdtype = ctx.description["probe_name"], ctx.description["probe_type"]
    queries = [{"server": lifecycle.resolver_address(ctx.description, r, client), "name": name, "type": rdtype}
               for r in resolvers]
    results = ask(ctx, client, queries)
    return {r: res["rcode"] == "NOERROR" and bool(res["answers"]) for r, res in zip(resolvers, results)}


def scale_in(ctx: RunContext, params: dict) -> dict:
    """Take `resolvers` out of service one by one (stopped), `every` seconds apart. With min_healthy N, count
    the fleet's resolvers that answer before each removal, and refuse one that would leave fewer than N."""
    _needs_run(ctx)
    fleet = [n for n, v in ctx.description["nodes"].items() if v["role"] == "resolver"]
    remove = list(params["resolvers"] or fleet)
    unknown = [r for r in remove if r not in fleet]
    if unknown:
        raise InputError(f"scale_in: not resolvers of lab {ctx.lab}: {', '.join(unknown)}")
    clients = [n for n, v in ctx.description["nodes"].items() if v["role"] == "client"]
    client = params["client"] or (clients[0] if clients else None)
    if client not in clients:
        raise InputError(f"scale_in: no client node {client!r} to check the fleet from")
    minimum, removed, refused = params["min_healthy"], [], None
    for index, resolver in enumerate(remove):
        if index:
            _pause(ctx, params["every"])
        if minimum:
            health = resolver_health(ctx, fleet, client)
            healthy = sorted(r for r, ok in health.items() if ok)
            ctx.emit("capacity_check", healthy=healthy, minimum=minimum, candidate=resolver)
            if len([r for r in healthy if r != resolver]) < minimum:
                refused = resolver
                ctx.emit("capacity_guard", refused=resolver, healthy=healthy, minimum=minimum,
                         reason=f"taking {resolver} out would leave fewer than {minimum} healthy resolvers")
                break
        record = ctx.inject("stop", resolver, {})
        removed.append(resolver)
        ctx.emit("fleet_removed", resolver=resolver, fault=record["id"])
    return {"removed": removed, "refused": refused, "min_healthy": minimum}


ACTIONS: dict[str, Action] = {
    "rollout": Action(rollout, {
        "change": Param(str, True, None, "the change each server gets, as a lab fault kind (servfail, "
                                         "empty-rrset, stop, ...)"),
        "change_params": Param(Any, False, None, "that fault's parameters, e.g. {name: api.cloud.test., type: A}"),
        "servers": Param(list[str], True, None, "the servers, in rollout order (the first is the canary)"),
        "strategy": Param(str, False, "all-at-once", "all-at-once, or staged: one by one behind a health check"),
        "settle": Param(float, False, 2.0, "seconds between a server's change and its health check"),
        "check_name": Param(str, False, None, "the name the health check asks (default: the lab's service name)"),
        "check_type": Param(str, False, None, "its type (default: the service record's type)"),
    }, "push a change to servers all at once, or staged behind a health check that halts it"),
    "delegate": Action(delegate, {
        "zone": Param(str, True, None, "the zone whose delegation moves, e.g. cloud.test."),
        "to": Param(str, True, None, "the authoritative server the parent delegates it to"),
        "preflight": Param(bool, False, False, "ask the new server first; refuse the change unless it "
                                               "answers authoritatively for the zone"),
    }, "move a zone's delegation, optionally behind a pre-flight check"),
    "scale_in": Action(scale_in, {
        "resolvers": Param(list[str], False, None, "resolvers to take out, in order (default: all)"),
        "every": Param(float, False, 2.0, "seconds between removals"),
        "min_healthy": Param(int, False, 0, "the guard: never leave fewer healthy resolvers (0: no guard)"),
        "client": Param(str, False, None, "the client the guard checks the fleet from (default: the first)"),
    }, "take resolvers out of the fleet, optionally behind a minimum-healthy-capacity guard"),
}
