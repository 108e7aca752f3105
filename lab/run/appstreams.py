"""What applications and servers saw, recorded during a run (docs/apps.md):

- every app and workload node runs its agent (lab.agents.app / workload) as a streaming exec, like a client's
  prober: its JSON lines go to RUN_DIR/apps.jsonl as they come; it stops when the run closes its stdin (and
  when the orchestrator dies, the engine closes it);
- every service node's own lines (its counters, lab.agents.service) are followed into apps.jsonl too;
- every server's counters (lab.serverstats) are sampled every SAMPLE_EVERY seconds into samples.jsonl.

Bounded: at most MAX_LINES lines per node reach apps.jsonl (the rest is counted, not written), and the agents
stop by themselves after their `max_seconds`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from lab import records, serverstats
from lab.errors import LabError
from lab.runtime import Runtime

APPS_FILE = records.APPS_FILE
SAMPLES_FILE = records.SAMPLES_FILE
SAMPLE_EVERY = 1.0  # seconds between two looks at a server's counters
MAX_LINES = 200_000  # per node: about 14 h of an app at 4 requests a second
STOP_GRACE = 5.0  # after stdin closed, how long an agent may take to finish its attempt and exit
AGENT_ROLES = ("app", "workload")


class Sink:
    """One records file, appended one line per write from several threads."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.lock = threading.Lock()
        self.lines: dict[str, int] = {}
        self.dropped: dict[str, int] = {}

    def write(self, node: str, line: str) -> None:
        with self.lock:
            if self.fd < 0:
                return
            if self.lines.get(node, 0) >= MAX_LINES:
                self.dropped[node] = self.dropped.get(node, 0) + 1
                return
            os.write(self.fd, (line.rstrip("\n") + "\n").encode())
            self.lines[node] = self.lines.get(node, 0) + 1

    def close(self) -> None:
        with self.lock:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


def _json_lines(chunks, emit) -> None:
    """Split byte chunks into lines; every JSON object line goes to `emit` (logs and noise are dropped)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            emit(line)
    if buffer.strip():
        emit(buffer)


class AgentStream(threading.Thread):
    """One app or workload agent in its node's container; its lines go to apps.jsonl."""

    def __init__(self, rt: Runtime, container: str, node: str, spec: dict, sink: Sink):
        super().__init__(name=f"app-{node}", daemon=True)
        self.rt, self.container, self.node, self.spec, self.sink = rt, container, node, spec, sink
        self.module = "app" if "app" in spec else "workload"
        self.stream = None
        self.summary: dict | None = None
        self.stderr = b""

    def start_exec(self) -> None:
        argv = ["python3", "-u", "-m", f"lab.agents.{self.module}", json.dumps({**self.spec, "stdin": True})]
        self.stream = self.rt.exec_stream(self.container, argv, stdin=True)
        self.start()

    def run(self) -> None:
        def outs():
            for out, err in self.stream.chunks():
                if err:
                    self.stderr = (self.stderr + err)[-2000:]
                if out:
                    yield out
        try:
            _json_lines(outs(), self._line)
        except Exception:  # noqa: BLE001 - the stream broke: what came is written, the report says how many
            pass

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip()
        if not text.startswith("{"):
            return
        try:
            parsed = json.loads(text)
        except ValueError:
            return
        if parsed.get("kind") == "summary":
            self.summary = parsed
        if isinstance(parsed.get("t"), (int, float)):
            self.sink.write(self.node, text)

    def stop(self) -> None:
        if self.stream is not None:
            self.stream.close_stdin()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def why_stopped(self) -> str:
        tail = self.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        return tail[0] if tail else "no output"


class ServiceFollower(threading.Thread):
    """A service node's own lines (its counters) from the run's start, into apps.jsonl."""

    def __init__(self, rt: Runtime, container: str, node: str, since: float, sink: Sink):
        super().__init__(name=f"service-{node}", daemon=True)
        self.node, self.since, self.sink = node, since, sink
        self.stream = rt.follow_logs(container, since)

    def run(self) -> None:
        try:
            _json_lines(self.stream, self._line)
        except Exception:  # noqa: BLE001 - closing the stream ends the loop this way
            pass

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip()
        try:
            parsed = json.loads(text) if text.startswith("{") else None
        except ValueError:
            return
        if parsed and isinstance(parsed.get("t"), (int, float)) and parsed["t"] >= self.since - 0.001:
            self.sink.write(self.node, text)

    def stop(self) -> None:
        try:
            self.stream.close()
        except Exception:  # noqa: BLE001 - already closed
            pass


