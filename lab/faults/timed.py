"""Faults with a time limit (`dnslab fault add --for 15s`): the command returns at once, a detached
`dnslab fault clear ID --when-due` clears the fault when it is due. The record in faults.json carries
`until`, so `fault list` shows it and any fault command clears one whose background clear died (clear_due);
`fault clear ID` / `--all` clear it sooner, like any fault."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from lab import state
from lab.errors import InputError
from lab.faults import clear, store
from lab.faults.base import FaultContext

LOG = "timed-clears.log"  # in the lab's state directory: what a background clear said


def clear_later(lab: str, record: dict, seconds: float) -> float:
    """Record when the fault is due and start its background clear; the due time (Unix)."""
    due = time.time() + seconds
    store.put(lab, record | {"until": due})
    log = state.lab_dir(lab) / LOG
    with open(log, "a") as sink:
        subprocess.Popen([sys.executable, "-m", "lab", "fault", "clear", record["id"], "--name", lab, "--when-due"],
                         stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, start_new_session=True,
                         env={**os.environ, "DNSLAB_NAME": lab})
    return due


def clear_when_due(ctx: FaultContext, fault_id: str) -> None:
    """Sleep until the fault is due, then clear it, unless it was cleared meanwhile (by hand, --all, down)."""
    while (record := store.get(ctx.lab, fault_id)) is not None and (left := record.get("until", 0) - time.time()) > 0:
        time.sleep(min(left, 1.0))
    if record is not None:
        try:
            clear(ctx, fault_id)
        except InputError:  # cleared by another command a moment ago
            return
        print(f"{time.strftime('%H:%M:%S')} cleared {fault_id} (due)", flush=True)


def clear_due(ctx: FaultContext) -> list[dict]:
    """Clear every fault whose time is over (its background clear was killed, or is about to): the records."""
    cleared = []
    for record in store.active(ctx.lab):
        if record.get("until") and record["until"] <= time.time():
            try:
                cleared.append(clear(ctx, record["id"]))
            except InputError:  # its background clear was quicker
                pass
    return cleared
