"""Process faults: freeze, kill, stop or restart a node's server (PID 1 of its container).

Undo brings the process back (unpause / start) and waits until the node answers DNS again, so the caller
can rely on "cleared" meaning "serving". `restart` is over when it returns: its undo has nothing to do.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

from lab import nshelper
from lab.errors import LabError
from lab.faults.base import FaultContext, FaultKind
from lab.faults.readiness import wait_answering
from lab.parallel import parallel

STOP_TIMEOUT = 5  # seconds the engine waits for SIGTERM before SIGKILL


def _each(ctx: FaultContext, record: dict, action) -> None:
    # Actions that take containers off their networks serialise themselves in the runtime (rt.leaving).
    parallel(lambda node: action(ctx.container(node)), record["nodes"])


def _pause(ctx: FaultContext, record: dict) -> None:
    _each(ctx, record, ctx.rt.pause)


def _unpause(ctx: FaultContext, record: dict) -> None:
    def unpause(name: str) -> None:
        found = ctx.rt.container(name)
        if found is not None and found.state == "paused":
            ctx.rt.unpause(name)
    _each(ctx, record, unpause)


def _kill(ctx: FaultContext, record: dict) -> None:
    _each(ctx, record, ctx.rt.kill)


def _stop(ctx: FaultContext, record: dict) -> None:
    _each(ctx, record, lambda name: ctx.rt.stop(name, timeout=STOP_TIMEOUT))


def _restart(ctx: FaultContext, record: dict) -> None:
    _each(ctx, record, lambda name: ctx.rt.restart(name, timeout=STOP_TIMEOUT))
    _ready(ctx, record["nodes"], record)


def _ready(ctx: FaultContext, nodes: list[str], record: dict | None = None) -> None:
    """Wait until the nodes answer; meanwhile their helpers join the new namespaces (lab.nshelper)."""
    def renew() -> None:
        try:
            nshelper.renew(ctx.rt, ctx.description, nodes)
        except LabError:
            pass  # the next fault on the node starts its helper itself
    helpers = threading.Thread(target=renew, daemon=True)
    helpers.start()
    ready = {n: round(wait_answering(ctx, n), 3) for n in nodes}
    helpers.join()
    if record is not None:
        record["ready_s"] = ready


def _start(ctx: FaultContext, record: dict) -> None:
    def start(name: str) -> None:
        found = ctx.rt.container(name)
        if found is not None and found.state == "paused":
            ctx.rt.unpause(name)
        elif found is not None and found.state != "running":
            ctx.rt.start(name)
    _each(ctx, record, start)
    _ready(ctx, record["nodes"], record)


def _nothing(ctx: FaultContext, record: dict) -> None:
    pass


def resume_all(ctx: FaultContext, leave: Collection[str] = ()) -> list[str]:
    """Sweep: unpause or start every node container that is not running (but those in `leave`); return their
    node names."""
    woken = []
    for container in ctx.rt.containers(ctx.lab):
        node = container.node
        if node is None or container.state == "running" or node in leave:
            continue
        try:
            ctx.rt.unpause(container.name) if container.state == "paused" else ctx.rt.start(container.name)
            woken.append(node)
        except LabError:
            continue
    _ready(ctx, [node for node in woken if node in ctx.description["nodes"]])
    return woken


KINDS = {
    "pause": FaultKind("pause", "process", "freeze every process of the node (cgroup freezer); undo: unpause",
                       {}, _pause, _unpause, stops_containers=True),
    "kill": FaultKind("kill", "process", "SIGKILL the node's server; undo: start it and wait until it answers",
                      {}, _kill, _start, stops_containers=True),
    "stop": FaultKind("stop", "process", "stop the node's server (SIGTERM); undo: start it and wait until it answers",
                      {}, _stop, _start, stops_containers=True),
    "restart": FaultKind("restart", "process", "restart the node's server and wait until it answers; undo: nothing",
                         {}, _restart, _nothing, stops_containers=True),
}
