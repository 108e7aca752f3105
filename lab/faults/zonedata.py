"""Zone-data faults: change what a zone holds, remember the exact RRsets it held, put them back on undo.

Where the data is changed depends on the zone:
- a zone with a (BIND) primary takes TSIG-signed RFC 2136 updates (lab.zoneupdate) and its secondaries
  follow by NOTIFY/IXFR; the previous RRsets are read by AXFR from the primary (lab.agents.zonedump);
- a zone without one (e.g. the lab root or test., served from rendered files) is changed by editing the
  target server's zone file in its container and reloading that server (SIGHUP: BIND, Knot and NSD alike),
  all by the loop kept open in the node's own container (lab.nshelper, inside; lab.agents.zonefile), which
  then asks the server on 127.0.0.1 until it serves the changed RRsets: no exec and no engine call per change
  (a file read, a write and a reload exec through the engine cost 200-300 ms). The rendered original stays
  on the orchestrator's side (lab.state), so a sweep can restore it with no record of the fault: any file
  that differs from what was rendered is put back (through the engine, which also reaches a stopped node).

The fault's target is the node that holds the data changed: the primary of a dynamic zone, or a server of
a static one. remove-glue and lame-delegation change the *parent* of `zone`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from lab import nshelper, runtime, state, zoneupdate
from lab.errors import LabError
from lab.faults import arguments as P, zonetext
from lab.faults.base import FaultContext, FaultKind, Param
from lab.faults.readiness import wait_answering
from lab.parallel import parallel
from lab.topology.load import parent_zone
from lab.topology.model import Zone
from lab.topology.render import zone_file

PROPAGATION_TIMEOUT = 10.0
PROPAGATION_POLL = 0.02  # a change travels NOTIFY/IXFR in tens of ms: asking every 200 ms would add ~100 ms
RELOAD_TIMEOUT = 10.0
RELOAD_POLL = 0.005  # a reload of a small zone file takes 10-40 ms; each question on loopback well under 1 ms


# ---- where the data lives (pure) ---------------------------------------------------------------------------


def holds(description: dict, node: str, zone: str) -> bool:
    info = description["zones"].get(zone)
    if info is None:
        return False
    return info["primary"] == node if info["primary"] else node in info["servers"]


def holders(description: dict, zone: str) -> list[str]:
    info = description["zones"][zone]
    return [info["primary"]] if info["primary"] else list(info["servers"])


def zone_of_name(description: dict, node: str, name: str) -> str | None:
    """The deepest zone containing `name` whose data `node` holds."""
    found = [z for z in description["zones"] if zonetext.in_zone(name, z) and holds(description, node, z)]
    return max(found, key=lambda z: 0 if z == "." else z.count("."), default=None)


def ns_name_of(description: dict, node: str) -> str | None:
    """The node's public NS name (NODE.ns.ZONE) in the first zone it serves, None for a hidden server."""
    zone = next((z for z, v in description["zones"].items() if node in v["servers"]), None)
    if zone is None:
        return None
    return f"{node}.ns.{zone}" if zone != "." else f"{node}.ns."


def lame_candidates(description: dict, zone: str) -> list[str]:
    """Authoritative servers that do not serve `zone` (nor its parent, when there are others): a delegation
    to one of them is lame."""
    info = description["zones"][zone]
    parent = parent_zone(zone, description["zones"])
    parent_servers = set(description["zones"][parent]["servers"]) if parent else set()
    outside = sorted(n for n, v in description["nodes"].items()
                     if v["role"] == "authoritative" and n not in info["servers"] and n != info["primary"]
                     and ns_name_of(description, n))
    return [n for n in outside if n not in parent_servers] or outside


def served_checks(rrsets: list[list], ops: list[list], server: str = "127.0.0.1") -> list[dict]:
    """Questions (lab.agents.ask, `until: records`) answered as expected once a server serves `rrsets` for
    every RRset the ops touched: each record as "TTL value", in whichever section the server puts it (a
    delegation's NS and glue come in a referral's authority and additional sections)."""
    touched = dict.fromkeys((op[1], op[3] if op[0] == "replace" else op[2]) for op in ops if len(op) > 2)
    checks = []
    for name, rdtype in touched:
        found = zonetext.find(rrsets, name, rdtype)
        checks.append({"server": server, "name": name, "type": rdtype.upper(), "rd": False, "sections": True,
                       "expect": [f"{found[2]} {value}" for value in found[3]] if found else []})
    return checks


