"""Helpers in a node's network namespace: the only containers with NET_ADMIN. The runtime starts them in
the target's namespace on the target's own engine, so the target itself keeps no extra capability and no
engine socket.

- one-shot nft helpers install or delete a fault's nftables table and exit (the rules belong to the
  namespace, so they outlive the helper and are removed explicitly on undo);
- one dnsdist helper per target serves dns-answer faults for as long as any of them is in force.

Every helper carries the lab's labels (so `dnslab down` removes it) plus dnslab.sidecar / dnslab.target /
dnslab.fault, so a sweep can find it without any record of the fault.
"""

from __future__ import annotations

import time

from lab import runtime
from lab.errors import LabError
from lab.faults import dnsdistcmd
from lab.faults.base import FaultContext

SIDECAR = runtime.HELPER  # "nft" or "dnsdist"
TARGET = runtime.TARGET
FAULT = "dnslab.fault"
NODE_LABELS = (runtime.NODE, runtime.ROLE, runtime.SOFTWARE)
ONE_SHOT_TIMEOUT = 60


def _labels(ctx: FaultContext, node: str, kind: str, fault_id: str) -> dict[str, str]:
    # The node's own lab labels (topology hash, slot, state dir) so lab-wide tools treat the helper as part of
    # the lab; but no node label: it is not a node.
    target = ctx.rt.container(ctx.container(node))
    labels = target.labels if target else {}
    inherited = {k: v for k, v in labels.items() if k.startswith("dnslab.") and k not in NODE_LABELS}
    return {**inherited, runtime.LAB: ctx.lab, SIDECAR: kind, TARGET: node, FAULT: fault_id}


def run_in_namespace(ctx: FaultContext, node: str, script: str, fault_id: str, env: dict | None = None) -> str:
    """Run a shell script with NET_ADMIN in the node's network namespace; return its output, raise on failure."""
    result = ctx.rt.run_helper(ctx.container(node), ctx.description["image"], script,
                               _labels(ctx, node, "nft", fault_id), env, timeout=ONE_SHOT_TIMEOUT)
    if result.exit_code != 0:
        raise LabError(f"nftables in {node}'s namespace failed: {result.output.strip()[-300:] or result.exit_code}")
    return result.output


def nft(ctx: FaultContext, node: str, ruleset: str, fault_id: str) -> None:
    run_in_namespace(ctx, node, 'printf "%s" "$NFT_RULES" | nft -f -', fault_id, {"NFT_RULES": ruleset})


def dnsdist_name(ctx: FaultContext, node: str) -> str:
    return f"{ctx.container(node)}-dnsdist"


def dnsdist_running(ctx: FaultContext, node: str) -> bool:
    found = ctx.rt.container(dnsdist_name(ctx, node))
    return found is not None and found.state == "running"


def start_dnsdist(ctx: FaultContext, node: str, fault_id: str) -> None:
    """dnsdist listening on LISTEN_PORT in the node's namespace, console answering; no redirect yet."""
    name = dnsdist_name(ctx, node)
    ctx.rt.remove(name)  # a dead leftover of an earlier run
    ctx.rt.start_helper(name, ctx.container(node), ctx.description["image"], ["sh", "-c", dnsdistcmd.SIDECAR_SCRIPT],
                        _labels(ctx, node, "dnsdist", fault_id), {"DNSDIST_CONFIG": dnsdistcmd.config(bool(ctx.description.get("ipv6")))})
    # The console answers once dnsdist has read its config and listens.
    console(ctx, node, "showVersion()", attempts=50)


def console(ctx: FaultContext, node: str, command: str, attempts: int = 1) -> str:
    """Run one Lua command on the node's dnsdist console; raise when it reports an error."""
    result = None
    for _ in range(attempts):
        result = ctx.rt.exec(dnsdist_name(ctx, node), dnsdistcmd.console_argv(command), timeout=15)
        if result.exit_code == 0 and not result.output.startswith(("Error", "Connection")):
            return result.output
        time.sleep(0.1)
    raise LabError(f"dnsdist console in front of {node} refused {command!r}: {result.output.strip()[:300]}")


def exec_nft(ctx: FaultContext, node: str, ruleset: str) -> None:
    """Apply nft rules from inside the node's dnsdist helper (it already has NET_ADMIN there)."""
    result = ctx.rt.exec(dnsdist_name(ctx, node), ["sh", "-c", 'printf "%s" "$0" | nft -f -', ruleset], timeout=15)
    if result.exit_code != 0:
        raise LabError(f"nftables in {node}'s namespace failed: {result.output.strip()[-300:]}")


def remove_dnsdist(ctx: FaultContext, node: str) -> None:
    ctx.rt.remove(dnsdist_name(ctx, node))


def sidecars(ctx: FaultContext) -> list[runtime.Container]:
    return [c for c in ctx.rt.containers(ctx.lab) if SIDECAR in c.labels]
