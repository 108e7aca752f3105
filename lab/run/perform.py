"""What each kind of playbook step does while a run goes on: one function per step kind, in STEPS.

A step function gets the Run (lab.run.execute) and the validated step; it waits through `run.wait` (which
keeps ticking: timed clears, the container watch, the status line) and raises LabError when it cannot do
what the step says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lab.playbook import actions, conditions
from lab.playbook.document import Step

if TYPE_CHECKING:
    from lab.run.execute import Run


def sleep(run: Run, step: Step) -> None:
    deadline = time.monotonic() + step.spec["seconds"]
    run.wait(lambda: time.monotonic() >= deadline, None, lambda: "", until=deadline)


def event(run: Run, step: Step) -> None:
    match = {k: v for k, v in step.spec.items() if k != "new"}
    if step.spec.get("new"):  # only what happens from now on: the race pauses an enactor *mid*-apply
        run.event_cursor = max(run.event_cursor, len(run.recorder.events))

    def found() -> bool:
        index = conditions.find_event(match, run.recorder.events, run.event_cursor)
        if index is not None:
            run.event_cursor = index + 1  # a later wait for the same event waits for the next one
        return index is not None

    run.wait(found, step.timeout, lambda: "no matching event yet")


def probes(run: Run, step: Step) -> None:
    since, start = time.time(), run.recorder.hold()
    resolvers = run.playbook.probes.resolvers

    def state() -> tuple[bool, str]:
        recent = [p for p in run.recorder.probes_since(start) if p.get("t", 0) >= since]
        return conditions.probe_progress(step.spec, recent, resolvers)

    try:
        run.wait(lambda: state()[0], step.timeout, lambda: state()[1])
    finally:
        run.recorder.release()


def fault(run: Run, step: Step) -> None:
    spec = step.spec
    record = run.inject(spec["kind"], spec["target"], spec["params"])
    if spec.get("as"):
        run.named[spec["as"]] = record["id"]
    if spec.get("duration"):
        run.timed_clears.append((time.monotonic() + spec["duration"], record["id"]))


def clear(run: Run, step: Step) -> None:
    for name in step.spec["names"]:
        ids = list(run.open_faults) if name == "all" else [run.named.get(name)]
        for fault_id in ids:
            if fault_id in run.open_faults:  # a fault whose duration ran out is already cleared
                run.clear(fault_id)


def action(run: Run, step: Step) -> None:
    name, params = step.spec["name"], actions.with_defaults(step.spec["name"], step.spec["params"])
    ctx = actions.RunContext(run.rt, run.description, run.lab, run.rng, run.run_dir,
                             lambda event, **fields: run.recorder.event("runner", event, **fields),
                             step.timeout, inject=run.inject, clear=run.clear, tick=run.tick)
    result = actions.ACTIONS[name].function(ctx, params)
    run.recorder.event("runner", "action_done", index=step.number, action=name, result=result)
    run.tick()


STEPS: dict[str, Callable[[Run, Step], None]] = {
    "sleep": sleep, "event": event, "probes": probes, "fault": fault, "clear": clear, "action": action,
}
