"""Actions a playbook step can run: one table from action name to function (add yours to ACTIONS).

    steps:
      - action: {name: zone_update, params: {zone: cloud.test., ops: [[replace, api, 5, A, [198.51.100.7]]]}}

An action is `function(ctx: RunContext, params: dict) -> dict`: it gets the run's context (Docker client,
lab description, seeded rng, `emit` for events, the step's timeout) and the step's params, with defaults
filled in, and returns a small JSON-ready result that goes into the `action_done` event. It raises
lab.errors.LabError (or a subclass) when it fails; the run then stops, rolls back and reports the error.
Parameters are validated before a run starts, with the same Param shape as checks and faults.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import zoneupdate
from lab.params import Param, table_problems
from lab.errors import LabError


@dataclass
class RunContext:
    """What an action may use while a playbook runs."""

    client: Any  # docker.DockerClient
    description: dict  # the lab's lab.json
    lab: str
    rng: random.Random
    run_dir: Path
    emit: Callable[..., None]  # emit(event, **fields): one line in events.jsonl (source "runner")
    timeout: float | None = None  # the step's timeout, when it set one
    extra: dict = field(default_factory=dict)  # anything an action wants to keep for later actions
    # A change to servers goes through the run's faults: recorded (fault_injected), excused by the
    # container watch, rolled back with the rest. inject(kind, target, params) -> record; clear(id).
    inject: Callable[[str, str, dict], dict] | None = None
    clear: Callable[[str], None] | None = None
    tick: Callable[[], None] = lambda: None  # call while waiting: timed clears, container watch, status


ActionFunction = Callable[[RunContext, dict], dict]


@dataclass(frozen=True)
class Action:
    function: ActionFunction
    params: Mapping[str, Param]
    help: str


def param_problems(name: str, params: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """Problems with an action step: (param key or None for the name, message)."""
    action = ACTIONS.get(name)
    if action is None:
        return [(None, f"unknown action {name!r} (known: {', '.join(sorted(ACTIONS))})")]
    return table_problems(f"action {name!r}", action.params, params)


def with_defaults(name: str, params: Mapping[str, Any]) -> dict:
    return {key: param.default for key, param in ACTIONS[name].params.items()} | dict(params)


# ---- zone_update --------------------------------------------------------------------------------------


def zone_update(ctx: RunContext, params: dict) -> dict:
    """Send one TSIG-signed RFC 2136 update to the zone's primary (lab.zoneupdate); fail on another rcode."""
    timeout = float(params["timeout"] if params.get("timeout") is not None else ctx.timeout or 5)
    result = zoneupdate.send(ctx.client, ctx.description, params["zone"], params["ops"], params.get("prereq") or [],
                             timeout=timeout)
    expected = str(params["expect"]).upper()
    outcome = result.get("rcode") or result.get("error")
    if outcome != expected:
        raise LabError(f"zone update of {params['zone']} answered {outcome}, expected {expected}")
    return {"rcode": result.get("rcode"), "latency_ms": result.get("latency_ms")}


ACTIONS: dict[str, Action] = {
    "zone_update": Action(zone_update, {
        "zone": Param(str, True, None, "the zone to update, e.g. cloud.test."),
        "ops": Param(list[Any], True, None, "operations as lab.agents.update takes them, e.g. "
                                            "[[replace, api, 5, A, [198.51.100.7]], [delete, old]]"),
        "prereq": Param(list[Any], False, None, "prerequisites, e.g. [[rrset_value, api, A, [198.51.100.1]]]"),
        "expect": Param(str, False, "NOERROR", "the rcode the update must get, else the step fails"),
        "timeout": Param(float, False, None, "seconds to wait for the primary's answer (default: the step's "
                                             "timeout, else 5)"),
    }, "TSIG-signed RFC 2136 update through the zone's primary"),
}


def _register_changes() -> None:
    # Server changes with their safeguards (rollout, delegate, scale_in) and the flood live in their own modules.
    from lab.playbook import changes, flood  # noqa: PLC0415 - they import this module's Action and RunContext

    ACTIONS.update(changes.ACTIONS)
    ACTIONS.update(flood.ACTIONS)


_register_changes()
