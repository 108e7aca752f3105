"""Sidecar containers: the only containers with NET_ADMIN. They join a target's network namespace
(`network_mode=container:<target>`) so the target itself keeps no extra capability and no Docker socket.

- one-shot nft sidecars install or delete a fault's nftables table and exit (the rules belong to the
  namespace, so they outlive the sidecar and are removed explicitly on undo);
- one dnsdist sidecar per target serves dns-answer faults for as long as any of them is in force.

Every sidecar carries the lab's labels (so `dnslab down` removes it) plus dnslab.sidecar / dnslab.target /
dnslab.fault, so a sweep can find it without any record of the fault.
"""

from __future__ import annotations

import time

import docker
import docker.errors

from lab import runtime
from lab.errors import LabError
from lab.faults import dnsdistcmd
from lab.faults.base import FaultContext

SIDECAR = "dnslab.sidecar"  # "nft" or "dnsdist"
TARGET = "dnslab.target"
FAULT = "dnslab.fault"
NODE_LABELS = (runtime.NODE, runtime.ROLE, runtime.SOFTWARE)
ONE_SHOT_TIMEOUT = 60


def _labels(ctx: FaultContext, node: str, kind: str, fault_id: str) -> dict[str, str]:
    # The node's own lab labels (topology hash, slot, state dir) so lab-wide tools treat the sidecar as part of
    # the lab; but no node label: it is not a node.
    target = ctx.client.containers.get(ctx.container(node))
    inherited = {k: v for k, v in target.labels.items() if k.startswith("dnslab.") and k not in NODE_LABELS}
    return {**inherited, runtime.LAB: ctx.lab, SIDECAR: kind, TARGET: node, FAULT: fault_id}


def run_in_namespace(ctx: FaultContext, node: str, script: str, fault_id: str, env: dict | None = None) -> str:
    """Run a shell script with NET_ADMIN in the node's network namespace; return its output, raise on failure."""
    container = ctx.client.containers.run(
        ctx.description["image"], ["sh", "-c", script], detach=True, environment=env or {},
        network_mode=f"container:{ctx.container(node)}", cap_drop=["ALL"], cap_add=["NET_ADMIN"],
        labels=_labels(ctx, node, "nft", fault_id))
    try:
        status = container.wait(timeout=ONE_SHOT_TIMEOUT)
        output = container.logs().decode("utf-8", "replace")
    finally:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
    if status.get("StatusCode") != 0:
        raise LabError(f"nftables in {node}'s namespace failed: {output.strip()[-300:] or status}")
    return output


def nft(ctx: FaultContext, node: str, ruleset: str, fault_id: str) -> None:
    run_in_namespace(ctx, node, 'printf "%s" "$NFT_RULES" | nft -f -', fault_id, {"NFT_RULES": ruleset})


def dnsdist_name(ctx: FaultContext, node: str) -> str:
    return f"{ctx.container(node)}-dnsdist"


def dnsdist_running(ctx: FaultContext, node: str) -> bool:
    try:
        return ctx.client.containers.get(dnsdist_name(ctx, node)).status == "running"
    except docker.errors.NotFound:
        return False


def start_dnsdist(ctx: FaultContext, node: str, fault_id: str) -> None:
    """dnsdist listening on LISTEN_PORT in the node's namespace, console answering; no redirect yet."""
    name = dnsdist_name(ctx, node)
    try:
        ctx.client.containers.get(name).remove(force=True)  # a dead leftover of an earlier run
    except docker.errors.NotFound:
        pass
    ctx.client.containers.run(
        ctx.description["image"], ["sh", "-c", dnsdistcmd.SIDECAR_SCRIPT], name=name, detach=True,
        environment={"DNSDIST_CONFIG": dnsdistcmd.config()}, network_mode=f"container:{ctx.container(node)}",
        cap_drop=["ALL"], cap_add=["NET_ADMIN"], labels=_labels(ctx, node, "dnsdist", fault_id),
        log_config={"Type": "json-file", "Config": {"max-size": "1m"}})
    # The console answers once dnsdist has read its config and listens.
    console(ctx, node, "showVersion()", attempts=50)


def console(ctx: FaultContext, node: str, command: str, attempts: int = 1) -> str:
    """Run one Lua command on the node's dnsdist console; raise when it reports an error."""
    result = None
    for _ in range(attempts):
        result = runtime.exec_in(ctx.client, dnsdist_name(ctx, node), dnsdistcmd.console_argv(command), timeout=15)
        if result.exit_code == 0 and not result.output.startswith(("Error", "Connection")):
            return result.output
        time.sleep(0.1)
    raise LabError(f"dnsdist console in front of {node} refused {command!r}: {result.output.strip()[:300]}")


def exec_nft(ctx: FaultContext, node: str, ruleset: str) -> None:
    """Apply nft rules from inside the node's dnsdist sidecar (it already has NET_ADMIN there)."""
    result = runtime.exec_in(ctx.client, dnsdist_name(ctx, node),
                             ["sh", "-c", 'printf "%s" "$0" | nft -f -', ruleset], timeout=15)
    if result.exit_code != 0:
        raise LabError(f"nftables in {node}'s namespace failed: {result.output.strip()[-300:]}")


def remove_dnsdist(ctx: FaultContext, node: str) -> None:
    try:
        ctx.client.containers.get(dnsdist_name(ctx, node)).remove(force=True)
    except docker.errors.NotFound:
        pass


def sidecars(ctx: FaultContext) -> list:
    return [c for c in runtime.containers(ctx.client, ctx.lab) if SIDECAR in c.labels]
