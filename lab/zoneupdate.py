"""Dynamic updates from the orchestrator: RFC 2136 messages sent from inside the lab to a zone's primary."""

from __future__ import annotations

from lab.agentrun import exec_json
from lab.errors import InputError
from lab.names import absolute
from lab.runtime import Runtime

KEY_IN_CONTAINER = "/lab/node/tsig.json"


def primary_of(description: dict, zone: str) -> str:
    zone = absolute(zone)
    info = description["zones"].get(zone)
    if info is None or not info["primary"]:
        dynamic = [z for z, v in description["zones"].items() if v["primary"]]
        raise InputError(f"zone {zone!r} has no primary that takes updates; zones with one: {', '.join(dynamic)}")
    return info["primary"]


def send(rt: Runtime, description: dict, zone: str, ops: list, prereq: list = (),
         signed: bool = True, timeout: float = 5) -> dict:
    """Send one update for `zone` from the primary's own container to its own address; return
    {"rcode", "error", "latency_ms"}. Unsigned updates exist to show that the primary refuses them."""
    zone = absolute(zone)
    primary = primary_of(description, zone)
    node = description["nodes"][primary]
    spec = {"server": next(iter(node["addresses"].values())), "zone": zone, "ops": list(ops),
            "prereq": list(prereq), "key": KEY_IN_CONTAINER if signed else None, "timeout": timeout}
    return exec_json(rt, node["container"], "lab.agents.update", spec, timeout=timeout + 10)