def signed_checks(old: str, new: str, zone: str, server: str = "127.0.0.1") -> list[dict]:
    """Questions (lab.agents.ask, `until: records`, DNSSEC OK) answered as expected once a server that loaded
    `old` serves `new`: one per RRset that differs, signatures included (a re-signed zone changes every RRSIG
    set; a key change the DNSKEY RRset; a parent's DS and the signature over it)."""
    return [{"server": server, "name": name, "type": rdtype, "rd": False, "sections": True, "do": True,
             "expect": records} for (name, rdtype), records in zonetext.changed(old, new, zone).items()]


# ---- reading and changing zone data (Docker and files at the edge) -----------------------------------------


def _address(ctx: FaultContext, node: str) -> str:
    return next(iter(ctx.description["nodes"][node]["addresses"].values()))


def _zone_path(zone: str) -> str:
    """Where a zone's file is, in the container (and under the node's rendered directory)."""
    return f"zones/{zone_file(Zone(zone, ()))}"


def rendered(ctx: FaultContext, node: str, zone: str) -> str:
    return (state.node_dir(ctx.lab, node) / _zone_path(zone)).read_text()


def _missing(node: str, zone: str) -> LabError:
    return LabError(f"{node} has no zone file for {zone}; run 'dnslab down' and 'dnslab up' to render it again")


def served(ctx: FaultContext, node: str, zone: str) -> str:
    """The zone file the node's server loads now (a fault may have edited it), read through the engine (the
    sweep's way: it also reaches a stopped node)."""
    data = ctx.rt.read_file(ctx.container(node), f"{runtime.NODE_DIR}/{_zone_path(zone)}")
    if data is None:
        raise _missing(node, zone)
    return data.decode()


def served_now(ctx: FaultContext, node: str, zone: str) -> str:
    """The same file, read by the node's kept loop (a running node; no engine call)."""
    text = nshelper.call(ctx.rt, ctx.description, node, "zonefile", "read",
                         {"path": f"{runtime.NODE_DIR}/{_zone_path(zone)}"}, inside=True)
    if text is None:
        raise _missing(node, zone)
    return text


def _load(ctx: FaultContext, node: str, zone: str, text: str, queries: list[dict]) -> None:
    """Replace the node's zone file with `text` and reload its server, in one request to the node's kept loop;
    done when every query is answered as it expects (asked on 127.0.0.1: no network fault of the node stands
    in the way). A reload swaps the whole zone at once: until the first query is, one question a round."""
    steps = [nshelper.step("zonefile", "write", {"path": f"{runtime.NODE_DIR}/{_zone_path(zone)}", "text": text,
                                                 "signal": "HUP"})]
    if queries:
        steps.append(nshelper.step("ask", "run", {"queries": queries, "until": "records", "deadline": RELOAD_TIMEOUT,
                                                  "timeout": 1, "every": RELOAD_POLL, "in_order": True}))
    outputs = nshelper.request(ctx.rt, ctx.description, node, steps, inside=True)
    if queries:
        results = json.loads(outputs[1])
        late = [q["name"] for q, r in zip(queries, results) if sorted(r.get("records", [])) != sorted(q["expect"])]
        if late:
            raise LabError(f"{node} did not serve the changed {zone} within {RELOAD_TIMEOUT:g} s ({', '.join(late)}); "
                           f"see 'docker logs {ctx.container(node)}'")


def put_zone(ctx: FaultContext, node: str, zone: str, text: str) -> None:
    ctx.rt.put_files(ctx.container(node), {f"{runtime.NODE_DIR}/{_zone_path(zone)}": runtime.File.of(text)})


def publish(ctx: FaultContext, node: str, zone: str, text: str) -> None:
    """Make `text` (a signed zone, say) the node's zone file and what its server serves: through the node's
    kept loop, done once the server serves every RRset that differs from the file it replaces, signatures
    included. A node whose processes do not run (stopped, paused) gets the file through the engine and loads
    it when it runs again; nothing is put where the file is `text` already."""
    try:
        old = served_now(ctx, node, zone)
    except LabError:
        found = ctx.rt.container(ctx.container(node))
        if found is None or found.state == "running":
            raise
        if served(ctx, node, zone) != text:
            put_zone(ctx, node, zone, text)
        return
    if old != text:
        _load(ctx, node, zone, text, signed_checks(old, text, zone))


def read(ctx: FaultContext, node: str, zone: str) -> list[list]:
    return _read(ctx, node, zone)[0]


