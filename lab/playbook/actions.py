"""Actions a playbook step can run: one table from action name to function, built here from the modules
that define them (the DNS actions below; server changes in lab.playbook.changes, the flood in
lab.playbook.flood, the enactor pipeline's in lab.playbook.pipeline). A new action goes into one of
those tables, or a new module's table merged into ACTIONS here.

    steps:
      - action: {name: zone_update, params: {zone: cloud.test., ops: [[replace, api, 5, A, [198.51.100.7]]]}}

What an action is (RunContext, Action) is lab.playbook.action. Parameters are validated before a run
starts, with the same Param shape as checks and faults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab import faults, lifecycle, names, zoneupdate
from lab.agentrun import exec_json
from lab.errors import LabError
from lab.params import Param, table_problems
from lab.playbook import changes, flood, pipeline
from lab.playbook.action import Action, ActionFunction, RunContext

__all__ = ["ACTIONS", "Action", "ActionFunction", "RunContext", "param_problems", "with_defaults"]


def param_problems(name: str, params: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """Problems with an action step: (param key or None for the name, message)."""
    action = ACTIONS.get(name)
    if action is None:
        return [(None, f"unknown action {name!r} (known: {', '.join(sorted(ACTIONS))})")]
    return table_problems(f"action {name!r}", action.params, params)


def with_defaults(name: str, params: Mapping[str, Any]) -> dict:
    return {key: param.default for key, param in ACTIONS[name].params.items()} | dict(params)


# ---- zone_update --------------------------------------------------------------------------------------


def zone_update(ctx: RunContext, params: dict) -> dict:
    """Send one TSIG-signed RFC 2136 update to the zone's primary (lab.zoneupdate); fail on another rcode."""
    timeout = float(params["timeout"] if params.get("timeout") is not None else ctx.timeout or 5)
    result = zoneupdate.send(ctx.rt, ctx.description, params["zone"], params["ops"], params.get("prereq") or [],
                             timeout=timeout)
    expected = str(params["expect"]).upper()
    outcome = result.get("rcode") or result.get("error")
    if outcome != expected:
        raise LabError(f"zone update of {params['zone']} answered {outcome}, expected {expected}")
    return {"rcode": result.get("rcode"), "latency_ms": result.get("latency_ms")}


# ---- DNSSEC: a signature monitor, and a look through every resolver --------------------------------------


def signature_watch(ctx: RunContext, params: dict) -> dict:
    """Re-sign a zone dnslab signs when its published signatures expire within `margin` (0: never)."""
    zone = names.absolute(params["zone"])
    if zone not in ctx.description["zones"] or ctx.description["zones"][zone]["primary"] \
            or not ctx.description.get("dnssec"):
        raise LabError(f"signature_watch: {zone} is not a zone dnslab signs in lab {ctx.lab}")
    return faults.dnssec.resign_if_expiring(faults.FaultContext(ctx.rt, ctx.description, ctx.rng), zone,
                                             float(params["margin"]))


def ask_resolvers(ctx: RunContext, params: dict) -> dict:
    """Ask every resolver (from one client) each name; fail unless every answer has rcode `expect` (and,
    for NOERROR, records). `cd`: Checking Disabled, the validating resolver's way around a bogus zone."""
    clients = [n for n, v in ctx.description["nodes"].items() if v["role"] == "client"]
    client = params.get("client") or clients[0]
    resolvers = params.get("resolvers") or [n for n, v in ctx.description["nodes"].items() if v["role"] == "resolver"]
    queries = [{"server": lifecycle.resolver_address(ctx.description, r, client), "name": name,
                "type": params["type"], "dnssec": True, "cd": params["cd"], "resolver": r}
               for name in params["names"] for r in resolvers]
    out = exec_json(ctx.rt, ctx.description["nodes"][client]["container"], "lab.agents.ask",
                    {"queries": queries, "timeout": 3}, timeout=60)
    seen = [{"resolver": q["resolver"], "name": q["name"], "rcode": r["rcode"], "answers": r["answers"],
             "ad": r.get("ad"), "ede": r.get("ede")} for q, r in zip(queries, out)]
    wrong = [s for s in seen if s["rcode"] != params["expect"] or (params["expect"] == "NOERROR" and not s["answers"])]
    if wrong:
        raise LabError("ask_resolvers: " + "; ".join(f"{s['resolver']} {s['name']} {s['rcode']} ede {s['ede']}"
                                                     for s in wrong))
    return {"answers": seen}


DNS_ACTIONS: dict[str, Action] = {
    "signature_watch": Action(signature_watch, {
        "zone": Param(str, True, None, "a zone dnslab signs, e.g. shop.test."),
        "margin": Param(float, False, 0.0, "re-sign when the earliest signature expires within this many "
                                           "seconds (default 0: watch only)"),
    }, "signature monitor: re-sign a zone whose signatures are close to expiry"),
    "ask_resolvers": Action(ask_resolvers, {
        "names": Param(list[str], True, None, "names to ask every resolver"),
        "type": Param(str, False, "A", "query type"),
        "cd": Param(bool, False, False, "set Checking Disabled"),
        "expect": Param(str, False, "NOERROR", "the rcode every answer must have"),
        "client": Param(str, False, None, "the client to ask from (default: the first)"),
        "resolvers": Param(list[str], False, None, "resolvers to ask (default: every one)"),
    }, "ask every resolver once; fail unless each answers as expected"),
    "zone_update": Action(zone_update, {
        "zone": Param(str, True, None, "the zone to update, e.g. cloud.test."),
        "ops": Param(list[Any], True, None, "operations as lab.agents.update takes them, e.g. "
                                            "[[replace, api, 5, A, [198.51.100.7]], [delete, old]]"),
        "prereq": Param(list[Any], False, None, "prerequisites, e.g. [[rrset_value, api, A, [198.51.100.1]]]"),
        "expect": Param(str, False, "NOERROR", "the rcode the update must get, else the step fails"),
        "timeout": Param(float, False, None, "seconds to wait for the primary's answer (default: the step's "
                                             "timeout, else 5)"),
    }, "TSIG-signed RFC 2136 update through the zone's primary"),
}


ACTIONS: dict[str, Action] = {**DNS_ACTIONS, **changes.ACTIONS, **flood.ACTIONS, **pipeline.ACTIONS}
