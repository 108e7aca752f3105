"""The fault catalogue: one table from fault kind to implementation, and the calls a runner or the CLI makes.

    from lab.faults import FAULTS, FaultContext, inject, clear, clear_all, active, param_problems

Groups: process (pause, kill, stop, restart), network (partition, loss, block-port, disconnect),
dns-answer (delay, drop, servfail, refused, nxdomain, nodata, truncate, spoof: dnsdist in front of a
server), zone-data (empty-rrset, ttl, remove-glue, lame-delegation, serial-regression) and dnssec
(expire-signatures, bogus-rrsig, remove-dnskey, ksk-rollover, update-ds, wrong-denial: a signed lab only) and zone
(host-partition, host-freeze, host-loss: one host of a lab across engines, lab.faults.zone). Every fault
records what its undo needs in a plain-JSON record persisted in $DNSLAB_HOME/labs/<lab>/faults.json, so
`clear` works from any process; `clear_all` also sweeps what a killed orchestrator may have left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any, Mapping

from lab import nshelper
from lab.errors import InputError, LabError
from lab.faults import dnsanswer, dnssec, network, nftrules, process, sidecar, store, targets, zone, zonedata
from lab.faults.base import GROUP_ROLES, FaultContext, FaultKind, Param
from lab.faults.arguments import table_problems, with_defaults
from lab.parallel import in_background, parallel

__all__ = ["FAULTS", "FaultContext", "FaultKind", "Param", "inject", "clear", "clear_all", "active",
           "param_problems", "warm"]

FAULTS: dict[str, FaultKind] = {**process.KINDS, **network.KINDS, **dnsanswer.KINDS, **zonedata.KINDS,
                                **dnssec.KINDS, **zone.KINDS}


def param_problems(kind: str, target: str, params: Mapping[str, Any] | None,
                   description: dict | None) -> list[tuple[str | None, str]]:
    """Every problem with a fault before it runs: (parameter key, or None for the kind/target; message).
    With description None only what needs no lab is checked."""
    if kind not in FAULTS:
        return [(None, f"unknown fault kind {kind!r} (known: {', '.join(FAULTS)})")]
    fault = FAULTS[kind]
    params = {} if params is None else params
    problems = table_problems(kind, fault.params, params)
    if fault.group == zone.GROUP:
        problems += [(None, m) for m in zone.problems(target, description)]
    else:
        problems += [(None, m) for m in targets.problems(target, description, GROUP_ROLES[fault.group], fault.single)]
    if problems:
        return problems  # constraints assume well-typed parameters and a known target
    return fault.constraints(target, params, description)


def warm(ctx: FaultContext) -> Callable[[], None]:
    """What a run does at its first wait, in the background (only a head start: a fault that comes first opens
    what it needs): every helper the faults use in place, with this process's channels (the nodes' helpers,
    lab.nshelper, and on a lab across engines each host's); beside them, what a signed lab's DNSSEC faults
    parse and sign first. The returned function waits for all of it."""
    parses = in_background(lambda: dnssec.warm(ctx), "faults-warm-dnssec")

    def helpers() -> None:
        nodes = nshelper.ensure(ctx.rt, ctx.description)
        zone.ensure(ctx.rt, ctx.description)
        nodes.join()
    ready = in_background(helpers, "faults-warm-helpers")

    def wait() -> None:
        ready()
        parses()
    return wait


def active(ctx: FaultContext) -> list[dict]:
    """Faults in force in the lab (from faults.json), oldest first."""
    return store.active(ctx.lab)


def inject(ctx: FaultContext, kind: str, target: str, params: Mapping[str, Any] | None = None) -> dict:
    """Apply a fault and return its record. Raises InputError (every problem, one line) before touching the lab;
    if applying fails half-way, what was applied is undone before the error propagates."""
    params = dict(params or {})
    problems = param_problems(kind, target, params, ctx.description)
    fault = FAULTS.get(kind)
    if problems:
        nodes, chosen = [], {}
    elif fault.group == zone.GROUP:
        nodes, chosen = zone.on_host(ctx.description, target), {}
    else:
        nodes, chosen = targets.resolve(target, ctx.description, ctx.rng)
    if not problems and target.startswith(targets.RANDOM) and fault.single:
        problems = fault.constraints(nodes[0], params, ctx.description)
    if problems:
        raise InputError(f"fault {kind} on {target}: " + "; ".join(message for _, message in problems))
    record = {"id": store.new_id(ctx.lab, kind), "kind": kind, "group": fault.group, "target": target,
              "params": with_defaults(fault.params, params), "nodes": nodes, "chosen": chosen,
              "start": time.time()}
    store.put(ctx.lab, record)  # recorded before it acts: a crash half-way still leaves something to clear
    try:
        fault.apply(ctx, record)
    except BaseException:
        try:
            fault.undo(ctx, record)
        except Exception:  # noqa: BLE001 - the original error is the one worth reporting
            pass
        store.remove(ctx.lab, record["id"])
        raise
    record["applied"] = time.time()
    store.put(ctx.lab, record)
    return record


def clear(ctx: FaultContext, fault_id: str) -> dict:
    """Undo one fault; its record comes back with "end". A failed undo keeps the record so it can be retried."""
    record = store.get(ctx.lab, fault_id)
    if record is None:
        known = ", ".join(r["id"] for r in store.active(ctx.lab)) or "none"
        raise InputError(f"no active fault {fault_id!r} in lab {ctx.lab} (active: {known})")
    FAULTS[record["kind"]].undo(ctx, record)
    record["end"] = time.time()
    store.remove(ctx.lab, fault_id)
    return record


def clear_all(ctx: FaultContext, leave: Collection[str] = ()) -> list[dict]:
    """Undo every recorded fault, newest first, then sweep what no record explains: paused or stopped nodes,
    nodes off their networks, dnslab nftables tables, sidecars, edited zone files. The sweep, if it found
    anything, is one more record (kind "sweep"). Nodes in `leave` are not started again (a user's program
    that failed on its own). Raises LabError listing the undos that failed."""
    cleared, failed = [], []
    for record in reversed(store.active(ctx.lab)):
        try:
            cleared.append(clear(ctx, record["id"]))
        except Exception as exc:  # noqa: BLE001 - keep undoing the rest; reported below
            failed.append(f"{record['id']}: {exc}")
    swept = sweep(ctx, leave)
    if any(swept.values()):
        cleared.append({"id": "sweep", "kind": "sweep", "target": ctx.lab, "params": {}, "swept": swept,
                        "end": time.time()})
    if failed:
        raise LabError("could not undo " + "; ".join(failed))
    return cleared


def sweep(ctx: FaultContext, leave: Collection[str] = ()) -> dict[str, list[str]]:
    """Put the lab back without any record: works after an orchestrator was killed and its records lost."""
    found: dict[str, list[str]] = {"resumed": process.resume_all(ctx, leave),
                                   "reconnected": network.reconnect_all(ctx)}
    nodes = [c.node for c in ctx.rt.containers(ctx.lab)
             if c.node and c.state == "running" and c.node in ctx.description["nodes"] and c.node not in leave]

    def sweep_node(node: str) -> tuple[list[str], list[str]]:
        # Every dnslab table (the dnsdist redirect too), then every dnsdist rule: the kept helper idle again.
        todo = [{"sh": nftrules.SWEEP_SCRIPT}]
        if nshelper.runs_dnsdist(ctx.description, node):
            todo += [{"console": "showRules()", "wait": sidecar.CONSOLE_WAIT}, {"console": "clearRules()"}]
        out = sidecar.steps(ctx, node, todo)
        tables = [f"{node}:{line.split()[-1]}" for line in out[0].splitlines() if line.strip()]
        rules = [f"{node}:{line.split()[1]}" for line in out[1].splitlines()[1:] if line.strip()] if len(out) > 1 else []
        return tables, rules

    def sidecars() -> list[str]:
        removed = []
        for container in sidecar.sidecars(ctx):
            if not sidecar.kept(container):  # a one-off helper of an earlier version, or anything else
                ctx.rt.remove(container.name)
                removed.append(container.name)
        return removed

    # Namespaces, the hosts' tables (by their kept helpers, which the sidecar sweep leaves), sidecars and zone
    # files are apart from each other: side by side.
    swept, host_tables, removed, zone_files = parallel(lambda part: part(), [
        lambda: parallel(sweep_node, nodes), lambda: zone.sweep(ctx), sidecars,
        lambda: zonedata.restore_static_files(ctx)])
    found["nft_tables"] = [t for tables, _ in swept for t in tables]
    found["dnsdist_rules"] = [r for _, rules in swept for r in rules]
    return {**found, "sidecars": removed, "zone_files": zone_files, "host_tables": host_tables}
