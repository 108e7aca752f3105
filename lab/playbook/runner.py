"""Run a validated playbook against a live lab: probers, agent event followers, steps, rollback, report.

This is the Docker edge of playbooks (schema, overrides and conditions are pure). What a run does:

1. brings the playbook's topology up unless it is up, and creates RUN_DIR with a copy of the playbook;
2. starts one prober per client container (a streaming `docker exec` of lab.agents.prober) and appends
   each line it prints to probes.jsonl at once; follows the logs of every `agent` container and appends
   their JSON events to events.jsonl;
3. runs the steps in order — waits (time, agent event, probe condition; every wait has a timeout),
   faults (lab.faults.inject; a duration schedules the clear), clears, actions (lab.playbook.actions) —
   while watching that no container dies or vanishes unless one of the run's faults did it;
4. always, also on an error, Ctrl-C or SIGTERM: rolls every fault back (clear, then lab.faults.clear_all as
   a sweep), tells the probers to stop and drains them, judges the checks and writes the report files.

Probers stop when their lease file (in the client's node directory, refreshed every second by this
process) goes away or goes stale, so they also stop when this process is killed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import yaml

from lab import automation, checks, lifecycle, records, report as lab_report, runtime, state
from lab.automation import Automation
from lab.errors import ExitCode, LabError
from lab.faults import store as fault_store
from lab.pipeline import playbook as pipeline_playbook, roles
from lab.playbook import actions, conditions
from lab.playbook.schema import Playbook, Step, topology_document

TICK = 0.1  # how often waits look at the records
MONITOR_EVERY = 1.0  # how often container states are checked
LEASE_REFRESH = 1.0
LEASE_STALE = 15.0  # a prober stops this long after its orchestrator stopped refreshing the lease
DRAIN_GRACE = 10.0  # beyond the probe timeout, how long to wait for probers to drain
PROCESS_FAULTS = ("pause", "kill", "stop", "restart")
PROBER_GRACE = 2.0  # after a prober's stream broke, how long to look whether its container died
KEEP_PROBES = 200  # probes kept in memory for the status line while no wait needs more (the file has them all)

Status = Callable[[str], None]


class StepFailed(LabError):
    """A step could not do what it says (a wait timed out, a fault or action failed)."""

    exit_code = ExitCode.CHECK_FAILED


class NodeLost(LabError):
    """A container died or vanished under the run without a fault of the run causing it."""


@dataclass
class RunResult:
    run_dir: Path
    report: dict
    exit_code: int
    error: str | None = None


# ---- recording --------------------------------------------------------------------------------------------


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

    def probe(self, line: str, parsed: dict) -> None:
        with self._lock:
            os.write(self._probes_fd, (line.rstrip("\n") + "\n").encode())
            self.probes.append(parsed)
            self.total += 1
            client = str(parsed.get("client"))
            self.written[client] = self.written.get(client, 0) + 1
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

    def close(self) -> None:
        with self._lock:
            for fd in (self._probes_fd, self._events_fd):
                os.close(fd)


# ---- probers and followers --------------------------------------------------------------------------------


class ProberStream(threading.Thread):
    """One prober inside a client container; its lines go to probes.jsonl as they arrive."""

    def __init__(self, client: docker.DockerClient, container: str, spec: dict, recorder: Recorder, lease: Path):
        super().__init__(name=f"prober-{spec['client']}", daemon=True)
        self.docker, self.container, self.spec, self.recorder, self.lease = client, container, spec, recorder, lease
        self.node = spec["client"]
        self.summary: dict | None = None
        self.stderr = b""
        self.failure: str | None = None

    def start_exec(self) -> None:
        self.lease.touch()
        argv = ["python3", "-u", "-m", "lab.agents.prober", json.dumps(self.spec)]
        self.exec_id = self.docker.api.exec_create(self.container, argv, stdout=True, stderr=True)["Id"]
        self.stream = self.docker.api.exec_start(self.exec_id, stream=True, demux=True)
        self.start()

    def run(self) -> None:
        buffer = b""
        try:
            for out, err in self.stream:
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
        self.lease.unlink(missing_ok=True)

    def why_stopped(self) -> str:
        tail = self.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [self.failure or "no output"]
        return tail[0]


class AgentFollower(threading.Thread):
    """Follows one agent container's stdout: every line must be a JSON event (the automation contract,
    docs/automation.md; logs go to stderr). Events go to events.jsonl; the first line that is none is kept
    in `violation` and ends the run."""

    def __init__(self, container: Any, node: str, since: float, recorder: Recorder):
        super().__init__(name=f"follow-{node}", daemon=True)
        self.container, self.node, self.since, self.recorder = container, node, since, recorder
        self.stream = container.logs(stream=True, follow=True, stdout=True, stderr=False, since=int(since))
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


# ---- the run ----------------------------------------------------------------------------------------------


@dataclass
class Run:
    playbook: Playbook
    lab: str
    run_dir: Path
    client: docker.DockerClient
    description: dict
    status: Status = lambda text: None
    progress: Status = lambda text: None
    recorder: Recorder = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        import lab.faults as faults  # noqa: PLC0415 - the faults package imports docker helpers at load

        self.faults = faults
        self.rng = random.Random(self.playbook.seed)
        self.fault_ctx = faults.FaultContext(self.client, self.description, self.rng)
        self.recorder = Recorder(self.run_dir)
        self.run_id = uuid.uuid4().hex[:8]
        self.open_faults: dict[str, dict] = {}  # fault id -> record, injected by this run and not cleared
        self.named: dict[str, str] = {}  # `as` name -> fault id
        self.timed_clears: list[tuple[float, str]] = []
        self.seed_choices: list[dict] = []
        self.event_cursor = 0
        self.probers: list[ProberStream] = []
        self.followers: list[AgentFollower] = []
        self.step: Step | None = None
        self.next_monitor = 0.0
        self.lost: list[dict] = []
        self.roles: dict[str, Automation] = {}  # agent node -> what runs there (set by `run`)
        self.role_failures: dict[str, dict] = {}
        self._lease_stop = threading.Event()

    # -- the happy path ------------------------------------------------------------------------------------

    def execute(self) -> RunResult:
        """Run every step; roll back and report whatever happens. Returns the result with its exit code."""
        interrupted, failure = False, None
        self.started = time.time()
        self.recorder.event("runner", "run_started", playbook=self.playbook.name, seed=self.playbook.seed,
                            lab=self.lab, run_dir=str(self.run_dir))
        try:
            self._start_followers()
            for step in self.playbook.setup:  # e.g. a pipeline reset: done before anyone is watching
                self._run_step(step)
            self._start_probers()
            for step in self.playbook.steps:
                self._run_step(step)
        except KeyboardInterrupt:
            interrupted = True
            self.recorder.event("runner", "interrupted", step=self.step.number if self.step else None)
        except LabError as exc:
            failure = exc
        except Exception as exc:  # noqa: BLE001 - roll back first, then let the user see it
            failure = LabError(f"{type(exc).__name__}: {exc}")
        return self._finish(interrupted, failure)

    def _run_step(self, step: Step) -> None:
        self.step = step
        total = len(self.playbook.steps)
        self.progress(f"step {step.number}/{total}: {step.text}")
        self.recorder.event("runner", "step_started", index=step.number, step=step.text)
        try:
            getattr(self, f"_step_{step.kind}")(step)
        except LabError as exc:
            self.recorder.event("runner", "step_finished", index=step.number, step=step.text, ok=False,
                                error=str(exc))
            if isinstance(exc, (NodeLost, roles.RoleFailed)):  # the lab (or the automation in it) broke: exit 3
                raise
            raise StepFailed(f"step {step.number} ({step.text}) failed: {exc}") from None
        self.recorder.event("runner", "step_finished", index=step.number, step=step.text, ok=True, error=None)

    def _step_sleep(self, step: Step) -> None:
        deadline = time.monotonic() + step.spec["seconds"]
        self._wait(lambda: time.monotonic() >= deadline, None, lambda: "")

    def _step_event(self, step: Step) -> None:
        match = {k: v for k, v in step.spec.items() if k != "new"}
        if step.spec.get("new"):  # only what happens from now on: the race pauses an enactor *mid*-apply
            self.event_cursor = max(self.event_cursor, len(self.recorder.events))

        def found() -> bool:
            index = conditions.find_event(match, self.recorder.events, self.event_cursor)
            if index is not None:
                self.event_cursor = index + 1  # a later wait for the same event waits for the next one
            return index is not None

        self._wait(found, step.timeout, lambda: "no matching event yet")

    def _step_probes(self, step: Step) -> None:
        since, start = time.time(), self.recorder.hold()
        resolvers = self.playbook.probes.resolvers

        def state() -> tuple[bool, str]:
            recent = [p for p in self.recorder.probes_since(start) if p.get("t", 0) >= since]
            return conditions.probe_progress(step.spec, recent, resolvers)

        try:
            self._wait(lambda: state()[0], step.timeout, lambda: state()[1])
        finally:
            self.recorder.release()

    def _step_fault(self, step: Step) -> None:
        spec = step.spec
        record = self._inject(spec["kind"], spec["target"], spec["params"])
        if spec.get("as"):
            self.named[spec["as"]] = record["id"]
        if spec.get("duration"):
            self.timed_clears.append((time.monotonic() + spec["duration"], record["id"]))

    def _inject(self, kind: str, target: str, params: dict) -> dict:
        """Apply a fault as part of this run (a fault step, or an action changing servers): it is recorded,
        excused by the container watch and rolled back with the others."""
        try:
            record = self.faults.inject(self.fault_ctx, kind, target, params)
        except LabError:
            raise
        except Exception as exc:  # noqa: BLE001 - a fault that cannot be applied fails its step
            raise LabError(f"{type(exc).__name__}: {exc}") from None
        self.open_faults[record["id"]] = record
        if record.get("chosen"):
            self.seed_choices.append({"step": self.step.number if self.step else None, "fault": record["id"],
                                      "target": target, "chosen": record["chosen"]})
        self.recorder.event("runner", "fault_injected", id=record["id"], kind=record.get("kind", kind),
                            target=record.get("target", target), params=record.get("params", params),
                            chosen=record.get("chosen") or {})
        return record

    def _step_clear(self, step: Step) -> None:
        for name in step.spec["names"]:
            ids = list(self.open_faults) if name == "all" else [self.named.get(name)]
            for fault_id in ids:
                if fault_id in self.open_faults:  # a fault whose duration ran out is already cleared
                    self._clear(fault_id)

    def _step_action(self, step: Step) -> None:
        name, params = step.spec["name"], actions.with_defaults(step.spec["name"], step.spec["params"])
        ctx = actions.RunContext(self.client, self.description, self.lab, self.rng, self.run_dir,
                                 lambda event, **fields: self.recorder.event("runner", event, **fields),
                                 step.timeout, inject=self._inject, clear=self._clear, tick=self._tick)
        result = actions.ACTIONS[name].function(ctx, params)
        self.recorder.event("runner", "action_done", index=step.number, action=name, result=result)
        self._tick()

    def _clear(self, fault_id: str) -> None:
        record = self.open_faults.pop(fault_id)
        self.timed_clears = [(t, i) for t, i in self.timed_clears if i != fault_id]
        self.faults.clear(self.fault_ctx, fault_id)
        self.recorder.event("runner", "fault_cleared", id=fault_id, kind=record.get("kind"),
                            target=record.get("target"))

    # -- waiting and watching ------------------------------------------------------------------------------

    def _wait(self, done: Callable[[], bool], timeout: float | None, how_far: Callable[[], str]) -> None:
        deadline = time.monotonic() + timeout if timeout is not None else None
        while True:
            self._tick()
            if done():
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise LabError(f"timed out after {timeout:g}s" + (f" ({how_far()})" if how_far() else ""))
            time.sleep(TICK)

    def _tick(self) -> None:
        """Between looks at the records: clear faults whose time is up, watch containers and probers."""
        now = time.monotonic()
        for due, fault_id in list(self.timed_clears):
            if due <= now and fault_id in self.open_faults:
                self._clear(fault_id)
        for follower in self.followers:
            if follower.violation is not None:
                self._role_broke_contract(follower)
        if now >= self.next_monitor:
            self.next_monitor = now + MONITOR_EVERY
            self._watch_containers()
        for prober in self.probers:
            if not prober.is_alive() and prober.summary is None:
                # A killed or removed client is node_lost, named, not a broken stream: Docker may report the
                # container's end a moment after the stream broke, so look a few times (bounded).
                for _ in range(int(PROBER_GRACE / TICK)):
                    self._watch_containers()
                    time.sleep(TICK)
                raise LabError(f"the prober in {prober.node} stopped: {prober.why_stopped()}")
        recent = self.recorder.last_probes(KEEP_PROBES)
        ok = sum(1 for p in recent if records.is_ok(p))
        share = f", ok {ok / len(recent):.0%} of the last {len(recent)}" if recent else ""
        step = f"step {self.step.number}/{len(self.playbook.steps)}: {self.step.text}" if self.step else "starting"
        self.status(f"{step} · probes {self.recorder.total}{share} · {time.time() - self.started:.0f}s")

    def _watch_containers(self) -> None:
        containers = {c.labels.get(runtime.NODE): c for c in runtime.containers(self.client, self.lab)}
        found = {node: c.status for node, c in containers.items()}
        excused = self._faulted_nodes()
        for node in self.description["nodes"]:
            status = found.get(node, "removed")
            if status in ("running", "paused", "restarting") or node in excused and status != "removed":
                continue
            if any(lost["node"] == node for lost in self.lost):
                continue
            self.lost.append(self.recorder.event("runner", "node_lost", node=node, state=status))
            if node in self.roles and node in containers:  # a pipeline role died: say how, in its words
                self._role_failed(node, containers[node], "during the run")
            raise NodeLost(f"node {node} was lost during the run (container {status}); "
                           f"no fault of this run did that")

    def _role_failed(self, node: str, container: Any, when: str) -> None:
        plugin = self.roles[node]
        line = roles.failure_line(container, node, plugin, when)
        self.role_failures[node] = {"automation": plugin.plain() or "built-in", "exit_code": container.attrs.get(
            "State", {}).get("ExitCode"), "last_output": roles.last_output(container), "error": line}
        self.recorder.event("runner", "role_failed", node=node, exit_code=self.role_failures[node]["exit_code"])
        raise roles.RoleFailed(line)

    def _role_broke_contract(self, follower: AgentFollower) -> None:
        node, found = follower.node, follower.violation
        plugin = self.roles.get(node, Automation())
        line = (f"{node} ({plugin.describe()}) broke the automation contract: its stdout line {found['line']} "
                f"{found['problem']}: {found['text'][:80]!r}; print events as one JSON object per line on "
                f"stdout and logs on stderr (docs/automation.md)")
        self.role_failures[node] = {"automation": plugin.plain() or "built-in", "exit_code": None,
                                    "last_output": [found["text"]], "error": line}
        raise roles.RoleFailed(line)

    def _faulted_nodes(self) -> set[str]:
        """Nodes a process fault of this run acts on: their containers may stop or pause."""
        nodes: set[str] = set()
        for record in self.open_faults.values():
            if record.get("kind") not in PROCESS_FAULTS:
                continue
            nodes.update(record.get("nodes") or [])
            nodes.update((record.get("chosen") or {}).values() if isinstance(record.get("chosen"), dict) else [])
            target = str(record.get("target", ""))
            role = target.removeprefix("random:").removeprefix("role:") if "role:" in target else None
            if role is None:
                nodes.add(target)
            elif not target.startswith("random:"):
                nodes.update(n for n, v in self.description["nodes"].items() if v["role"] == role)
        return nodes

    # -- starting and stopping -----------------------------------------------------------------------------

    def _start_probers(self) -> None:
        plan = self.playbook.probes
        for client_node in plan.clients:
            spec = {
                "client": client_node, "rate": plan.rate, "timeout": plan.timeout, "lease_stale": LEASE_STALE,
                "lease": f"{runtime.NODE_MOUNT}/prober-{self.run_id}.lease",
                "targets": [{"resolver": r, "server": lifecycle.resolver_address(self.description, r, client_node)}
                            for r in plan.resolvers],
                "queries": [[name, qtype] for name in plan.names for qtype in plan.types],
                **({"dnssec": True} if plan.dnssec else {}),
            }
            lease = state.node_dir(self.lab, client_node) / f"prober-{self.run_id}.lease"
            prober = ProberStream(self.client, self.description["nodes"][client_node]["container"], spec,
                                  self.recorder, lease)
            self.probers.append(prober)
            try:
                prober.start_exec()
            except docker.errors.APIError as exc:
                raise LabError(f"cannot start the prober in {client_node}: {exc.explanation or exc}") from None
        threading.Thread(target=self._refresh_leases, name="leases", daemon=True).start()

    def _refresh_leases(self) -> None:
        while not self._lease_stop.wait(LEASE_REFRESH):
            for prober in self.probers:
                if prober.lease.exists():
                    prober.lease.touch()

    def _start_followers(self) -> None:
        agents = [n for n, v in self.description["nodes"].items() if v["role"] == "agent"]
        for node in agents:
            container = self.client.containers.get(self.description["nodes"][node]["container"])
            follower = AgentFollower(container, node, self.started, self.recorder)
            follower.start()
            self.followers.append(follower)

    def _finish(self, interrupted: bool, failure: LabError | None) -> RunResult:
        """Roll back, stop the probers, judge, write the report. Ctrl-C is held off until it is done."""
        held = _hold_signals(lambda: self.progress("rolling back and writing the report — one moment"))
        try:
            leave: list[str] = []
            if self.role_failures:  # a user's program broke: none of it stays running, the sweep leaves it be
                leave = [node for node, plugin in self.roles.items() if not plugin.builtin]
                for node in roles.stop_user_roles(self.client, self.description, self.roles):
                    self.recorder.event("runner", "role_stopped", node=node)
            rollback_error = self._roll_back(leave)
            self._stop_recording()
            return self._report(interrupted, failure, rollback_error)
        finally:
            held()

    def _roll_back(self, leave: list[str] = ()) -> str | None:
        self.progress("rolling back faults")
        problems = []
        for fault_id in list(self.open_faults):
            try:
                self._clear(fault_id)
            except Exception as exc:  # noqa: BLE001 - the sweep below gets another go
                problems.append(f"{fault_id}: {exc}")
                self.open_faults.pop(fault_id, None)
        try:
            for record in self.faults.clear_all(self.fault_ctx, leave):
                self.recorder.event("runner", "fault_cleared", id=record.get("id"), kind=record.get("kind"),
                                    target=record.get("target"), sweep=True)
            left = self.faults.active(self.fault_ctx)
        except Exception as exc:  # noqa: BLE001 - reported, and the exit code says so
            left = [{"id": "?", "error": str(exc)}]
        if left:
            problems.append(f"still in force after the sweep: {json.dumps(left, default=str)[:300]}")
        if problems:
            self.recorder.event("runner", "rollback_incomplete", problems=problems)
            return "rollback incomplete: " + "; ".join(problems)
        return None

    def _stop_recording(self) -> None:
        self.progress("stopping probers")
        for prober in self.probers:
            prober.stop()
        deadline = time.monotonic() + self.playbook.probes.timeout + DRAIN_GRACE
        for prober in self.probers:
            prober.join(max(0.1, deadline - time.monotonic()))
            if prober.is_alive() or prober.summary is None:
                self.recorder.event("runner", "prober_unfinished", client=prober.node, reason=prober.why_stopped())
        self._lease_stop.set()
        for follower in self.followers:
            follower.stop()
        for follower in self.followers:
            follower.join(2)

    def _report(self, interrupted: bool, failure: LabError | None, rollback_error: str | None) -> RunResult:
        found = records.read_run(self.run_dir)
        results = checks.judge(self.playbook.checks, found.probes, found.events)
        aborted = None
        if failure is not None:
            aborted = {"step": self.step.number if self.step else None, "error": str(failure)}
        verdict = "interrupted" if interrupted else "fail" if failure or rollback_error else \
            lab_report.verdict_for(results, False)
        self.recorder.event("runner", "run_finished", verdict=verdict, aborted=aborted, rollback_error=rollback_error)
        self.recorder.close()
        extra = {"lab": self.lab, "run_dir": str(self.run_dir), "seed_choices": self.seed_choices,
                 "aborted": aborted, "rollback_error": rollback_error, "nodes_lost": self.lost,
                 "roles": {node: plugin.plain() or "built-in" for node, plugin in self.roles.items()},
                 "roles_failed": self.role_failures,
                 "probers": {p.node: {"sent": (p.summary or {}).get("sent"), "written": self.recorder.written.get(
                     p.node, 0)} for p in self.probers},
                 "software": {n: v["software"] for n, v in self.description["nodes"].items() if v["role"] == "resolver"}}
        report = lab_report.write_all(self.run_dir, self.playbook.name, self.playbook.seed, verdict,
                                      self.playbook.checks, extra=extra, interrupted=interrupted)
        if interrupted:
            code, error = ExitCode.INTERRUPTED, None
        elif rollback_error:
            code, error = ExitCode.ENVIRONMENT, rollback_error
        elif failure is not None:
            code, error = failure.exit_code, str(failure)
        else:
            code, error = (ExitCode.OK if verdict == "pass" else ExitCode.CHECK_FAILED), None
        return RunResult(self.run_dir, report, int(code), error)


def _hold_signals(notice: Callable[[], None]) -> Callable[[], None]:
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


# ---- the entry point --------------------------------------------------------------------------------------


def lab_topology_file(playbook: Playbook) -> Path:
    """The topology file to bring up: the playbook's, or (with overrides) a merged copy under DNSLAB_HOME."""
    if not playbook.topology_overrides:
        return playbook.topology_file
    text = yaml.safe_dump(topology_document(playbook), sort_keys=False)
    import hashlib  # noqa: PLC0415

    path = state.home() / "topologies" / f"{playbook.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(playbook: Playbook, lab: str, run_dir: Path, keep: bool | None = None, status: Status = lambda t: None,
        progress: Status = lambda t: None, client: docker.DockerClient | None = None) -> RunResult:
    """Bring the lab up if needed, run the playbook, take the lab down again if this run brought it up
    (unless `keep`; keep=False takes it down in any case)."""
    client = client or runtime.connect()
    was_up = bool(runtime.containers(client, lab)) and state.load_description(lab) is not None
    progress(f"lab {lab}: {'checking it is up' if was_up else 'bringing it up'}")
    description = lifecycle.up(lab_topology_file(playbook), lab, progress=status, client=client)
    leftover = fault_store.active(lab)
    if leftover:  # `dnslab fault add` by hand, or a killed run: they shape what the checks see
        ids = ", ".join(f"{f['id']} on {f['target']}" for f in leftover)
        progress(f"warning: lab {lab} already has {len(leftover)} fault(s) in place ({ids}); they stay during "
                 f"the run and its rollback clears them — `dnslab fault clear --all --name {lab}` clears them now")
    try:
        plugged = roles.ensure(client, description, pipeline_playbook.plugins(playbook), progress) \
            if description.get("pipeline") else {}
    except LabError:
        if keep is False or (keep is None and not was_up):
            progress(f"taking lab {lab} down (it was not up before the run)")
            lifecycle.down(lab, client=client)
        raise
    run_dir.mkdir(parents=True, exist_ok=False)
    (run_dir / "playbook.yml").write_text(playbook.yaml_text())
    try:
        one = Run(playbook, lab, run_dir, client, description, status, progress)
        one.roles = plugged
        return one.execute()
    finally:
        if keep is False or (keep is None and not was_up):
            progress(f"taking lab {lab} down (it was not up before the run; --keep keeps it)")
            lifecycle.down(lab, client=client)
