"""The DNS planner: every `pipeline.interval` seconds it writes a new plan generation to the plan store.

    python3 -m lab.agents.planner      (the planner container's command; config in /lab/node/pipeline.json)

Generations are numbered from the store's counter, so a reset (which sets the counter back) or a plan
written by hand never makes two plans share a number. While `pipeline.running` is false it holds and
says so in its status file, which is how a reset knows it may clear the store.
"""

from __future__ import annotations

import time

from lab.agents import agent as agent_mod
from lab.agents import plans


def produce(agent: agent_mod.Agent, settings: dict) -> dict:
    """Write the next generation and announce it."""
    generation = max(agent.store.counter(), agent.store.newest() or -1) + 1
    plan = plans.make_plan(generation, int(settings["seed"]), agent.regions)
    agent.store.write(plan)
    agent.store.set_counter(generation)
    addresses = plans.endpoint_addresses(plan)
    agent.emit("plan_produced", generation=generation, endpoints=agent.endpoints,
               addresses={region: len(p["targets"]) for region, p in plan["plans"].items()},
               weights={region: sum(t["weight"] for t in p["targets"]) for region, p in plan["plans"].items()})
    agent.status("producing", generation=generation, epoch=settings.get("epoch"),
                 endpoints=len(addresses))
    return plan


def main() -> None:
    agent_mod.exit_on_sigterm()
    agent = agent_mod.Agent()
    next_tick = time.monotonic()
    while True:
        settings = agent.settings()
        if not settings["running"]:
            agent.status("held", epoch=settings.get("epoch"))
            time.sleep(0.1)
            next_tick = time.monotonic()
            continue
        produce(agent, settings)
        next_tick += float(settings["interval"])
        # Behind schedule (the container was paused): start afresh instead of producing a burst.
        next_tick = max(next_tick, time.monotonic())
        while time.monotonic() < next_tick:
            time.sleep(min(0.1, next_tick - time.monotonic()))
            if not agent.settings()["running"]:
                break


if __name__ == "__main__":
    main()
