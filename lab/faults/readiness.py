"""Wait until a node serves DNS again after an undo restarted it: asked through lab.agents.ask, bounded."""

from __future__ import annotations

import time

from lab.agentrun import exec_json
from lab.errors import Timeout
from lab.faults.base import FaultContext

READY_TIMEOUT = 60.0


def ready_query(description: dict, node: str) -> tuple[str, dict, str] | None:
    """(container to ask from, query, `until`) that shows the node works; None for nodes that serve nothing."""
    info = description["nodes"][node]
    address = next(iter(info["addresses"].values()))
    if info["role"] == "authoritative":
        zones = [z for z, v in description["zones"].items() if node in v["servers"] or v["primary"] == node]
        if zones:
            # An authoritative SOA: a restarted secondary is ready only once it has its zone again.
            return info["container"], {"server": address, "name": zones[0], "type": "SOA", "rd": False}, "aa"
    if info["role"] == "resolver":
        return (info["container"], {"server": address, "name": description["probe_name"],
                                    "type": description["probe_type"]}, "noerror")
    return None


def wait_answering(ctx: FaultContext, node: str, timeout: float = READY_TIMEOUT) -> float:
    """Seconds until `node` runs and answers; raises Timeout naming the node after `timeout`."""
    started = time.monotonic()
    deadline = started + timeout
    name = ctx.container(node)
    while (found := ctx.rt.container(name)) is None or found.state != "running":
        if time.monotonic() > deadline:
            state = found.state if found else "gone"
            raise Timeout(f"{node} is still {state} after {timeout:.0f}s; see 'docker logs {name}'")
        time.sleep(0.2)
    plan = ready_query(ctx.description, node)
    if plan is not None:
        where, query, until = plan
        remaining = max(1.0, deadline - time.monotonic())
        [result] = exec_json(ctx.rt, where, "lab.agents.ask",
                                     {"queries": [query], "until": until, "deadline": remaining, "timeout": 1},
                                     timeout=remaining + 15)
        if result["rcode"] != "NOERROR" or (until == "aa" and not result["aa"]):
            raise Timeout(f"{node} does not answer {query['name']} {query['type']} after {timeout:.0f}s "
                          f"({result['rcode'] or result['error']}); see 'docker logs {name}'")
    return time.monotonic() - started
