"""What an action is: the context a playbook step's action runs in, and its entry in the action table.

An action is `function(ctx: RunContext, params: dict) -> dict`: it gets the run's context (the runtime,
lab description, seeded rng, `emit` for events, the step's timeout) and the step's params, with defaults
filled in, and returns a small JSON-ready result that goes into the `action_done` event. It raises
lab.errors.LabError (or a subclass) when it fails; the run then stops, rolls back and reports the error.
The modules that define actions (lab.playbook.actions, changes, flood, pipeline) import this one; the
table of them all is lab.playbook.actions.ACTIONS.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lab.params import Param
from lab.runtime import Runtime

__all__ = ["Action", "ActionFunction", "RunContext"]


@dataclass
class RunContext:
    """What an action may use while a playbook runs."""

    rt: Runtime
    description: dict  # the lab's lab.json
    lab: str
    rng: random.Random
    run_dir: Path
    emit: Callable[..., None]  # emit(event, **fields): one line in events.jsonl (source "runner")
    timeout: float | None = None  # the step's timeout, when it set one
    # A change to servers goes through the run's faults: recorded (fault_injected), excused by the
    # container watch, rolled back with the rest. inject(kind, target, params) -> record; clear(id).
    inject: Callable[[str, str, dict], dict] | None = None
    clear: Callable[[str], None] | None = None
    tick: Callable[[], None] = lambda: None  # call while waiting: timed clears, container watch, status


ActionFunction = Callable[[RunContext, dict], dict]


@dataclass(frozen=True)
class Action:
    """One action: its function, every parameter it takes (validated before the run) and one line of help."""

    function: ActionFunction
    params: Mapping[str, Param]
    help: str
