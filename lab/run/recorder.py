"""Recording a run: every probe and event goes to RUN_DIR's files the moment it comes (one write per line),
so a killed run still leaves its evidence."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from lab import records

KEEP_PROBES = 200  # probes kept in memory for the status line while no wait needs more (the file has them all)


class Recorder:
    """Appends records to RUN_DIR's files as they come (one write per line). In memory it keeps every event,
    but only the probes someone needs: the last KEEP_PROBES, or all since a running wait's `hold` — so a long
    run's memory does not grow with its probes (the report reads them back from the file)."""

    def __init__(self, run_dir: Path, keep_all: bool = False):
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        self._probes_fd = os.open(run_dir / records.PROBES_FILE, flags, 0o644)
        self._events_fd = os.open(run_dir / records.EVENTS_FILE, flags, 0o644)
        self._lock = threading.Lock()
        self.keep_all = keep_all
        self.probes: list[dict] = []  # probe number `first` onwards
        self.first = 0
        self.total = 0
        self._held: int | None = None
        self.events: list[dict] = []
        self.written: dict[str, int] = {}  # client -> probe lines written
        self.arrived = threading.Event()  # set by every record: a wait looks at once, not at its next tick

    def probe(self, line: str, parsed: dict) -> None:
        with self._lock:
            os.write(self._probes_fd, (line.rstrip("\n") + "\n").encode())
            self.probes.append(parsed)
            self.total += 1
            client = str(parsed.get("client"))
            self.written[client] = self.written.get(client, 0) + 1
            self.arrived.set()
            floor = self.total - KEEP_PROBES if self._held is None else min(self._held, self.total - KEEP_PROBES)
            if not self.keep_all and floor - self.first >= KEEP_PROBES:  # trim in chunks, not every line
                del self.probes[:floor - self.first]
                self.first = floor

    def hold(self) -> int:
        """Keep every probe from now on until `release`; returns the number of the next probe."""
        with self._lock:
            self._held = self.total
            return self.total

    def release(self) -> None:
        with self._lock:
            self._held = None

    def probes_since(self, number: int) -> list[dict]:
        with self._lock:
            return self.probes[max(0, number - self.first):]

    def last_probes(self, count: int) -> list[dict]:
        with self._lock:
            return self.probes[-count:]

    def event(self, source: str, event: str, **fields: Any) -> dict:
        record = {"t": time.time(), "source": source, "event": event, **fields}
        self.add_event(record)
        return record

    def add_event(self, record: dict) -> None:
        with self._lock:
            os.write(self._events_fd, (json.dumps(record, default=str) + "\n").encode())
            self.events.append(record)
            self.arrived.set()

    def close(self) -> None:
        with self._lock:
            for fd in (self._probes_fd, self._events_fd):
                os.close(fd)
