"""What flows from the lab's containers into a run as it happens: each client's prober (a streaming exec
whose lines are probes) and each pipeline agent's stdout (its JSON events, docs/automation.md).

A prober runs as long as its stdin is open: the run closes it to stop it, and when the orchestrator dies
the engine closes it for us — so probers never outlive the run that started them, on any engine.
"""

from __future__ import annotations

import json
import threading
import time

from lab import automation
from lab.runtime import Runtime
from lab.run.recorder import Recorder


class ProberStream(threading.Thread):
    """One prober inside a client container; its lines go to probes.jsonl as they arrive."""

    def __init__(self, rt: Runtime, container: str, spec: dict, recorder: Recorder):
        super().__init__(name=f"prober-{spec['client']}", daemon=True)
        self.rt, self.container, self.spec, self.recorder = rt, container, spec, recorder
        self.node = spec["client"]
        self.summary: dict | None = None
        self.stderr = b""
        self.failure: str | None = None
        self.stream = None

    def start_exec(self, hold: bool = False) -> None:
        """Start the prober; `hold`: it sends nothing until go()."""
        spec = {**self.spec, "stdin": True, **({"hold": True} if hold else {})}
        argv = ["python3", "-u", "-m", "lab.agents.prober", json.dumps(spec)]
        self.stream = self.rt.exec_stream(self.container, argv, stdin=True)
        self.start()

    def go(self) -> None:
        """A held prober starts sending."""
        self.stream.send(b"go\n")

    def run(self) -> None:
        buffer = b""
        try:
            for out, err in self.stream.chunks():
                if err:
                    self.stderr = (self.stderr + err)[-2000:]
                if out:
                    buffer += out
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        self._line(line.decode("utf-8", "replace"))
        except Exception as exc:  # noqa: BLE001 - the connection broke: say so, the monitor says why
            self.failure = f"{type(exc).__name__}: {exc}"
        if buffer.strip():
            self._line(buffer.decode("utf-8", "replace"))

    def _line(self, line: str) -> None:
        if not line.strip():
            return
        try:
            parsed = json.loads(line)
        except ValueError:
            self.stderr = (self.stderr + b"unparsable line: " + line[:200].encode())[-2000:]
            return
        if "summary" in parsed:
            self.summary = parsed["summary"]
            self.recorder.event("prober", "prober_summary", client=self.node, sent=self.summary.get("sent"),
                                written=self.recorder.written.get(self.node, 0))
            return
        self.recorder.probe(line, parsed)

    def stop(self) -> None:
        """Stop sending; the prober drains what is in flight, prints its summary and exits."""
        if self.stream is not None:
            self.stream.close_stdin()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def why_stopped(self) -> str:
        tail = self.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [self.failure or "no output"]
        return tail[0]


class AgentFollower(threading.Thread):
    """Follows one agent container's stdout: every line must be a JSON event (the automation contract,
    docs/automation.md; logs go to stderr). Events go to events.jsonl; the first line that is none is kept
    in `violation` and ends the run."""

    def __init__(self, rt: Runtime, container: str, node: str, since: float, recorder: Recorder):
        super().__init__(name=f"follow-{node}", daemon=True)
        self.node, self.since, self.recorder = node, since, recorder
        self.stream = rt.follow_logs(container, since)
        self.lines = 0
        self.violation: dict | None = None

    def run(self) -> None:
        buffer = b""
        try:
            for chunk in self.stream:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._line(line)
        except Exception:  # noqa: BLE001 - closing the stream ends the loop this way
            pass

    def _line(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        self.lines += 1
        problem = automation.event_problem(text)
        if problem:
            if self.violation is None:
                self.violation = self.recorder.event("runner", "contract_violation", node=self.node,
                                                     line=self.lines, problem=problem, text=text.strip()[:200])
            return
        if not text.strip():
            return
        event = json.loads(text)
        event.setdefault("source", self.node)
        if not isinstance(event.get("t"), (int, float)):
            event["t"] = time.time()
        if event["t"] >= self.since - 0.001:  # `since` has whole seconds: drop what came before the run
            self.recorder.add_event(event)

    def stop(self) -> None:
        try:
            self.stream.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
