"""The DNS planner: every `pipeline.interval` seconds it writes a new plan generation to the plan store.

    python3 -m lab.agents.planner      (the planner container's command; config in /lab/node/pipeline.json)

Generations are numbered from the store's counter (never lowered, also not by a reset), so a plan
written by hand never shares a number and clients never see generation numbers go back. While `pipeline.running` is false it holds and
says so in its status file, which is how a reset knows it may clear the store.
"""

from __future__ import annotations

import time

from lab.agents import agent as agent_mod
from lab.agents import plans


def produce(agent: agent_mod.Agent, settings: dict, after_reset: int) -> dict:
    """Write the next generation and announce it; `after_reset` counts the plans since the last reset
    (1 for the first), so a playbook can wait for the first plan of its own run."""
    generation = max(agent.store.counter(), agent.store.newest() or -1) + 1
    plan = plans.make_plan(generation, int(settings["seed"]), agent.regions)
    agent.store.write(plan)
    agent.store.set_counter(generation)
    addresses = plans.endpoint_addresses(plan)
    agent.emit("plan_produced", generation=generation, after_reset=after_reset, endpoints=agent.endpoints,
               addresses={region: len(p["targets"]) for region, p in plan["plans"].items()},
               weights={region: sum(t["weight"] for t in p["targets"]) for region, p in plan["plans"].items()})
    agent.status("producing", generation=generation, epoch=settings.get("epoch"),
                 endpoints=len(addresses))
    return plan


def main() -> None:
    agent_mod.exit_on_sigterm()
    agent = agent_mod.Agent()
    next_tick = time.monotonic()
    epoch, after_reset = object(), 0
    while True:
        settings = agent.settings()
        if settings.get("epoch") != epoch:
            epoch, after_reset = settings.get("epoch"), 0
        if not settings["running"]:
            agent.status("held", epoch=settings.get("epoch"))
            time.sleep(0.1)
            next_tick = time.monotonic()
            continue
        after_reset += 1
        produce(agent, settings, after_reset)
        next_tick += float(settings["interval"])
        # Behind schedule (the container was paused): start afresh instead of producing a burst.
        next_tick = max(next_tick, time.monotonic())
        while (left := next_tick - time.monotonic()) > 0:  # read once: a second read may already be past it
            time.sleep(min(0.05, left))
            if not agent.settings()["running"]:
                break


if __name__ == "__main__":
    main()