def _read(ctx: FaultContext, node: str, zone: str) -> tuple[list[list], str | None]:
    """The zone's RRsets, and for a zone served from a file the file's text (for `change`, read once)."""
    if ctx.description["zones"][zone]["primary"]:
        # An AXFR from the node's own namespace, by its helper: no exec on the way.
        return nshelper.call(ctx.rt, ctx.description, node, "zonedump", "dump",
                             {"server": _address(ctx, node), "zone": zone}), None
    text = served_now(ctx, node, zone)
    return zonetext.parse(text, zone), text


def change(ctx: FaultContext, node: str, zone: str, ops: list[list], served: str | None = None) -> None:
    """Apply the ops to the zone where its data lives; `served`: the zone file's text as just read."""
    if ctx.description["zones"][zone]["primary"]:
        result = zoneupdate.send(ctx.rt, ctx.description, zone, ops)
        if result["rcode"] != "NOERROR":
            raise LabError(f"update of {zone} on {node} answered {result['rcode'] or result['error']}")
        wait_propagated(ctx, zone)
        return
    original = rendered(ctx, node, zone)
    edited = zonetext.edit(served if served is not None else served_now(ctx, node, zone), zone, ops)
    # Back to what was rendered: the original file, byte for byte (so the sweep sees nothing to restore).
    same = zonetext.parse(edited, zone) == zonetext.parse(original, zone)
    text = original if same else edited
    _load(ctx, node, zone, text, served_checks(zonetext.parse(text, zone), ops))


def wait_propagated(ctx: FaultContext, zone: str, timeout: float = PROPAGATION_TIMEOUT) -> bool:
    """Wait until every secondary serves the primary's SOA, so a change (or its undo) is what clients can get
    once caches expire. Best effort: another fault may hold a secondary back, which must not fail this one."""
    info = ctx.description["zones"][zone]
    primary = info["primary"]
    # Asked from the primary's namespace by its helper (lab.nshelper): no exec on the way.
    [soa] = nshelper.call(ctx.rt, ctx.description, primary, "ask", "run", {"queries": [
        {"server": _address(ctx, primary), "name": zone, "type": "SOA", "rd": False}], "timeout": 2})
    queries = [{"server": _address(ctx, s), "name": zone, "type": "SOA", "rd": False, "expect": soa["answers"]}
               for s in info["servers"]]
    results = nshelper.call(ctx.rt, ctx.description, primary, "ask", "run",
                            {"queries": queries, "until": "expect", "deadline": timeout, "timeout": 1,
                             "every": PROPAGATION_POLL})
    return all(sorted(r["answers"]) == sorted(soa["answers"]) for r in results)


def reload(ctx: FaultContext, node: str, zone: str) -> None:
    """Make a server load its zone file again, by an exec (the sweep's way, after the file went in through
    the engine; Knot: knotc; BIND and NSD reload on SIGHUP)."""
    if ctx.description["nodes"][node]["software"] == "knot":
        argv = ["knotc", "-b", "zone-reload", zone]
    else:
        argv = ["kill", "-HUP", "1"]
    result = ctx.rt.exec(ctx.container(node), argv, timeout=20)
    if result.exit_code != 0:
        raise LabError(f"{node} did not reload {zone}: {result.output.strip()[:200]}")


def restore_static_files(ctx: FaultContext) -> list[str]:
    """Sweep: put back every rendered zone file a fault left edited; return 'node:zone' restored."""
    listed = {c.name: c for c in ctx.rt.containers(ctx.lab)}  # one call for the lab, no inspect per node
    static = [(node, zone, listed[info["container"]]) for node, info in ctx.description["nodes"].items()
              if info["container"] in listed for zone in ctx.description["zones"]
              if holds(ctx.description, node, zone) and not ctx.description["zones"][zone]["primary"]]

    def restore(item) -> str | None:
        node, zone, found = item
        original = rendered(ctx, node, zone)
        if served(ctx, node, zone) == original:
            return None
        put_zone(ctx, node, zone, original)
        if found.state == "running":
            reload(ctx, node, zone)
        return f"{node}:{zone}"
    return [done for done in parallel(restore, static) if done]


# ---- the kinds ---------------------------------------------------------------------------------------------


def _node(record: dict) -> str:
    return record["nodes"][0]


def _undo_restore(ctx: FaultContext, record: dict) -> None:
    if record.get("previous"):
        change(ctx, _node(record), record["zone"], zonetext.restore_ops(record["previous"]))


