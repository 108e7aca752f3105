"""Operate a lab's pipeline from the host: every command runs lab.agents.pipectl inside the planner's
container (it mounts the plan store and holds the update key), so nothing here touches the volume or
sends DNS itself.

A command starts a python in the planner over an exec (0.2-0.6 s by load), unless this process keeps a
channel open there: a run opens one as it starts (`open_channel`, in the background) and closes it at its
end, so the race's reset and repair cost only what they do. A channel that breaks (the planner restarted)
is dropped and the command runs over an exec as before.

    configure(rt, description, {"enactor.strategy": "guarded", "pipeline.interval": 0.5})
    reset(rt, description, settings)     # a clean start: no plans, a baseline generation in the store and DNS
    repair(rt, description)              # the operator's fix: the newest plan on every endpoint
    status(rt, description)              # newest plan, what each enactor does, what DNS says
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from lab.agentrun import exec_json
from lab.agents import settings as table
from lab.errors import InputError, LabError
from lab.runtime import Runtime


def pipeline_of(description: dict) -> dict:
    pipeline = description.get("pipeline")
    if not pipeline:
        raise InputError(f"lab {description['lab']!r} has no pipeline (its topology has no `pipeline:` section); "
                         f"start one from compose/enactors.yml")
    return pipeline


def flatten(settings: Mapping[str, Any]) -> dict[str, Any]:
    """{"enactor": {"strategy": ...}} or {"enactor.strategy": ...} or {"strategy": ...} -> {"strategy": ...};
    raise InputError naming the first unknown key or bad value."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if key in table.SECTIONS and isinstance(value, Mapping):
            flat.update(flatten({f"{key}.{k}": v for k, v in value.items()}))
            continue
        full = table.full_key(str(key))
        if full is None:
            raise InputError(f"unknown pipeline setting {key!r}; settings: {', '.join(table.SETTINGS)}")
        message = table.problem(full, value)
        if message:
            raise InputError(message)
        flat[table.flat_name(full)] = value
    return flat


class Channel:
    """`python3 -m lab.agents.pipectl -` in the planner's container, kept open: a command is a line each way."""

    def __init__(self, rt: Runtime, container: str):
        self.container = container
        self.stream = rt.exec_stream(container, ["python3", "-u", "-m", "lab.agents.pipectl", "-"], stdin=True)
        self.chunks = self.stream.chunks()
        self.buffer = b""
        self.lock = threading.Lock()
        if self.request({"command": "ping"}, 30) != {}:  # its python has started and read its configuration
            raise ValueError("the pipeline's command loop did not answer")

    def request(self, payload: dict, timeout: float) -> Any:
        """The command's answer; ValueError when none came in `timeout` seconds (a frozen planner: the
        channel is closed and the caller tries an exec, which the engine refuses with its reason)."""
        answer: list = []

        def ask() -> None:
            with self.lock:
                self.stream.send((json.dumps(payload) + "\n").encode())
                while b"\n" not in self.buffer:
                    out, _ = next(self.chunks)  # StopIteration: the loop or its container ended
                    self.buffer += out or b""
                line, _, self.buffer = self.buffer.partition(b"\n")
            answer.append(json.loads(line))
        asking = threading.Thread(target=lambda: _quietly(ask), name="pipectl-request", daemon=True)
        asking.start()
        asking.join(timeout)
        if not answer:
            self.close()
            raise ValueError(f"no answer from the pipeline's command loop in {timeout:g}s")
        return answer[0]

    def close(self) -> None:
        self.stream.close()


def _quietly(function) -> None:
    try:
        function()
    except (StopIteration, OSError, ValueError):
        pass  # no answer: the caller says so


_channel: Channel | None = None
_opening: threading.Thread | None = None
_guard = threading.Lock()


