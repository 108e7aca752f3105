"""Operator commands on a running pipeline, run inside an agent container (it has the plan store and the
update key) by `lab.enactors` through `runtime.exec_json`:

    python3 -m lab.agents.pipectl '{"command": "configure", "settings": {"strategy": "guarded"}}'
    python3 -m lab.agents.pipectl '{"command": "reset", "settings": {...}, "timeout": 10}'
    python3 -m lab.agents.pipectl '{"command": "repair"}'
    python3 -m lab.agents.pipectl '{"command": "status"}'
    python3 -u -m lab.agents.pipectl -      one command per line on stdin, one JSON line back for each

Prints one JSON document (per command line with `-`: a run keeps one open, so its reset and repair need
no python to start in the planner; lab.enactors.control). `reset` holds every agent (they acknowledge in their status files), clears the
store, writes a baseline plan (a new generation, the whole pool in service) to the store and to DNS,
then lets the agents go again.
`repair` is the operator's manual fix of the naive design's stuck state: it writes the newest plan to
every endpoint (compare-and-set on what it read, so it never undoes a newer write) and notes it.
"""

from __future__ import annotations

import json
import sys
import time

from lab.agents import agent as agent_mod
from lab.agents import plans, strategy


def configure(agent: agent_mod.Agent, settings: dict) -> dict:
    merged = {**agent.store.settings(), **settings}
    agent.store.write_json("settings.json", merged)
    return agent.settings()


def reset(agent: agent_mod.Agent, settings: dict, timeout: float) -> dict:
    store = agent.store
    epoch = int(store.settings().get("epoch") or 0) + 1
    configure(agent, {**settings, "running": False, "epoch": epoch})
    agents = agent.config.get("agents", [])
    deadline = time.monotonic() + timeout
    held: list[str] = []
    while time.monotonic() < deadline:
        statuses = store.statuses()
        held = [a for a in agents if statuses.get(a, {}).get("state") == "held"
                and statuses.get(a, {}).get("epoch") == epoch]
        if len(held) == len(agents):
            break
        time.sleep(0.02)  # the agents look every 0.05 s (HOLD_LOOK): the hold costs a reset ~0.1 s
    # The baseline is a new generation above every one ever produced or served: numbers never go back,
    # or clients probing across the reset would see a regression that no enactor caused.
    served = []
    try:
        served = [v["marker"] for v in agent.read_endpoints().values() if v["marker"] is not None]
    except agent_mod.DnsError:
        pass
    generation = max([store.counter(), store.newest() or -1, *served]) + 1
    store.clear_plans()
    store.remove("repaired.json")
    baseline = plans.make_plan(generation, int(agent.settings()["seed"]), agent.regions, baseline=True)
    store.write(baseline)
    store.set_counter(generation)
    ttl = int(agent.settings()["ttl"])
    errors = {}
    for endpoint, addresses in plans.endpoint_addresses(baseline).items():
        sets = strategy.by_type(addresses)
        result = agent.send([["replace", endpoint, ttl, rdtype, sets[rdtype]] if rdtype in sets
                             else ["delete", endpoint, rdtype] for rdtype in strategy.ADDRESS_TYPES]
                            + [["replace", endpoint, ttl, "TXT", [strategy.marker_text(generation)]]])
        if result["rcode"] != "NOERROR":
            errors[endpoint] = result["rcode"] or result["error"]
    configure(agent, {"running": True})
    return {"epoch": epoch, "generation": generation, "held": held, "not_held": sorted(set(agents) - set(held)),
            "errors": errors, "baseline": plans.endpoint_addresses(baseline)}


def repair(agent: agent_mod.Agent, attempts: int = 10) -> dict:
    store = agent.store
    newest = store.newest()
    if newest is None:
        return {"error": "the plan store holds no plan to restore; wait for the planner or reset"}
    plan = store.read(newest)
    if plan is None:
        return {"error": f"plan {newest} vanished while repairing; try again"}
    ttl = int(agent.settings()["ttl"])
    written, skipped, errors = [], [], {}
    for endpoint, addresses in plans.endpoint_addresses(plan).items():
        for _ in range(attempts):
            try:
                seen = agent.read_endpoint(endpoint)
            except agent_mod.DnsError as exc:
                errors[endpoint] = str(exc)
                time.sleep(0.2)
                continue
            if seen["marker"] is not None and seen["marker"] >= newest and seen["addresses"]:
                skipped.append(endpoint)  # an enactor got there first with this plan or a newer one
                break
            prereq, ops = strategy.guarded_update(endpoint, newest, addresses, seen["marker"], ttl)
            result = agent.send(ops, prereq)
            if result["rcode"] == "NOERROR":
                written.append(endpoint)
                errors.pop(endpoint, None)
                break
            errors[endpoint] = result["rcode"] or result["error"]
    store.write_json("repaired.json", {"t": time.time(), "generation": newest, "endpoints": written})
    return {"generation": newest, "written": written, "skipped": skipped, "errors": errors}


def status(agent: agent_mod.Agent) -> dict:
    store = agent.store
    generations = store.generations()
    dns, error = {}, None
    try:
        dns = agent.read_endpoints()
    except agent_mod.DnsError as exc:
        error = str(exc)
    markers = {e: v["marker"] for e, v in dns.items()}
    return {
        "newest": generations[-1] if generations else None,
        "generations": generations,
        "counter": store.counter(),
        "settings": agent.settings(),
        "agents": store.statuses(),
        "dns": dns,
        "dns_error": error,
        "orphaned": strategy.orphaned(markers, generations),
        "repaired": store.read_json("repaired.json"),
        "now": time.time(),
    }


def command(agent: agent_mod.Agent, spec: dict) -> dict:
    name = spec["command"]
    if name == "configure":
        return configure(agent, spec.get("settings", {}))
    if name == "reset":
        return reset(agent, spec.get("settings", {}), float(spec.get("timeout", 10)))
    if name == "repair":
        return repair(agent)
    if name == "status":
        return status(agent)
    if name == "ping":  # the loop has started and read its configuration
        return {}
    raise SystemExit(f"unknown command {name!r}")


def serve(agent: agent_mod.Agent) -> None:
    """Until stdin ends (the orchestrator closed it, or died): a command per line, its answer per line."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            result = command(agent, json.loads(line))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - every line gets an answer, whatever broke
            result = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


def main(argv: list[str]) -> int:
    agent = agent_mod.Agent()
    if argv[1] == "-":
        serve(agent)
        return 0
    json.dump(command(agent, json.loads(argv[1])), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
