"""Process faults: freeze, kill, stop or restart a node's server (PID 1 of its container).

Undo brings the process back (unpause / start) and waits until the node answers DNS again, so the caller
can rely on "cleared" meaning "serving". `restart` is over when it returns: its undo has nothing to do.
"""

from __future__ import annotations

from collections.abc import Collection

import docker.errors

from lab import runtime
from lab.faults.base import FaultContext, FaultKind
from lab.faults.readiness import wait_answering

STOP_TIMEOUT = 5  # seconds docker waits for SIGTERM before SIGKILL


def _each(ctx: FaultContext, record: dict, action) -> None:
    runtime.parallel(lambda node: action(ctx.client.containers.get(ctx.container(node))), record["nodes"])


def _each_leaving(ctx: FaultContext, record: dict, action) -> None:
    """Like _each, for actions that take containers off their networks: one node at a time (see
    runtime.one_by_one, a Docker 20.10 deadlock)."""
    runtime.one_by_one(lambda node: action(ctx.client.containers.get(ctx.container(node))), record["nodes"])


def _pause(ctx: FaultContext, record: dict) -> None:
    _each(ctx, record, lambda c: c.pause())


def _unpause(ctx: FaultContext, record: dict) -> None:
    def unpause(container) -> None:
        container.reload()
        if container.status == "paused":
            container.unpause()
    _each(ctx, record, unpause)


def _kill(ctx: FaultContext, record: dict) -> None:
    def kill(container) -> None:
        container.kill()
        container.wait(condition="not-running", timeout=STOP_TIMEOUT * 2)  # its network teardown is over
    _each_leaving(ctx, record, kill)


def _stop(ctx: FaultContext, record: dict) -> None:
    _each_leaving(ctx, record, lambda c: c.stop(timeout=STOP_TIMEOUT))


def _restart(ctx: FaultContext, record: dict) -> None:
    _each_leaving(ctx, record, lambda c: c.restart(timeout=STOP_TIMEOUT))
    record["ready_s"] = {n: round(wait_answering(ctx, n), 3) for n in record["nodes"]}


def _start(ctx: FaultContext, record: dict) -> None:
    def start(container) -> None:
        container.reload()
        if container.status == "paused":
            container.unpause()
        elif container.status != "running":
            container.start()
    _each(ctx, record, start)
    record["ready_s"] = {n: round(wait_answering(ctx, n), 3) for n in record["nodes"]}


def _nothing(ctx: FaultContext, record: dict) -> None:
    pass


def resume_all(ctx: FaultContext, leave: Collection[str] = ()) -> list[str]:
    """Sweep: unpause or start every node container that is not running (but those in `leave`); return their
    node names."""
    woken = []
    for container in runtime.containers(ctx.client, ctx.lab):
        node = container.labels.get(runtime.NODE)
        if node is None or container.status == "running" or node in leave:
            continue
        try:
            container.unpause() if container.status == "paused" else container.start()
            woken.append(node)
        except docker.errors.APIError:
            continue
    for node in woken:
        if node in ctx.description["nodes"]:
            wait_answering(ctx, node)
    return woken


KINDS = {
    "pause": FaultKind("pause", "process", "freeze every process of the node (cgroup freezer); undo: unpause",
                       {}, _pause, _unpause),
    "kill": FaultKind("kill", "process", "SIGKILL the node's server; undo: start it and wait until it answers",
                      {}, _kill, _start),
    "stop": FaultKind("stop", "process", "stop the node's server (SIGTERM); undo: start it and wait until it answers",
                      {}, _stop, _start),
    "restart": FaultKind("restart", "process", "restart the node's server and wait until it answers; undo: nothing",
                         {}, _restart, _nothing),
}