def _rrset_fault(ctx: FaultContext, record: dict, make_ops) -> None:
    p = record["params"]
    node, name, rdtype = _node(record), zonetext.absolute(p["name"]), p["type"].upper()
    zone = zone_of_name(ctx.description, node, name)
    rrsets, served = _read(ctx, node, zone)
    previous = zonetext.find(rrsets, name, rdtype)
    if previous is None:
        raise LabError(f"{name} has no {rdtype} records in {zone} on {node}: nothing to change")
    record.update(zone=zone, previous=[previous])
    change(ctx, node, zone, make_ops(previous), served)


def _empty_rrset(ctx: FaultContext, record: dict) -> None:
    _rrset_fault(ctx, record, lambda prev: [["delete", prev[0], prev[1]]])


def _ttl(ctx: FaultContext, record: dict) -> None:
    ttl = record["params"]["ttl"]
    _rrset_fault(ctx, record, lambda prev: [["replace", prev[0], ttl, prev[1], prev[3]]])


def _delegation(ctx: FaultContext, record: dict) -> tuple[str, str, list[list], list, str | None]:
    child = zonetext.absolute(record["params"]["zone"])
    parent = parent_zone(child, ctx.description["zones"])
    rrsets, served = _read(ctx, _node(record), parent)
    ns = zonetext.find(rrsets, child, "NS")
    if ns is None:
        raise LabError(f"{parent} on {_node(record)} does not delegate {child}")
    return child, parent, rrsets, ns, served


def _remove_glue(ctx: FaultContext, record: dict) -> None:
    child, parent, rrsets, ns, served = _delegation(ctx, record)
    glue = [r for target in ns[3] if zonetext.in_zone(target, child)
            for r in (zonetext.find(rrsets, target, "A"), zonetext.find(rrsets, target, "AAAA")) if r]
    if not glue:
        raise LabError(f"the delegation of {child} in {parent} has no glue (its NS names are outside it)")
    record.update(zone=parent, previous=glue)
    change(ctx, _node(record), parent, [["delete", r[0], r[1]] for r in glue], served)


def _lame_delegation(ctx: FaultContext, record: dict) -> None:
    child, parent, _, ns, served = _delegation(ctx, record)
    candidates = lame_candidates(ctx.description, child)
    if not candidates:
        raise LabError(f"every authoritative server of lab {ctx.lab} serves {child}: none to delegate lamely to")
    lame = record["params"].get("to") or ctx.rng.choice(candidates)
    lame_ns = ns_name_of(ctx.description, lame)
    record["chosen"]["lame_server"] = lame
    record["chosen"]["lame_ns"] = lame_ns
    record.update(zone=parent, previous=[ns])
    change(ctx, _node(record), parent, [["replace", child, ns[2], "NS", [lame_ns]]], served)


def _serial_regression(ctx: FaultContext, record: dict) -> None:
    zone, node = zonetext.absolute(record["params"]["zone"]), _node(record)
    rrsets = read(ctx, node, zone)
    original = zonetext.soa_serial(rrsets, zone)
    lower = zonetext.regressed(original, record["params"]["by"])
    record.update(zone=zone, original_serial=original, regressed_serial=lower)
    # BIND ignores an update that lowers the serial (RFC 2136 3.4.2.2), so the primary is restarted on a zone
    # file with the lower serial and no journal: what an operator restoring an old zone file does.
    name, path = ctx.container(node), f"{runtime.NODE_DIR}/{_zone_path(zone)}"
    ctx.rt.stop(name, timeout=10)
    try:
        # A stopped container takes files but runs nothing: its journals go at its next start (runtime.ON_START).
        ctx.rt.put_files(name, {path: runtime.File.of(zonetext.zone_file(zone, rrsets, serial=lower)),
                                runtime.ON_START: runtime.File.of(f"rm -f {path}.jnl {path}.jbk\n")})
    finally:
        ctx.rt.start(name)
    wait_answering(ctx, node)


def _serial_restore(ctx: FaultContext, record: dict) -> None:
    zone, node = record["zone"], _node(record)
    soa = zonetext.find(read(ctx, node, zone), zone, "SOA")
    new = zonetext.serial_after(int(soa[3][0].split()[2]), record["original_serial"])
    record["restored_serial"] = new
    change(ctx, node, zone, [["replace", zone, soa[2], "SOA", [zonetext.with_serial(soa[3][0], new)]]])


# ---- validation (pure) -------------------------------------------------------------------------------------


