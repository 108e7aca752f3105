"""Run the lab's own prober (lab.agents.prober) in a client container and read its lines as they come.

The benchmarks use the run's ProberStream and Recorder unchanged (the same code path as `dnslab run`),
with the records in a temporary directory: closing the prober's stdin stops it, and it then waits for the
queries in flight and prints its summary.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Self

from lab import lifecycle
from lab.run.recorder import Recorder
from lab.run.streams import ProberStream

MAX_SECONDS = 60.0   # a prober never sends for longer than this, whatever happens to the bench


class Prober:
    """One prober from `client_node` to one resolver; `with Prober(...) as p:` starts and stops it."""

    def __init__(self, rt, description: dict, client_node: str, resolver: str, queries: list[list[str]],
                 rate: float, timeout: float = 1.0, dnssec: bool = False):
        self.description = description
        self.server = lifecycle.resolver_address(description, resolver, client_node)
        self.spec = {"client": client_node, "rate": rate, "timeout": timeout, "queries": queries,
                     "targets": [{"resolver": resolver, "server": self.server}], "max_seconds": MAX_SECONDS,
                     "dnssec": dnssec}  # EDNS and AD on every query: each line says whether it validated
        self.container = description["nodes"][client_node]["container"]
        self._tmp = tempfile.TemporaryDirectory(prefix="dnslab-bench-probes-")
        self.recorder = Recorder(Path(self._tmp.name), keep_all=True)  # short runs; every line is measured
        self.stream = ProberStream(rt, self.container, self.spec, self.recorder)

    def __enter__(self) -> Self:
        self.stream.start_exec()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def lines(self) -> list[dict]:
        """Probe lines so far, in send order (a timeout is printed after later answers)."""
        return sorted(self.recorder.probes, key=lambda r: r["seq"])

    def wait_lines(self, count: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.recorder.probes) < count:
            if time.monotonic() > deadline or not self.stream.is_alive():
                raise RuntimeError(f"prober in {self.container} printed {len(self.recorder.probes)} lines, "
                                   f"wanted {count}: {self.stream.why_stopped()}")
            time.sleep(0.01)
        return self.lines()

    def stop(self) -> list[dict]:
        """Stop sending, wait for the summary (queries in flight answered or timed out); every line."""
        if self._tmp is None:
            return self.lines()
        self.stream.stop()
        self.stream.join(timeout=self.spec["timeout"] + 15)
        self.stream.close()
        self.recorder.close()
        self._tmp.cleanup()
        self._tmp = None
        return self.lines()