class Sampler:
    """Every server's counters every SAMPLE_EVERY seconds: one long-lived lab.agents.statsloop per server (a
    streaming exec like a prober, stopped by closing its stdin), never an exec per sample — an exec into a
    container a fault has paused would hang."""

    def __init__(self, rt: Runtime, description: dict, sink: Sink, every: float = SAMPLE_EVERY):
        self.rt, self.sink, self.every = rt, sink, every
        self.servers = {node: info for node, info in description["nodes"].items()
                        if (info["role"], info["software"]) in serverstats.SOURCES}
        self.streams: dict[str, object] = {}
        self.threads: list[threading.Thread] = []
        self.failures: dict[str, str] = {}

    def start(self) -> None:
        for node, info in self.servers.items():
            spec = {"command": serverstats.command(info["role"], info["software"]), "every": self.every}
            argv = ["python3", "-u", "-m", "lab.agents.statsloop", json.dumps(spec)]
            try:
                self.streams[node] = self.rt.exec_stream(info["container"], argv, stdin=True)
            except LabError as exc:
                self.failures[node] = str(exc)[:200]
                continue
            thread = threading.Thread(target=self._follow, args=(node, info), daemon=True, name=f"sample-{node}")
            thread.start()
            self.threads.append(thread)

    def _follow(self, node: str, info: dict) -> None:
        def outs():
            for out, _ in self.streams[node].chunks():
                if out:
                    yield out
        try:
            _json_lines(outs(), lambda raw: self._sample(node, info, raw))
        except Exception as exc:  # noqa: BLE001 - the stream broke: the samples so far are written
            self.failures[node] = str(exc)[:200]

    def _sample(self, node: str, info: dict, raw: bytes) -> None:
        try:
            line = json.loads(raw)
        except ValueError:
            return
        if line.get("exit_code") != 0:
            self.failures[node] = (line.get("error") or line.get("output") or "")[-200:]
            return
        try:
            stats = serverstats.parse(info["role"], info["software"], line["output"])
        except serverstats.StatsError as exc:
            self.failures[node] = str(exc)[:200]
            return
        self.sink.write(node, json.dumps({"t": line["t"], "server": node, "role": info["role"],
                                          "software": info["software"], "stats": stats}))

    def stop(self) -> None:
        for stream in self.streams.values():
            try:
                stream.close_stdin()
            except Exception:  # noqa: BLE001 - already closed
                pass

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        for stream in self.streams.values():
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - already closed
                pass


class AppRecording:
    """Everything this module records for one run; `start` after the setup steps, `stop` at the end."""

    def __init__(self, rt: Runtime, description: dict, run_dir: Path, sample: bool):
        self.rt, self.description = rt, description
        nodes = description["nodes"]
        self.agents = {n: info for n, info in nodes.items() if info["role"] in AGENT_ROLES and "agent" in info}
        self.services = {n: info for n, info in nodes.items() if info["role"] == "service"}
        self.sample = sample or bool(self.agents)
        self.apps_sink = Sink(run_dir / APPS_FILE) if self.agents or self.services else None
        self.samples_sink = Sink(run_dir / SAMPLES_FILE) if self.sample else None
        self.streams: list[AgentStream] = []
        self.followers: list[ServiceFollower] = []
        self.sampler: Sampler | None = None

    def start(self, since: float) -> None:
        if self.samples_sink is not None:
            self.sampler = Sampler(self.rt, self.description, self.samples_sink)
            self.sampler.start()
        for node, info in self.services.items():
            follower = ServiceFollower(self.rt, info["container"], node, since, self.apps_sink)
            follower.start()
            self.followers.append(follower)
        for node, info in self.agents.items():
            stream = AgentStream(self.rt, info["container"], node, info["agent"], self.apps_sink)
            self.streams.append(stream)
            try:
                stream.start_exec()
            except LabError as exc:
                raise LabError(f"cannot start the {info['role']} agent in {node}: {exc}") from None

    def lost(self) -> list[str]:
        """Agents whose stream ended before the run stopped them: '<node>: <last stderr line>'."""
        return [f"{s.node}: {s.why_stopped()}" for s in self.streams if not s.is_alive() and s.summary is None]

    def stop(self) -> dict:
        """Stop every agent (stdin closed: each finishes its attempt and prints its summary), the followers and
        the sampler; returns what the report says about them."""
        for stream in self.streams:
            stream.stop()
        if self.sampler is not None:
            self.sampler.stop()
        deadline = time.monotonic() + STOP_GRACE
        for stream in self.streams:
            stream.join(max(0.1, deadline - time.monotonic()))
            stream.close()
        for follower in self.followers:
            follower.stop()
        for follower in self.followers:
            follower.join(2)
        if self.sampler is not None:
            self.sampler.join(5)
        for sink in (self.apps_sink, self.samples_sink):
            if sink is not None:
                sink.close()
        figures = {s.node: {"lines": self.apps_sink.lines.get(s.node, 0), "finished": s.summary is not None,
                            **({} if s.summary is not None else {"why": s.why_stopped()})} for s in self.streams}
        dropped = {**(self.apps_sink.dropped if self.apps_sink else {})}
        return {"agents": figures, "dropped_lines": dropped,
                "sampled": sorted(self.sampler.servers) if self.sampler else [],
                "sample_failures": dict(self.sampler.failures) if self.sampler else {}}
