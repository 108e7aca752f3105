"""Read the pipeline agents' events from their container logs (the same JSON lines the playbook runner
follows into events.jsonl): for tests, `dnslab pipeline status` and scripts that drive a lab by hand."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from lab.enactors.control import pipeline_of
from lab.runtime import Runtime


def agent_events(rt: Runtime, description: dict, since: float = 0) -> list[dict]:
    """Every event the planner and enactors printed at or after `since` (Unix time), in time order."""
    pipeline = pipeline_of(description)
    found = []
    for node in [pipeline["planner"], *pipeline["enactors"]]:
        text = rt.logs(description["nodes"][node]["container"], stdout=True, stderr=False, since=since)
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "event" in record and record.get("t", 0) >= since:
                found.append(record)
    return sorted(found, key=lambda r: r["t"])


def wait_for_event(rt: Runtime, description: dict, match: Callable[[dict], bool], since: float,
                   timeout: float, every: float = 0.1) -> dict | None:
    """The first event after `since` for which `match` holds, polling the logs until `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for record in agent_events(rt, description, since):
            if match(record):
                return record
        if time.monotonic() >= deadline:
            return None
        time.sleep(every)
