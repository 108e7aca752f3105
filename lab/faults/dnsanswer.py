"""DNS-answer faults: dnsdist in front of a server changes what it answers, at run time.

The first dns-answer fault on a node starts a dnsdist sidecar in the node's network namespace and
redirects DNS arriving from outside (UDP and TCP port 53) to it; dnsdist forwards to the real server over
127.0.0.1:53. Each fault adds its own named rules over the console; undo removes them, and the last
fault on a node also removes the redirect and the sidecar, leaving the namespace as it was.
"""

from __future__ import annotations

from typing import Any, Mapping

from lab.faults import arguments as P, dnsdistcmd, nftrules, sidecar, store
from lab.faults.base import FaultContext, FaultKind, Param

COMMON = {
    "percent": Param(float, False, 100, "share of matching queries affected, 0-100 (default 100)"),
    "names": Param(list[str], False, None, "only names at or below these suffixes (default: every name)"),
}


def served_zones(description: dict, node: str) -> dict[str, dict]:
    return {origin: info for origin, info in description["zones"].items()
            if node in info["servers"] or info["primary"] == node}


def _apply(ctx: FaultContext, record: dict) -> None:
    record["rules"] = {}
    record["dnsdist_started"] = []
    for node in record["nodes"]:
        if not sidecar.dnsdist_running(ctx, node):
            sidecar.start_dnsdist(ctx, node, record["id"])
            record["dnsdist_started"].append(node)
            sidecar.exec_nft(ctx, node, nftrules.redirect(dnsdistcmd.LISTEN_PORT, bool(ctx.description.get("ipv6"))))
        commands, names = dnsdistcmd.add_commands(record["id"], record["kind"], record["params"],
                                                  served_zones(ctx.description, node))
        record["rules"][node] = []
        for command, name in zip(commands, names):
            sidecar.console(ctx, node, command)
            record["rules"][node].append(name)


def _undo(ctx: FaultContext, record: dict) -> None:
    others = {n for r in store.active(ctx.lab) if r["id"] != record["id"] and r.get("group") == "dns-answer"
              for n in r.get("nodes", [])}
    for node in record["nodes"]:
        if sidecar.dnsdist_running(ctx, node):
            for command in dnsdistcmd.remove_commands((record.get("rules") or {}).get(node, [])):
                try:
                    sidecar.console(ctx, node, command)
                except Exception:  # noqa: BLE001 - a rule that is already gone is what undo wants
                    pass
        if node not in others:
            teardown(ctx, node)


def teardown(ctx: FaultContext, node: str) -> None:
    """Remove the node's redirect (first: DNS must never be redirected to a port nobody listens on) and its
    dnsdist sidecar."""
    script = "; ".join(f"(nft list table {family} {nftrules.REDIRECT_TABLE} >/dev/null 2>&1 && "
                       f"nft delete table {family} {nftrules.REDIRECT_TABLE} || true)" for family in ("ip", "inet"))
    found = ctx.rt.container(ctx.container(node))
    if found is not None and found.state == "running":
        sidecar.run_in_namespace(ctx, node, script, "teardown")
    sidecar.remove_dnsdist(ctx, node)


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
