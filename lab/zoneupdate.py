"""Dynamic updates from the orchestrator: RFC 2136 messages sent from inside the lab to a zone's primary."""

from __future__ import annotations

from lab import nshelper, state
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
    """Send one update for `zone` from the primary's own namespace to its own address; return
    {"rcode", "error", "latency_ms"}. Unsigned updates exist to show that the primary refuses them.

    Sent by the primary's kept helper (lab.nshelper), not an exec: a python started per update cost
    0.2-3 s under load, more than the NOTIFY/IXFR it starts. The key travels on the helper's stdin."""
    zone = absolute(zone)
    primary = primary_of(description, zone)
    node = description["nodes"][primary]
    spec = {"server": next(iter(node["addresses"].values())), "zone": zone, "ops": list(ops),
            "prereq": list(prereq), "key": _key(description) if signed else None, "timeout": timeout}
    return nshelper.call(rt, description, primary, "update", "send", spec)


def _key(description: dict) -> dict:
    key = state.tsig_key(description["lab"])
    return {"name": key.name, "algorithm": key.algorithm, "secret": key.secret}
