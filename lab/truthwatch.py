"""Record the truth during a run: what every authoritative server of the probed names holds, into truth.jsonl.

One helper per server (lab.truth.plan: every server of each probed name's zone, its hidden primary too)
joins the server's network namespace; lab.agents.truth runs in it (a streaming exec, its stdin held open),
asks 127.0.0.1 every 0.1 s and prints a line per change, and a thread follows it into RUN_DIR/truth.jsonl
(one write per line).

Why a helper in the namespace: there the sampler is behind no dns-answer fault (dnsdist's redirect only
takes DNS arriving from outside) and no network fault (loopback is exempt), so it sees what the server holds,
zone-data faults included, and never a lie told in front of it; in a container of its own it takes none of
the server's CPU share (a flood lab gives servers 1 %) and is not frozen with it (pause).

The helpers are kept from the run that started them until `down`, idle between runs, like the fault
helpers (lab.nshelper): starting three containers and putting the agents' code in cost each run 1-3 s. A
run reuses a helper that runs in its server's current namespace with the agents' code of this dnslab (the
labels TARGET_STARTED and CODE say so) and replaces any other. The sampler is each run's own: it stops when
its stdin ends — the run closes it, or the engine does when the orchestrator dies.

A server's container that restarts (a process fault, a serial regression) leaves the helper in the old,
empty namespace: the sampler exits, the thread writes `{"sampler": "stopped"}`, and starts a new helper once
the server runs again (the judge treats the gap as unseen). Helpers carry the lab's label (`dnslab down`
removes them, also after a killed orchestrator) and dnslab.truth=<server>, not the fault helpers' label: a
fault sweep during the rollback leaves them be. They hold no capability (they only ask). The run calls
start() before its setup steps and stop() once its probers stopped sending.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from lab import image, nodespec, nshelper, runtime, truth
from lab.errors import LabError
from lab.runtime import Runtime

LABEL = "dnslab.truth"  # the server a truth helper samples
TARGET_STARTED = nshelper.TARGET_STARTED  # the server's start time when the helper joined its namespace
CODE = "dnslab.truth-code"  # digest of the agents' code put into the helper
NODE_LABELS = (runtime.NODE, runtime.ROLE, runtime.SOFTWARE, runtime.HELPER)
INTERVAL = 0.1  # seconds between two looks at a server
QUERY_TIMEOUT = 0.3
START_TIMEOUT = 15.0  # how long start() waits for every sampler's first round
RETRY_EVERY = 0.5  # while a server's container is not running, how often to look again
STOP_GRACE = 3.0
IDLE = ["sleep", "infinity"]  # the helper's own command: samplers are execs in it

Progress = Callable[[str], None]


class TruthWatch:
    """The samplers of one run; start() them, stop() them, the lines land in RUN_DIR/truth.jsonl."""

    def __init__(self, rt: Runtime, description: dict, run_dir: Path, queries: Iterable[tuple[str, str]]):
        self.rt, self.description = rt, description
        self.plan = truth.plan(description, queries)
        self._fd = os.open(Path(run_dir) / truth.TRUTH_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [SamplerThread(self, server, queries) for server, queries in self.plan.items()]

    def write(self, line: dict) -> None:
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, (json.dumps(line) + "\n").encode())

    def start(self, progress: Progress = lambda text: None) -> None:
        """Start every sampler; wait (bounded) for each one's first round, so probes start with a truth."""
        if not self.threads:
            return
        progress(f"sampling the truth on {', '.join(self.plan)}")
        for thread in self.threads:
            self.write({"t": time.time(), "server": thread.server, "sampler": "planned", "queries": thread.queries})
            thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        for thread in self.threads:
            if not thread.started.wait(max(0.0, deadline - time.monotonic())):
                why = thread.problem or "no first round yet"
                progress(f"warning: the truth sampler for {thread.server} did not start ({why}); answers its "
                         f"data could explain are not judged until it does")

    def end(self) -> None:
        """Tell every sampler to end (its stdin closed); stop() waits for them."""
        self.stopping.set()
        for thread in self.threads:
            thread.end_stream()

    def stop(self) -> None:
        """End every sampler, wait for their last lines (bounded); the helpers stay."""
        self.end()
        deadline = time.monotonic() + STOP_GRACE
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        for thread in self.threads:
            thread.close()  # one that did not end in time: its exec is cut, the sampler sees its stdin end
            thread.join(1)
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class SamplerThread(threading.Thread):
    """One server's helper and sampler: (re)started whenever the server runs and no sampler does."""

    def __init__(self, watch: TruthWatch, server: str, queries: list[list[str]]):
        super().__init__(name=f"truth-{server}", daemon=True)
        self.watch, self.server, self.queries = watch, server, queries
        self.target = watch.description["nodes"][server]["container"]
        self.helper = f"{self.target}-truth"
        self.started = threading.Event()
        self.problem: str | None = None
        self.stream: runtime.ExecStream | None = None

    def run(self) -> None:
        while not self.watch.stopping.is_set():
            target = self.watch.rt.container(self.target)
            if target is None or target.state != "running":
                self.watch.stopping.wait(RETRY_EVERY)
                continue
            try:
                self._start(target)
                self._follow()
            except LabError as exc:
                self.problem = str(exc)[:200]
            except Exception as exc:  # noqa: BLE001 - a sampler must never take the run down
                self.problem = f"{type(exc).__name__}: {exc}"[:200]
            if not self.watch.stopping.is_set():
                self.watch.write({"t": time.time(), "server": self.server, "sampler": "stopped",
                                  "reason": self.problem or "exited"})
                self.watch.stopping.wait(RETRY_EVERY)
        self.watch.write({"t": time.time(), "server": self.server, "sampler": "stopped", "reason": "run ended"})

    def _start(self, target: runtime.Container) -> None:
        rt = self.watch.rt
        code = nodespec.agent_code()
        digest = code_digest(code)
        helper = rt.container(self.helper)
        if helper is None or helper.state != "running" or helper.labels.get(TARGET_STARTED) != target.started \
                or helper.labels.get(CODE) != digest:
            rt.remove(self.helper)  # the one a restart left behind, one with other code, or a dead one
            labels = {k: v for k, v in target.labels.items() if k.startswith("dnslab.") and k not in NODE_LABELS}
            rt.start_helper(self.helper, self.target, self.watch.description["image"], IDLE,
                            {**labels, LABEL: self.server, TARGET_STARTED: target.started, CODE: digest},
                            env=dict(image.ENVIRONMENT), net_admin=False)
            rt.put_files(self.helper, code)
        spec = {"server": self.server, "queries": self.queries, "interval": INTERVAL, "timeout": QUERY_TIMEOUT,
                "stdin": True}
        self.stream = rt.exec_stream(self.helper, ["python3", "-u", "-m", "lab.agents.truth", json.dumps(spec)],
                                     stdin=True)

    def _follow(self) -> None:
        buffer = b""
        for out, _ in self.stream.chunks():
            if out:
                buffer += out
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._line(line)
        self.problem = self.problem or "the sampler exited (its server's container restarted?)"

    def _line(self, raw: bytes) -> None:
        try:
            line = json.loads(raw)
        except ValueError:
            return
        if not isinstance(line, dict) or not isinstance(line.get("t"), (int, float)):
            return
        self.watch.write(line)
        if line.get("sampler") == "started":
            self.problem = None
            self.started.set()

    def end_stream(self) -> None:
        if self.stream is not None:
            try:
                self.stream.close_stdin()
            except Exception:  # noqa: BLE001 - gone already
                pass

    def close(self) -> None:
        if self.stream is not None:
            try:
                self.stream.close()
            except Exception:  # noqa: BLE001 - gone already
                pass


def code_digest(files: dict[str, runtime.File]) -> str:
    """What a kept helper's code is: it is replaced when this dnslab's agents differ."""
    digest = hashlib.sha256()
    for path, file in sorted(files.items()):
        digest.update(path.encode() + b"\0" + file.content + b"\0")
    return digest.hexdigest()[:16]
