"""DNS-answer faults: dnsdist in front of a server changes what it answers, at run time.

Every node a dns-answer fault can target has a dnsdist in its kept helper (lab.nshelper), idle: no rule,
and nothing sent to it. A fault adds its own named rules over the console, then (if it is the node's
first) redirects DNS arriving from outside (UDP and TCP port 53) to it; dnsdist forwards to the real
server over 127.0.0.1:53. Undo removes its rules, and the last fault on a node also the redirect, leaving
the namespace as it was (dnsdist idle again).
"""

from __future__ import annotations

from typing import Any, Mapping

from lab import nshelper
from lab.errors import LabError
from lab.faults import arguments as P, dnsdistcmd, nftrules, sidecar, store
from lab.faults.base import FaultContext, FaultKind, Param
from lab.parallel import parallel

COMMON = {
    "percent": Param(float, False, 100, "share of matching queries affected, 0-100 (default 100)"),
    "names": Param(list[str], False, None, "only names at or below these suffixes (default: every name)"),
}


def served_zones(description: dict, node: str) -> dict[str, dict]:
    return {origin: info for origin, info in description["zones"].items()
            if node in info["servers"] or info["primary"] == node}


def _dual_stack(ctx: FaultContext) -> bool:
    return bool(ctx.description.get("ipv6"))


def _apply(ctx: FaultContext, record: dict) -> None:
    record["rules"] = {}

    def apply(node: str) -> None:
        commands, names = dnsdistcmd.add_commands(record["id"], record["kind"], record["params"],
                                                  served_zones(ctx.description, node))
        record["rules"][node] = names  # before they are added: a failure half-way undoes them all
        # Rules first, then the redirect: the first query dnsdist sees already meets them.
        sidecar.steps(ctx, node, [*({"console": c, "wait": sidecar.CONSOLE_WAIT} for c in commands),
                                  {"nft": nftrules.redirect(nshelper.LISTEN_PORT, _dual_stack(ctx))}])
    parallel(apply, record["nodes"])


def _undo(ctx: FaultContext, record: dict) -> None:
    others = {n for r in store.active(ctx.lab) if r["id"] != record["id"] and r.get("group") == "dns-answer"
              for n in r.get("nodes", [])}

    def undo(node: str) -> None:
        found = ctx.rt.container(ctx.container(node))
        if found is None or not found.up:
            return  # its namespace went with it: nothing is redirected any more
        if node not in others:
            # The redirect goes first: DNS is never sent to a dnsdist half-way through losing its rules.
            sidecar.nft(ctx, node, nftrules.absent(nftrules.redirect_family(_dual_stack(ctx)), nftrules.REDIRECT_TABLE))
        for command in dnsdistcmd.remove_commands((record.get("rules") or {}).get(node, [])):
            try:
                sidecar.console(ctx, node, command)
            except LabError:  # a rule that is already gone is what undo wants
                pass
    parallel(undo, record["nodes"])


def _constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    problems = P.in_range("percent", params, 0, 100) + P.in_range("ms", params, 1, 60000)
    problems += P.in_range("ttl", params, 0, 86400) + P.ipv4("address", params)
    for name in params.get("names") or []:
        if not dnsdistcmd.NAME_TEXT.match(name):
            problems.append(("names", f"names: {name!r} is not a domain name"))
    if params.get("names") == []:
        problems.append(("names", "names is empty; leave it out to match every name"))
    return problems


def _kind(name: str, help: str, own: dict[str, Param] | None = None) -> FaultKind:
    return FaultKind(name, "dns-answer", help, {**(own or {}), **COMMON}, _apply, _undo, _constraints)


KINDS = {
    "delay": _kind("delay", "answer UDP queries late", {"ms": Param(int, True, None, "delay in milliseconds")}),
    "drop": _kind("drop", "drop queries without an answer (the client times out)"),
    "servfail": _kind("servfail", "answer SERVFAIL"),
    "refused": _kind("refused", "answer REFUSED"),
    "nxdomain": _kind("nxdomain", "answer NXDOMAIN (authoritative, with the zone's SOA)"),
    "nodata": _kind("nodata", "answer NOERROR with no records (authoritative, with the zone's SOA)"),
    "truncate": _kind("truncate", "answer UDP queries with the TC bit and no records; TCP still answers"),
    "spoof": _kind("spoof", "answer A queries with a made-up address",
                   {"address": Param(str, True, None, "the IPv4 address to answer"),
                    "ttl": Param(int, False, 5, "TTL of the spoofed answer (default 5)")}),
}