def _holder_hint(description: dict, zone: str) -> str:
    info = description["zones"][zone]
    if info["primary"]:
        return f"{zone} takes its changes on its primary: target {info['primary']}"
    return f"{zone} is served from files by {', '.join(info['servers'])}: target one of them"


def _rrset_constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    problems = P.in_range("ttl", params, 0, 2**31 - 1)
    if description is None or not params.get("name") or target not in description["nodes"]:
        return problems
    name = zonetext.absolute(params["name"])
    if zone_of_name(description, target, name) is None:
        zones = [z for z in description["zones"] if zonetext.in_zone(name, z)]
        deepest = max(zones, key=lambda z: 0 if z == "." else z.count("."), default=None)
        hint = _holder_hint(description, deepest) if deepest else "no zone of the lab contains it"
        problems.append((None, f"node {target!r} holds no zone with {name}; {hint}"))
    return problems


def _zone_problems(params: Mapping[str, Any], description: dict | None) -> tuple[str | None, list]:
    zone = params.get("zone")
    if not zone or description is None:
        return None, []
    zone = zonetext.absolute(zone)
    if zone not in description["zones"]:
        return None, [("zone", f"no zone {zone} in lab {description['lab']}; zones: {', '.join(description['zones'])}")]
    return zone, []


def _parent_constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    zone, problems = _zone_problems(params, description)
    if zone is None or problems:
        return problems
    parent = parent_zone(zone, description["zones"])
    if parent is None:
        return [("zone", f"{zone} has no parent zone in the lab: nothing delegates it")]
    if target in description["nodes"] and not holds(description, target, parent):
        return [(None, f"this fault changes the delegation of {zone} in its parent {parent}; "
                       + _holder_hint(description, parent))]
    return []


def _lame_constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    problems = _parent_constraints(target, params, description)
    to = params.get("to")
    if to and description is not None and (to not in description["nodes"] or not ns_name_of(description, to)):
        problems.append(("to", f"to: {to!r} is no public authoritative server of lab {description['lab']}"))
    return problems


def _serial_constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    problems = P.in_range("by", params, 1, 2**31 - 1)
    zone, more = _zone_problems(params, description)
    if zone is None or more:
        return problems + more
    info = description["zones"][zone]
    if not info["primary"]:
        return problems + [("zone", f"{zone} has no primary (it is served from files): no serial to regress on "
                                    f"secondaries; zones with one: "
                                    + ", ".join(z for z, v in description["zones"].items() if v["primary"]))]
    if target in description["nodes"] and target != info["primary"]:
        return problems + [(None, f"the serial of {zone} lives on its primary: target {info['primary']}")]
    return problems


_NAME = Param(str, True, None, "the owner name (absolute, the trailing dot is optional)")
_TYPE = Param(str, True, None, "the record type, e.g. A, TXT, NS")
_ZONE = Param(str, True, None, "the zone, e.g. cloud.test.")

KINDS = {
    "empty-rrset": FaultKind(
        "empty-rrset", "zone-data", "delete every record of one RRset (NODATA; NXDOMAIN if the name has nothing else); undo puts them back",
        {"name": _NAME, "type": _TYPE}, _empty_rrset, _undo_restore, _rrset_constraints, single=True),
    "ttl": FaultKind(
        "ttl", "zone-data", "change the TTL of one RRset; undo restores the old TTL",
        {"name": _NAME, "type": _TYPE, "ttl": Param(int, True, None, "the new TTL in seconds")},
        _ttl, _undo_restore, _rrset_constraints, single=True),
    "remove-glue": FaultKind(
        "remove-glue", "zone-data", "delete the glue addresses of the zone's name servers in its parent",
        {"zone": _ZONE}, _remove_glue, _undo_restore, _parent_constraints, single=True),
    "lame-delegation": FaultKind(
        "lame-delegation", "zone-data",
        "make the parent delegate the zone to a server that does not serve it (chosen at random, or `to`)",
        {"zone": _ZONE, "to": Param(str, False, None, "the server to delegate to (default: one that does not "
                                                       "serve the zone, at random)")},
        _lame_delegation, _undo_restore, _lame_constraints, single=True),
    "serial-regression": FaultKind(
        "serial-regression", "zone-data",
        "restart the primary on its zone with a lower SOA serial: secondaries keep their newer copy and ignore "
        "changes until the serial passes theirs; undo raises the serial above it",
        {"zone": _ZONE, "by": Param(int, False, 1000, "how far the serial goes back (default 1000)")},
        _serial_regression, _serial_restore, _serial_constraints, single=True),
}
