"""Active faults of a lab, persisted in $DNSLAB_HOME/labs/<lab>/faults.json so that `dnslab fault list`,
`clear` and a runner in another process all see the same faults.

Writes are atomic (temp file + rename) and read-modify-write cycles hold an advisory lock, so two
processes adding faults at once do not lose one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from pathlib import Path
from typing import Iterator

from lab import state
from lab.files import write_atomically


def path(lab: str) -> Path:
    return state.lab_dir(lab) / "faults.json"


def _read(file: Path) -> dict:
    try:
        data = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError):
        return {"next": 1, "active": []}
    return {"next": int(data.get("next", 1)), "active": list(data.get("active", []))}


@contextlib.contextmanager
def editing(lab: str) -> Iterator[dict]:
    """The store as a dict to change in place; written back when the block ends without error."""
    file = path(lab)
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(file.with_name("faults.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _read(file)
        yield data
        write_atomically(file, json.dumps(data, indent=2))


def active(lab: str) -> list[dict]:
    return _read(path(lab))["active"]


def new_id(lab: str, kind: str) -> str:
    with editing(lab) as data:
        number = data["next"]
        data["next"] = number + 1
    return f"{kind}-{number}"


def put(lab: str, record: dict) -> None:
    with editing(lab) as data:
        data["active"] = [r for r in data["active"] if r["id"] != record["id"]] + [record]


def remove(lab: str, fault_id: str) -> None:
    with editing(lab) as data:
        data["active"] = [r for r in data["active"] if r["id"] != fault_id]


def get(lab: str, fault_id: str) -> dict | None:
    return next((r for r in active(lab) if r["id"] == fault_id), None)
