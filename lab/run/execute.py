"""One run of a validated playbook against a live lab: the steps in order, the waits between them, the
faults it holds, and — whatever happens — the rollback and the report.

    Run(playbook, lab, run_dir, rt, description).execute() -> RunResult

Setup steps run before anyone watches; then one prober per client streams probes into probes.jsonl and
every agent's events go to events.jsonl (lab.run.streams) while the steps run (lab.run.perform). Between
looks at the records the run ticks: faults whose time is up are cleared, containers are watched
(lab.run.watch), the status line is refreshed. At the end the run rolls back (lab.run.rollback), judges
the records once and writes the report files (lab.report).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab import faults, lifecycle, records, report as lab_report, truthwatch
from lab.automation import Automation
from lab.checks import judge
from lab.errors import ExitCode, LabError
from lab.enactors import control, roles
from lab.playbook.document import Playbook, Step
from lab.run import appstreams, rollback, perform, watch
from lab.parallel import in_background
from lab.run.recorder import KEEP_PROBES, Recorder
from lab.run.streams import AgentFollower, ProberStream
from lab.runtime import Runtime

TICK = 0.1  # how often waits look at the records
MONITOR_EVERY = 1.0  # how often container states are checked
PROBER_GRACE = 2.0  # after a prober's stream broke, how long to look whether its container died

Status = Callable[[str], None]
# Setup steps that leave every server running: the lab's up check may go on behind them (lifecycle.up_checking).
BESIDE_UP_CHECK = {"sleep": None, "action": {"pipeline_reset"}}


def beside_up_check(step: Step) -> bool:
    return step.kind in BESIDE_UP_CHECK and (BESIDE_UP_CHECK[step.kind] is None
                                             or step.spec.get("name") in BESIDE_UP_CHECK[step.kind])


class StepFailed(LabError):
    """A step could not do what it says (a wait timed out, a fault or action failed)."""

    exit_code = ExitCode.CHECK_FAILED


@dataclass
class RunResult:
    run_dir: Path
    report: dict
    exit_code: int
    error: str | None = None


@dataclass
class Run:
    playbook: Playbook
    lab: str
    run_dir: Path
    rt: Runtime
    description: dict
    status: Status = lambda text: None
    progress: Status = lambda text: None
    roles: dict[str, Automation] = field(default_factory=dict)  # agent node -> what runs there
    ready: Callable[[], None] = lambda: None  # the lab's up check still to do (lifecycle.up_checking)
    recorder: Recorder = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.playbook.seed)
        self.fault_ctx = faults.FaultContext(self.rt, self.description, self.rng)
        self.recorder = Recorder(self.run_dir)
        plan = self.playbook.probes
        self.truth = truthwatch.TruthWatch(self.rt, self.description, self.run_dir,
                                           [(name, qtype) for name in plan.names for qtype in plan.types])
        self.run_id = uuid.uuid4().hex[:8]
        self.open_faults: dict[str, dict] = {}  # fault id -> record, injected by this run and not cleared
        self.named: dict[str, str] = {}  # `as` name -> fault id
        self.timed_clears: list[tuple[float, str]] = []
        self.seed_choices: list[dict] = []
        self.event_cursor = 0
        self.probers: list[ProberStream] = []
        self.followers: list[AgentFollower] = []
        self.step: Step | None = None
        self.phase = "step"  # or "setup"
        self.interrupted = False  # Ctrl-C arrived: the live line says so while the rollback runs
        self.how_far: Callable[[], str] | None = None  # of the wait in progress
        self.next_monitor = 0.0
        self.warmed = False  # the background warm-ups (helpers, report) have started
        self.up_check: Callable[[], None] | None = None  # waits for the background up check, once started
        self.lost: list[dict] = []
        self.role_failures: dict[str, dict] = {}
        sample = any(spec.get("check") == "amplification" for spec in self.playbook.checks)
        self.apps = appstreams.AppRecording(self.rt, self.description, self.run_dir, sample)
        self.apps_figures: dict = {}

    # -- the happy path ------------------------------------------------------------------------------------

    def execute(self) -> RunResult:
        """Run every step; roll back and report whatever happens. Returns the result with its exit code."""
        interrupted, failure = False, None
        self.started = time.time()
        self.recorder.event("runner", "run_started", playbook=self.playbook.name, seed=self.playbook.seed,
                            lab=self.lab, run_dir=str(self.run_dir))
        try:
            if self.description.get("pipeline"):  # its reset and repair then start no python in the planner
                control.open_channel(self.rt, self.description)
            self._start_followers()
            self.truth.start(self.progress)  # before the setup: its changes are part of the truth
            for step in self.playbook.setup:  # e.g. a pipeline reset: done before anyone is watching
                if not beside_up_check(step):
                    self._lab_ready()
                self._run_step(step, "setup")
            self._lab_ready()  # every server answered before anyone watches
            self._start_probers()  # or let go the ones started while the setup waited
            self.apps.start(self.started)  # apps, workloads, services' counters, servers' counters
            for step in self.playbook.steps:
                self._run_step(step)
        except KeyboardInterrupt:
            interrupted = self.interrupted = True
            self.progress("interrupted — rolling back every fault, then the report (of what was recorded)")
            self.recorder.event("runner", "interrupted", step=self.step.number if self.step else None)
        except LabError as exc:
            failure = exc
        except Exception as exc:  # noqa: BLE001 - roll back first, then let the user see it
            failure = LabError(f"{type(exc).__name__}: {exc}")
        return self._finish(interrupted, failure)

    def _run_step(self, step: Step, phase: str = "step") -> None:
        """One step; `phase` "setup" for the playbook's setup steps, which count on their own (setup 1/2)."""
        self.step, self.phase = step, phase
        self.progress(self._step_text())
        self.recorder.event("runner", "step_started", index=step.number, step=step.text, phase=phase)
        try:
            perform.STEPS[step.kind](self, step)
        except LabError as exc:
            self.recorder.event("runner", "step_finished", index=step.number, step=step.text, ok=False,
                                error=str(exc), phase=phase)
            self._lab_ready()  # a server that never answered explains the failure better (exit 3)
            if isinstance(exc, (watch.NodeLost, roles.RoleFailed)):  # the lab (or its automation) broke: exit 3
                raise
            raise StepFailed(f"step {step.number} ({step.text}) failed: {exc}") from None
        self.recorder.event("runner", "step_finished", index=step.number, step=step.text, ok=True, error=None,
                            phase=phase)

    def _check_lab(self) -> None:
        """Start the lab's up check in the background (once): at the first wait, whose time it takes instead
        of the run's start-up's (6 execs beside the samplers' and the pipeline channel's on 2 cores)."""
        if self.up_check is None:
            self.up_check = in_background(self.ready, "up-check")

    def _lab_ready(self) -> None:
        """Wait for the lab's up check (started now if it was not); raises what it found, once."""
        self._check_lab()
        done, self.up_check = self.up_check, lambda: None
        done()

    def _step_text(self) -> str:
        """`step 3/10: pause enactor-a`, `setup 1/2: pipeline_reset`."""
        count = len(self.playbook.setup if self.phase == "setup" else self.playbook.steps)
        return f"{self.phase} {self.step.number}/{count}: {self.step.text}"

    # -- faults the run holds ------------------------------------------------------------------------------

    def inject(self, kind: str, target: str, params: dict) -> dict:
        """Apply a fault as part of this run (a fault step, or an action changing servers): it is recorded,
        excused by the container watch and rolled back with the others."""
        try:
            record = faults.inject(self.fault_ctx, kind, target, params)
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

    def clear(self, fault_id: str) -> None:
        record = self.open_faults.pop(fault_id)
        self.timed_clears = [(t, i) for t, i in self.timed_clears if i != fault_id]
        faults.clear(self.fault_ctx, fault_id)
        self.recorder.event("runner", "fault_cleared", id=fault_id, kind=record.get("kind"),
                            target=record.get("target"))

    # -- waiting and watching ------------------------------------------------------------------------------

    def wait(self, done: Callable[[], bool], timeout: float | None, how_far: Callable[[], str],
             until: float | None = None) -> None:
        """Tick until `done()`; `until` (monotonic) is when it will be done, for a plain sleep: the last
        look comes then, not up to a tick later (each fixed wait overran by up to 0.1 s). A wait for records
        looks again as soon as one comes (the race pauses enactor-a within its 0.5 s pace after the write it
        waits for), else every tick."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        self.how_far = how_far  # the live line says what the wait still waits for
        self._warm_up()
        while True:
            self.recorder.arrived.clear()  # before the look: a record that comes after it wakes the next one
            self.tick()
            if done():
                self.how_far = None
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise LabError(f"timed out after {timeout:g}s" + (f" ({how_far()})" if how_far() else ""))
            if until is None:
                self.recorder.arrived.wait(TICK)
            else:
                time.sleep(max(0.0, min(TICK, until - time.monotonic())))

    def _warm_up(self) -> None:
        """At the run's first wait (the race's: the setup's 6 s, after its pipeline reset), in the background:
        every node's helper (and, across engines, every host's) for the faults and the rollback's sweep in
        place with this process's channels (started by the first run on a lab, kept until `down`), what a
        signed lab's DNSSEC faults parse and sign first (faults.warm), and the report's imports, fonts and
        templates; the lab's up check; in the setup, the probers, held until it ends (the race's first step
        after it waits for them: a write of enactor-a's it missed while they started cost a whole apply cycle).
        Not sooner: 15 channels' and matplotlib's start-up would share the CPU with what the run waits for
        (the truth samplers' start, a setup action). A fault that comes before any wait opens its own
        channel; the rollback and the report import what is missing."""
        if not self.warmed:
            self.warmed = True
            self._check_lab()
            if self.phase == "setup":  # the probers' python starts now; they send once the setup is over
                self._start_probers(hold=True)
            faults.warm(self.fault_ctx)
            lab_report.warm_up()

    def tick(self) -> None:
        """Between looks at the records: clear faults whose time is up, watch containers and probers."""
        now = time.monotonic()
        for due, fault_id in list(self.timed_clears):
            if due <= now and fault_id in self.open_faults:
                self.clear(fault_id)
        for follower in self.followers:
            if follower.violation is not None:
                self._role_broke_contract(follower)
        if now >= self.next_monitor:
            self.next_monitor = now + MONITOR_EVERY
            self._watch_containers()
        for prober in self.probers:
            if not prober.is_alive() and prober.summary is None:
                # A killed or removed client is node_lost, named, not a broken stream: the engine may report the
                # container's end a moment after the stream broke, so look a few times (bounded).
                for _ in range(int(PROBER_GRACE / TICK)):
                    self._watch_containers()
                    time.sleep(TICK)
                raise LabError(f"the prober in {prober.node} stopped: {prober.why_stopped()}")
        for lost in self.apps.lost():
            raise LabError(f"the agent of {lost}")
        recent = self.recorder.last_probes(KEEP_PROBES)
        ok = sum(1 for p in recent if records.is_ok(p))
        share = f", ok {ok / len(recent):.0%} of the last {len(recent)}" if recent else ""
        step = self._step_text() if self.step else "starting"
        if self.how_far is not None and self.how_far():
            step += f" ({self.how_far()})"
        if self.interrupted:
            step = "interrupted — rolling back"
        self.status(f"{step} · probes {self.recorder.total}{share} · {time.time() - self.started:.0f}s")

    def _watch_containers(self) -> None:
        containers = {c.node: c for c in self.rt.containers(self.lab) if c.node}
        states = {node: c.state for node, c in containers.items()}
        excused = watch.faulted_nodes(self.open_faults, self.description)
        for node, state in watch.lost_nodes(states, self.description, excused):
            if any(lost["node"] == node for lost in self.lost):
                continue
            self.lost.append(self.recorder.event("runner", "node_lost", node=node, state=state))
            if node in self.roles and node in containers:  # a pipeline role died: say how, in its words
                self._role_failed(node, "during the run")
            raise watch.NodeLost(f"node {node} was lost during the run (container {state}); "
                                 f"no fault of this run did that")

    def _role_failed(self, node: str, when: str) -> None:
        plugin = self.roles[node]
        container = self.rt.container(self.description["nodes"][node]["container"])
        line = roles.failure_line(self.rt, container, node, plugin, when)
        self.role_failures[node] = {"automation": plugin.plain() or "built-in", "exit_code": container.exit_code,
                                    "last_output": roles.last_output(self.rt, container.name), "error": line}
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

    # -- starting and stopping -----------------------------------------------------------------------------

    def _start_probers(self, hold: bool = False) -> None:
        """One prober per client; `hold`: started, but sending nothing until this is called again."""
        if self.probers:
            for prober in self.probers:
                try:
                    prober.go()
                except OSError as exc:
                    raise LabError(f"cannot start the prober in {prober.node}: {exc}") from None
            return
        plan = self.playbook.probes
        for client_node in plan.clients:
            spec = {
                "client": client_node, "rate": plan.rate, "timeout": plan.timeout,
                "targets": [{"resolver": r, "server": lifecycle.resolver_address(self.description, r, client_node,
                                                                                 transport)}
                            for transport in plan.transport for r in plan.resolvers],
                "queries": [[name, qtype] for name in plan.names for qtype in plan.types],
                **({"dnssec": True} if plan.dnssec else {}),
            }
            prober = ProberStream(self.rt, self.description["nodes"][client_node]["container"], spec, self.recorder)
            self.probers.append(prober)
            try:
                prober.start_exec(hold)
            except LabError as exc:
                raise LabError(f"cannot start the prober in {client_node}: {exc}") from None

    def _start_followers(self) -> None:
        for node, info in self.description["nodes"].items():
            if info["role"] == "agent":
                follower = AgentFollower(self.rt, info["container"], node, self.started, self.recorder)
                follower.start()
                self.followers.append(follower)

    def _finish(self, interrupted: bool, failure: LabError | None) -> RunResult:
        """Roll back, stop the probers, judge, write the report. Ctrl-C is held off until it is done."""
        held = rollback.hold_signals(lambda: self.progress("rolling back and writing the report — one moment"))
        try:
            leave: list[str] = []
            if self.role_failures:  # a user's program broke: none of it stays running, the sweep leaves it be
                leave = [node for node, plugin in self.roles.items() if not plugin.builtin]
                for node in roles.stop_user_roles(self.rt, self.description, self.roles):
                    self.recorder.event("runner", "role_stopped", node=node)
            swept = rollback.roll_back(self, leave)  # the sweep goes on while the probers drain
            rollback.stop_recording(self)
            control.close_channel()
            rollback_error = swept()
            return self._report(interrupted, failure, rollback_error)
        finally:
            held()

    def _report(self, interrupted: bool, failure: LabError | None, rollback_error: str | None) -> RunResult:
        found = records.stream_run(self.run_dir)  # the probes are streamed: judged in one pass, never all held
        results = judge(self.playbook.checks, found.probes, found.events, found.apps, found.samples)  # judged once
        aborted = None
        if failure is not None:
            aborted = {"step": self.step.number if self.step else None, "error": str(failure)}
        verdict = "interrupted" if interrupted else "fail" if failure or rollback_error else \
            lab_report.verdict_for(results, False)
        found.events.append(self.recorder.event("runner", "run_finished", verdict=verdict, aborted=aborted,
                                                rollback_error=rollback_error))
        self.recorder.close()
        extra = {"lab": self.lab, "run_dir": str(self.run_dir), "seed_choices": self.seed_choices,
                 "aborted": aborted, "rollback_error": rollback_error, "nodes_lost": self.lost,
                 "roles": {node: plugin.plain() or "built-in" for node, plugin in self.roles.items()},
                 "roles_failed": self.role_failures,
                 "probers": {p.node: {"sent": (p.summary or {}).get("sent"), "written": self.recorder.written.get(
                     p.node, 0)} for p in self.probers},
                 **({"apps": self.apps_figures} if self.apps_figures else {}),
                 "software": {n: v["software"] for n, v in self.description["nodes"].items() if v["role"] == "resolver"}}
        report = lab_report.write_all(self.run_dir, self.playbook.name, self.playbook.seed, verdict,
                                      self.playbook.checks, extra=extra, interrupted=interrupted,
                                      judged=(found, results))
        if interrupted:
            code, error = ExitCode.INTERRUPTED, None
        elif rollback_error:
            code, error = ExitCode.ENVIRONMENT, rollback_error
        elif failure is not None:
            code, error = failure.exit_code, str(failure)
        else:
            code, error = (ExitCode.OK if verdict == "pass" else ExitCode.CHECK_FAILED), None
        return RunResult(self.run_dir, report, int(code), error)
