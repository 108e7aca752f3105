"""Put the pipeline roles a run asks for in place: the built-in planner and enactors, or a user's program
(lab.automation, docs/automation.md). A role container whose plug-in differs from what the run wants is
recreated; a role that will not start, or dies, is named with its exit code and its last lines of output.

    roles.ensure(rt, description, {"enactor": Automation(command=("sh", "-c", "./enact"))}, progress)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from lab import nodespec, runtime
from lab.automation import Automation
from lab.errors import LabError
from lab.runtime import Runtime
from lab.topology import load as topology_load

STARTUP_GRACE = 1.5  # seconds a replaced role must stay up before the run counts on it
TAIL = 5  # lines of a failed role's output in its error


class RoleFailed(LabError):
    """A pipeline role would not start, died, or broke the automation contract (exit code 3)."""


def wanted(description: dict, overrides: Mapping[str, Automation]) -> dict[str, Automation]:
    """agent node -> the plug-in it should run: the run's over the topology's (the topology's is what `up`
    made it with)."""
    topology = topology_load.load(description["topology"])
    return {name: overrides.get(node.software, Automation()).over(node.automation)
            for name, node in topology.nodes.items() if node.role == "agent"}


def ensure(rt: Runtime, description: dict, overrides: Mapping[str, Automation],
           progress: Callable[[str], None] = lambda s: None) -> dict[str, Automation]:
    """Recreate every agent container that runs a user's program or whose plug-in is not the wanted one;
    wait until the user's ones have stayed up for STARTUP_GRACE. Returns node -> plug-in now in place."""
    lab = description["lab"]
    plugins = wanted(description, overrides)
    topology = topology_load.load(description["topology"]).at_slot(description["slot"])
    found = {c.node: c for c in rt.containers(lab) if c.node}
    # A user's program is started afresh for every run: its code may have changed since the last one.
    changed = [node for node, plugin in plugins.items() if node in found and (
        not plugin.builtin or found[node].labels.get(runtime.AUTOMATION) != plugin.digest())]
    for node in changed:
        plugin = plugins[node]
        if plugin.image:
            _require_image(rt, node, plugin.image)
        progress(f"{node}: {'built-in ' + topology.nodes[node].software if plugin.builtin else plugin.describe()}")
        labels = {k: v for k, v in found[node].labels.items()
                  if k in (runtime.LAB, runtime.TOPOLOGY, runtime.STATE_DIR, runtime.SLOT)}
        placed = {n: v["host"] for n, v in description["nodes"].items() if v.get("host")}
        spec = nodespec.agent_spec(lab, topology, node, description["image"], labels, plugin, placed)
        rt.remove(found[node].name)
        rt.create(spec)
        rt.start(spec.name)
    if any(not plugins[n].builtin for n in changed):
        time.sleep(STARTUP_GRACE)
        try:
            for node in changed:
                check_running(rt, description, node, plugins[node], "at start")
        except RoleFailed:
            stop_user_roles(rt, description, plugins)
            raise
    return plugins


def stop_user_roles(rt: Runtime, description: dict, plugins: Mapping[str, Automation]) -> list[str]:
    """After a role failed: stop every user's program still running (the next run starts them afresh)."""
    stopped = []
    for node, plugin in plugins.items():
        if plugin.builtin:
            continue
        container = rt.container(description["nodes"][node]["container"])
        if container is None or not container.up:
            continue
        try:
            if container.state == "paused":
                rt.unpause(container.name)
            rt.kill(container.name)
            stopped.append(node)
        except LabError:  # gone or already stopping: nothing of it runs
            pass
    return stopped


def check_running(rt: Runtime, description: dict, node: str, plugin: Automation, when: str) -> None:
    """Raise RoleFailed naming the role, its exit code and its last output when its container is not up."""
    container = rt.container(description["nodes"][node]["container"])
    if container is None:
        raise RoleFailed(f"{node} ({plugin.describe()}) is gone: its container was removed")
    if container.up:
        return
    raise RoleFailed(failure_line(rt, container, node, plugin, when))


def failure_line(rt: Runtime, container: runtime.Container, node: str, plugin: Automation, when: str) -> str:
    tail = last_output(rt, container.name)
    said = f"; last output: {' | '.join(tail)}" if tail else "; it printed nothing"
    # The run takes a lab it brought up down again, container and logs with it: --keep keeps them.
    hint = (f"; its whole output: run again with --keep, then 'docker logs {container.name}'"
            if not plugin.builtin else "")
    error = f" ({container.error})" if container.error else ""
    return f"{node} ({plugin.describe()}) exited with code {container.exit_code} {when}{error}{said}{hint}"


def last_output(rt: Runtime, name: str, lines: int = TAIL) -> list[str]:
    text = rt.logs(name, stdout=True, stderr=True, tail=lines)
    return [line.strip()[:160] for line in text.splitlines() if line.strip()][-lines:]


def _require_image(rt: Runtime, node: str, name: str) -> None:
    if rt.image_id(name) is None:
        raise RoleFailed(f"{node}: image {name} not found; build it on the lab image (FROM dnslab:latest, "
                         f"see docs/automation.md) before the run")