def open_channel(rt: Runtime, description: dict) -> threading.Thread:
    """Start this process's channel to the planner in the background (a run, as it starts); commands wait
    for it while it opens and run over an exec when it could not."""
    global _opening
    container = description["nodes"][pipeline_of(description)["planner"]]["container"]

    def open_it() -> None:
        global _channel
        try:
            channel = Channel(rt, container)
        except (LabError, StopIteration, OSError, ValueError):
            return  # an older lab's agents, a planner not running: commands go over an exec
        with _guard:
            _channel = channel
    close_channel()
    thread = threading.Thread(target=open_it, name="pipectl-channel", daemon=True)
    with _guard:
        _opening = thread
    thread.start()
    return thread


def close_channel() -> None:
    global _channel, _opening
    with _guard:
        channel, opening, _channel, _opening = _channel, _opening, None, None
    if opening is not None:
        opening.join()
    if channel is not None:
        channel.close()


def _kept(container: str) -> Channel | None:
    with _guard:
        opening = _opening
    if opening is not None:
        opening.join()
    with _guard:
        return _channel if _channel is not None and _channel.container == container else None


def _pipectl(rt: Runtime, description: dict, payload: dict, timeout: float = 30) -> dict:
    global _channel
    planner = pipeline_of(description)["planner"]
    container = description["nodes"][planner]["container"]
    channel, result = _kept(container), None
    if channel is not None:
        try:
            result = channel.request(payload, timeout)
        except (StopIteration, OSError, ValueError):
            with _guard:
                _channel = None if _channel is channel else _channel
            channel.close()
    if result is None:
        result = exec_json(rt, container, "lab.agents.pipectl", payload, timeout=timeout)
    if isinstance(result, dict) and result.get("error"):
        raise LabError(f"pipeline {payload['command']}: {result['error']}")
    return result


def configure(rt: Runtime, description: dict, settings: Mapping[str, Any]) -> dict:
    """Write settings to the plan store; running agents take them up on their next cycle. Returns the
    settings now in force."""
    return _pipectl(rt, description, {"command": "configure", "settings": flatten(settings)})


def reset(rt: Runtime, description: dict, settings: Mapping[str, Any] | None = None,
          hold_timeout: float = 10) -> dict:
    """Start from a clean state: hold the agents, delete every plan, write a baseline plan (the whole pool
    in service) as a new generation to the store and to DNS, apply `settings`, let the agents go.

    Generation numbers go on from the highest ever produced or served instead of starting at 0 again:
    clients probing across a reset would otherwise see the generation go back, a regression no enactor
    caused."""
    return _pipectl(rt, description, {"command": "reset", "settings": flatten(settings or {}),
                                          "timeout": hold_timeout}, timeout=hold_timeout + 30)


def repair(rt: Runtime, description: dict) -> dict:
    """`dnslab repair`: write the newest plan to every endpoint (compare-and-set, so it never undoes a
    newer write) and note the repair in the store; stuck enactors resume on their next cycle."""
    result = _pipectl(rt, description, {"command": "repair"})
    if result.get("errors"):
        failed = ", ".join(f"{e}: {why}" for e, why in result["errors"].items())
        raise LabError(f"repair wrote generation {result['generation']} to {len(result['written'])} endpoints "
                       f"but failed for {failed}; run 'dnslab repair' again")
    return result


def status(rt: Runtime, description: dict) -> dict:
    """The pipeline now: newest generation, each agent's status (with its container state), what the
    primary serves per endpoint, which endpoints point at a deleted plan, whether enactors are stuck."""
    pipeline = pipeline_of(description)
    found = {c.node: c.state for c in rt.containers(description["lab"]) if c.node}
    if found.get(pipeline["planner"]) != "running":
        raise LabError(f"the planner container is {found.get(pipeline['planner'], 'missing')}: cannot read the "
                       f"plan store; bring it back with 'dnslab up --name {description['lab']}'")
    result = _pipectl(rt, description, {"command": "status"})
    for node in [pipeline["planner"], *pipeline["enactors"]]:
        result["agents"].setdefault(node, {"state": "unknown"})["container"] = found.get(node, "missing")
    result["stuck"] = sorted(n for n in pipeline["enactors"] if result["agents"][n].get("state") == "stuck")
    return result
