"""Faults' way into a node's network namespace: requests to the node's kept helper (lab.nshelper).

- nft rulesets are applied in one transaction; the rules belong to the namespace, in a table per fault,
  and are removed explicitly on undo;
- dns-answer faults add named rules to the helper's dnsdist over its console, and the redirect to it.

The helper is the lab's, not a fault's: undo leaves it idle (no table, no rule), `dnslab down` removes it.
"""

from __future__ import annotations

from lab import nshelper, runtime
from lab.faults.base import FaultContext

SIDECAR = runtime.HELPER
TARGET = runtime.TARGET
FAULT = nshelper.FAULT
CONSOLE_WAIT = 20.0  # a helper just (re)started: its dnsdist reads its config and opens the console


def steps(ctx: FaultContext, node: str, todo: list[dict]) -> list[str]:
    """Run nshelper steps ({"nft": ...}, {"sh": ...}, {"console": ...}) in order in the node's namespace."""
    return nshelper.request(ctx.rt, ctx.description, node, todo)


def run_in_namespace(ctx: FaultContext, node: str, script: str, fault_id: str = "") -> str:
    """Run a shell script with NET_ADMIN in the node's namespace; its output; LabError on failure."""
    return steps(ctx, node, [{"sh": script}])[0]


def nft(ctx: FaultContext, node: str, ruleset: str, fault_id: str = "") -> None:
    steps(ctx, node, [{"nft": ruleset}])


def console(ctx: FaultContext, node: str, command: str) -> str:
    """One Lua command on the node's dnsdist console; LabError when it reports an error."""
    return steps(ctx, node, [{"console": command, "wait": CONSOLE_WAIT}])[0]


def sidecars(ctx: FaultContext) -> list[runtime.Container]:
    return [c for c in ctx.rt.containers(ctx.lab) if SIDECAR in c.labels]


def kept(container: runtime.Container) -> bool:
    return (container.labels.get(SIDECAR) in (nshelper.KIND, nshelper.HOST_KIND)
            and container.labels.get(FAULT) == nshelper.KEPT)
