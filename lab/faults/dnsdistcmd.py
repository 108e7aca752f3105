"""dnsdist rules and console commands for dns-answer faults. Pure: text in, text out.

One dnsdist per target runs in the target's network namespace (lab.nshelper); every fault adds its
own named rules at run time over the console and removes exactly those on undo. Rules match only
standard queries (never NOTIFY, UPDATE or zone transfers), so a fault on a secondary changes what clients
see without cutting it off from its primary.
"""

from __future__ import annotations

import json
import re

NAME_TEXT = re.compile(r"^[A-Za-z0-9_*.-]+$")


def lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for the names we accept


def lua_list(items: list[str]) -> str:
    return "{" + ", ".join(lua(i) for i in items) + "}"


def selector(names: list[str] | None, percent: float, extra: tuple[str, ...] = ()) -> str:
    parts = ["OpcodeRule(DNSOpcode.Query)", "NotRule(QTypeRule(DNSQType.AXFR))",
             "NotRule(QTypeRule(DNSQType.IXFR))", *extra]
    if names:
        parts.append(f"makeRule({lua_list(names)})")
    if percent < 100:
        parts.append(f"ProbaRule({percent / 100:g})")
    return "AndRule{" + ", ".join(parts) + "}"


def _negative(nxdomain: bool, zone: str, info: dict) -> str:
    servers = info.get("servers") or []
    mname = f"{servers[0]}.ns.{zone}" if servers and zone != "." else (f"{servers[0]}.ns." if servers else zone)
    rname = f"hostmaster.{zone}" if zone != "." else "hostmaster.ns."
    neg = int(info.get("negative_ttl", 5))
    return (f"NegativeAndSOAAction({str(nxdomain).lower()}, {lua(zone)}, {neg}, {lua(mname)}, {lua(rname)}, "
            f"1, 3600, 600, 86400, {neg}, {{aa=true}})")


def actions(kind: str, params: dict, zones: dict[str, dict]) -> list[tuple[str, str]]:
    """(extra selector rule or "", action) pairs for a fault, in evaluation order.

    `zones`: origin -> description zone info for the zones the target serves; NXDOMAIN and NODATA answers
    carry that zone's SOA (deepest zone first), with a bare rcode / root SOA for other names."""
    if kind == "delay":
        return [("", f"DelayAction({int(params['ms'])})")]
    if kind == "drop":
        return [("", "DropAction()")]
    if kind in ("servfail", "refused"):
        return [("", f"RCodeAction(DNSRCode.{kind.upper()})")]
    if kind == "truncate":
        return [("", "TCAction()")]
    if kind == "spoof":
        return [("QTypeRule(DNSQType.A)",
                 f"SpoofAction({lua_list([params['address']])}, {{aa=true, ttl={int(params.get('ttl', 5))}}})")]
    if kind in ("nxdomain", "nodata"):
        nxd = kind == "nxdomain"
        deepest_first = sorted(zones, key=lambda z: (-len(z.strip(".").split(".")) if z != "." else 0, z))
        pairs = [(f"makeRule({lua_list([z])})", _negative(nxd, z, zones[z])) for z in deepest_first if z != "."]
        fallback = "RCodeAction(DNSRCode.NXDOMAIN)" if nxd else _negative(False, ".", zones.get(".", {}))
        return pairs + [("", fallback)]
    raise ValueError(f"no dnsdist action for fault kind {kind!r}")


def add_commands(fault_id: str, kind: str, params: dict, zones: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Console commands that install the fault's rules, and the rule names (for undo)."""
    names = params.get("names") or None
    percent = float(params.get("percent", 100))
    commands, rule_names = [], []
    for index, (extra, action) in enumerate(actions(kind, params, zones)):
        rule_name = f"{fault_id}.{index}"
        commands.append(f"addAction({selector(names, percent, (extra,) if extra else ())}, {action}, "
                        f"{{name={lua(rule_name)}}})")
        rule_names.append(rule_name)
    return commands, rule_names


def remove_commands(rule_names: list[str]) -> list[str]:
    return [f"rmRule({lua(name)})" for name in rule_names]
