"""A DNS enactor: takes the newest plan, checks it is fresh, applies it endpoint by endpoint through
TSIG-signed RFC 2136 updates to the hidden primary, then runs clean-up. Three of them run, one per
simulated availability zone, fully independently: they race for real.

    python3 -m lab.agents.enactor      (an enactor container's command; config in /lab/node/pipeline.json)

What to write and what clean-up deletes is the strategy's (`enactor.strategy`: one class in
lab.agents.strategy); this module does the reading, writing, waiting and telling (events on stdout,
status in the plan store). Each endpoint's update takes
`enactor.apply_pace` seconds before it is sent: the window in which a delayed enactor's plan goes stale.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from dataclasses import dataclass

from lab.agents import agent as agent_mod
from lab.agents import plans, strategy

CLEANUP_TIMEOUT = 60  # seconds a user's clean-up command may take (docs/automation.md)
HOLD_LOOK = 0.05  # while waiting (pace, poll), how often an enactor looks whether a reset holds it


@dataclass
class Memory:
    """What one enactor remembers between cycles (forgotten when a reset starts a new epoch)."""

    epoch: object = None
    handled: int | None = None  # newest generation it has looked at (applied, or found not fresh)
    applied: int | None = None  # last generation it applied
    stuck: str | None = None  # why it is stuck, while it is
    first: int | None = None  # the first generation it may apply (first_plan), once it has looked


def first_plan(oldest: int, place: int, settings: dict, endpoints: int) -> int:
    """The first generation the enactor at `place` (0, 1, ... in the topology's `enactors`) applies once it
    starts or a reset lets it go, `oldest` being the oldest plan in the store then (a reset's baseline):
    each takes a plan of its own, one planner interval after the one before it (places beyond the plans
    produced during one apply wrap around). Let go at the same moment, the enactors would all take the same
    first plan and, their cycles being equally long, stay in step for many cycles: under compare-and-set the
    one that starts last within a planner interval loses every endpoint to the others until their phases
    drift apart (the race's enactor-a took up to 17 s to write first after a reset)."""
    slots = max(1, int(endpoints * float(settings["apply_pace"]) / float(settings["interval"])))
    return oldest + 1 + place % slots


class Abandon(Exception):
    """The settings' epoch changed (a reset): drop the plan in hand without writing another record."""


class Enactor:
    def __init__(self, agent: agent_mod.Agent, rng: random.Random | None = None):
        self.agent = agent
        self.rng = rng or random.Random(agent.node)
        self.memory = Memory()
        enactors = agent.config.get("enactors", [])
        self.place = enactors.index(agent.node) if agent.node in enactors else 0

    # -- one cycle --

    def cycle(self, settings: dict) -> None:
        store = self.agent.store
        newest = store.newest()
        if newest is None or (newest == self.memory.handled and not self.memory.stuck):
            self._status("idle", settings)
            return
        if self.memory.first is None:
            oldest = min(store.generations(), default=newest)
            self.memory.first = first_plan(oldest, self.place, settings, len(self.agent.endpoints))
        if newest < self.memory.first:  # the plans before it are the other enactors' to start with
            self._status("idle", settings)
            return
        try:
            view = self.agent.read_endpoints()
        except agent_mod.DnsError as exc:
            self._status("idle", settings, error=str(exc))
            return
        markers = {e: v["marker"] for e, v in view.items()}
        gone = strategy.orphaned(markers, store.generations())
        if gone:
            self._stuck(settings, strategy.stuck_reason(gone))
            return
        self.memory.stuck = None
        if not strategy.is_fresh(newest, markers):
            self.memory.handled = newest
            self._status("idle", settings)
            return
        plan = store.read(newest)
        if plan is None:  # deleted between listing and reading
            return
        self.memory.handled = newest
        self.apply(plan, view, settings)

    def apply(self, plan: dict, view: dict, settings: dict) -> None:
        generation = plan["generation"]
        addresses = plans.endpoint_addresses(plan)
        self.agent.emit("apply_started", generation=generation, strategy=settings["strategy"])
        outcomes = {}
        try:
            for index, endpoint in enumerate(self.agent.endpoints, 1):
                self._status("applying", settings, generation=generation, endpoint=endpoint, index=index)
                self._pace(settings)
                outcome = self.apply_endpoint(generation, endpoint, index, addresses[endpoint], view[endpoint],
                                              settings)
                outcomes[endpoint] = outcome
                if outcome == "stuck":
                    return
        except Abandon:
            self._status("held", settings)
            return
        self.memory.applied = generation
        self.agent.emit("apply_finished", generation=generation,
                        applied=sum(1 for o in outcomes.values() if o == "applied"),
                        refused=sum(1 for o in outcomes.values() if o == "refused"))
        self.cleanup(generation, settings)
        self._status("idle", settings)

    def apply_endpoint(self, generation: int, endpoint: str, index: int, new: list[str], seen: dict,
                       settings: dict) -> str:
        """applied | refused | done | stuck | failed"""
        chosen = strategy.named(settings["strategy"])
        ttl = int(settings["ttl"])
        for attempt in range(1, int(settings["max_attempts"]) + 1):
            self._check_epoch(settings)
            if chosen.rereads:
                try:
                    seen = self.agent.read_endpoint(endpoint)
                except agent_mod.DnsError as exc:
                    self._retry(generation, endpoint, attempt, str(exc))
                    continue
            refusal = chosen.refusal(generation, seen, new, settings)
            if refusal is not None:
                self.agent.emit("refused", generation=generation, endpoint=endpoint, **refusal)
                return "refused"
            try:
                prereq, ops = chosen.update(endpoint, generation, new, seen, ttl,
                                            lambda g: self._addresses_of(g, endpoint))
            except strategy.Stuck as exc:
                self._stuck(settings, str(exc))
                return "stuck"
            result = self.agent.send(ops, prereq)
            if result["rcode"] == "NOERROR":
                self.agent.emit("endpoint_applied", generation=generation, endpoint=endpoint, index=index,
                                addresses=new)
                return "applied"
            if chosen.compare_and_set and result["rcode"] in strategy.PREREQ_FAILED:
                try:
                    seen = self.agent.read_endpoint(endpoint)
                except agent_mod.DnsError as exc:
                    self._retry(generation, endpoint, attempt, str(exc))
                    continue
                verdict = strategy.after_prereq_failure(generation, seen["marker"])
                if verdict == "stale":
                    return self._refuse_stale(generation, endpoint, seen["marker"], result["rcode"])
                if verdict == "done":
                    return "done"
            self._retry(generation, endpoint, attempt, result["rcode"] or result["error"])
        return "failed"

    def _addresses_of(self, generation: int, endpoint: str) -> list[str] | None:
        plan = self.agent.store.read(generation)
        return None if plan is None else plans.endpoint_addresses(plan).get(endpoint, [])

    def cleanup(self, applied: int, settings: dict) -> None:
        """Delete the plans the strategy lets go after applying `applied`, then remove the addresses it
        says to (naive: of endpoints whose active plan is gone). A user's clean-up command
        (DNSLAB_CLEANUP_COMMAND, docs/automation.md) runs instead when the topology or playbook plugs one in."""
        if os.environ.get("DNSLAB_CLEANUP_COMMAND"):
            self._user_cleanup(json.loads(os.environ["DNSLAB_CLEANUP_COMMAND"]), applied, settings)
            return
        store = self.agent.store
        try:
            markers = {e: v["marker"] for e, v in self.agent.read_endpoints().items()}
        except agent_mod.DnsError:
            return
        chosen = strategy.named(settings["strategy"])
        deleted = [g for g in chosen.plans_to_delete(store.generations(), applied, int(settings["keep"]), markers)
                   if store.delete(g)]
        removed, endpoints = 0, []
        for endpoint in chosen.records_to_remove(markers, store.generations()):
            try:
                count = len(self.agent.read_endpoint(endpoint)["addresses"])
            except agent_mod.DnsError:
                continue
            ops = [["delete", endpoint, rdtype] for rdtype in strategy.ADDRESS_TYPES]
            if self.agent.send(ops)["rcode"] == "NOERROR" and count:
                removed += count
                endpoints.append(endpoint)
        if deleted or removed:
            self.agent.emit("cleanup_deleted", generations=deleted, records=removed, endpoints=endpoints,
                            applied=applied)

    def _user_cleanup(self, argv: list[str], applied: int, settings: dict) -> None:
        """Its stdout is this container's stdout (its events are recorded like ours); a failure is an event."""
        env = {**os.environ, "DNSLAB_APPLIED": str(applied), "DNSLAB_KEEP": str(settings["keep"]),
               "DNSLAB_STRATEGY": str(settings["strategy"])}
        try:
            code = subprocess.run(argv, env=env, timeout=CLEANUP_TIMEOUT).returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            code = str(exc)
        if code != 0:
            self.agent.emit("cleanup_failed", applied=applied, exit_code=code)

    # -- helpers --

    def _refuse_stale(self, generation: int, endpoint: str, active: int, rcode: str | None) -> str:
        self.agent.emit("refused", generation=generation, endpoint=endpoint, reason="stale", active=active,
                        rcode=rcode)
        return "refused"

    def _retry(self, generation: int, endpoint: str, attempt: int, error: str) -> None:
        self.agent.emit("retry", generation=generation, endpoint=endpoint, attempt=attempt, error=error)
        time.sleep(strategy.backoff(attempt, self.rng))

    def _stuck(self, settings: dict, reason: str) -> None:
        if self.memory.stuck is None:
            self.agent.emit("stuck", reason=reason)
        self.memory.stuck = reason
        self._status("stuck", settings, reason=reason)

    def _pace(self, settings: dict) -> None:
        """Wait out the endpoint's update time; a reset's hold ends it at once (Abandon)."""
        if self._rest(float(settings["apply_pace"]), settings):
            raise Abandon()

    def _rest(self, seconds: float, settings: dict) -> bool:
        """Sleep `seconds`; while running, look at the settings every HOLD_LOOK seconds: True as soon as a
        reset holds the agents (or starts a new epoch), so a reset waits a twentieth of a second for this enactor
        to say "held", not its whole pace or poll (up to 0.75 s while stuck). A held enactor sleeps its poll
        out as it always did; what keeps the enactors apart once they resume is first_plan."""
        if not settings["running"]:
            time.sleep(seconds)
            return False
        deadline = time.monotonic() + seconds
        look = time.monotonic() + HOLD_LOOK
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
            if time.monotonic() >= look and deadline - time.monotonic() > 0:
                look = time.monotonic() + HOLD_LOOK
                now = self.agent.settings()
                if now.get("epoch") != settings.get("epoch") or not now["running"]:
                    return True
        return False

    def _check_epoch(self, settings: dict) -> None:
        now = self.agent.settings()
        if now.get("epoch") != settings.get("epoch") or not now["running"]:
            raise Abandon()

    def _status(self, state: str, settings: dict, **fields) -> None:
        self.agent.status(state, epoch=settings.get("epoch"), strategy=settings["strategy"],
                          applied=self.memory.applied, stuck=self.memory.stuck, **fields)

    # -- the loop --

    def run(self) -> None:
        while True:
            settings = self.agent.settings()
            if settings.get("epoch") != self.memory.epoch:
                self.memory = Memory(epoch=settings.get("epoch"))
            if not settings["running"]:
                self._status("held", settings)
            else:
                self.cycle(settings)
            poll = float(settings["poll"]) * (2.5 if self.memory.stuck else 1.0)
            self._rest(poll * (0.5 + self.rng.random()), settings)


def main() -> None:
    agent_mod.exit_on_sigterm()
    Enactor(agent_mod.Agent()).run()


if __name__ == "__main__":
    main()
