"""Operate a lab's pipeline from the host: every command runs lab.agents.pipectl inside the planner's
container (it mounts the plan store and holds the update key), so nothing here touches the volume or
sends DNS itself.

    configure(rt, description, {"enactor.strategy": "guarded", "pipeline.interval": 0.5})
    reset(rt, description, settings)     # a clean start: no plans, a baseline generation in the store and DNS
    repair(rt, description)              # the operator's fix: the newest plan on every endpoint
    status(rt, description)              # newest plan, what each enactor does, what DNS says
"""

from __future__ import annotations

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


def _pipectl(rt: Runtime, description: dict, payload: dict, timeout: float = 30) -> dict:
    planner = pipeline_of(description)["planner"]
    container = description["nodes"][planner]["container"]
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
