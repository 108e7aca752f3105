"""The end of every run, whatever ended it: roll every fault back, stop the probers and drain them, stop
following the agents. Ctrl-C and SIGTERM are held off (and said so) until it is done."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lab import faults
from lab.parallel import in_background

if TYPE_CHECKING:
    from lab.run.execute import Run

DRAIN_GRACE = 10.0  # beyond the probe timeout, how long to wait for probers to drain


def roll_back(run: Run, leave: list[str] = ()) -> Callable[[], str | None]:
    """Clear every fault the run still holds; then, in the background, sweep what no record explains (every
    node's helper asked, 0.3-0.7 s) while the caller stops the recording. Returns the function that waits for
    the sweep: the problems, or None. The probers see the run's own faults undone; only leftovers no record
    explains (a killed run's) may go after their last probe."""
    run.progress("rolling back faults")
    problems = []
    for fault_id in list(run.open_faults):
        try:
            run.clear(fault_id)
        except Exception as exc:  # noqa: BLE001 - the sweep below gets another go
            problems.append(f"{fault_id}: {exc}")
            run.open_faults.pop(fault_id, None)
    swept = in_background(lambda: _sweep(run, leave, problems), "rollback-sweep")

    def done() -> str | None:
        try:
            return swept()
        except Exception as exc:  # noqa: BLE001 - reported, and the exit code says so
            return f"rollback incomplete: the sweep broke off ({exc})"
    return done


def _sweep(run: Run, leave: list[str], problems: list[str]) -> str | None:
    try:
        for record in faults.clear_all(run.fault_ctx, leave):
            run.recorder.event("runner", "fault_cleared", id=record.get("id"), kind=record.get("kind"),
                               target=record.get("target"), sweep=True)
        left = faults.active(run.fault_ctx)
    except Exception as exc:  # noqa: BLE001 - reported, and the exit code says so
        left = [{"id": "?", "error": str(exc)}]
    if left:
        problems.append(f"still in force after the sweep: {json.dumps(left, default=str)[:300]}")
    if problems:
        run.recorder.event("runner", "rollback_incomplete", problems=problems)
        return "rollback incomplete: " + "; ".join(problems)
    return None


def stop_recording(run: Run) -> None:
    """Tell every prober to stop, then the truth samplers (they sample on until they hear it, after the
    probers' last query), wait for both side by side (bounded), stop following the agents."""
    run.progress("stopping probers")
    for prober in run.probers:
        prober.stop()
    run.truth.end()
    deadline = time.monotonic() + run.playbook.probes.timeout + DRAIN_GRACE
    for prober in run.probers:
        prober.join(max(0.1, deadline - time.monotonic()))
        if prober.is_alive() or prober.summary is None:
            run.recorder.event("runner", "prober_unfinished", client=prober.node, reason=prober.why_stopped())
        prober.close()
    run.truth.stop()  # their last lines
    run.apps_figures = run.apps.stop()
    for follower in run.followers:
        follower.stop()
    for follower in run.followers:
        follower.join(2)


def hold_signals(notice: Callable[[], None]) -> Callable[[], None]:
    """Ignore Ctrl-C and SIGTERM (saying so) until the returned function restores the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: notice())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return restore
