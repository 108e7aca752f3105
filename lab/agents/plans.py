"""Plans and the plan store shared by the planner and the enactors (a Docker volume mounted at /plans).

A plan generation says, for every endpoint, which load-balancer addresses serve it and with what weight.
Several endpoints share one regional plan (regional, IPv6, FIPS and account-specific names of one
service), as in the DynamoDB DNS automation. `make_plan` is pure and deterministic in (seed, generation):
a seeded run produces the same generations every time.

Store layout (every write is a temporary file + rename, so a reader never sees half a file):

    /plans/gen-000042.json   one plan generation
    /plans/counter.json      the last generation the planner produced (deleting plans never lowers it)
    /plans/settings.json     tunables written by `dnslab` (strategy, interval, keep, ...); agents re-read it
    /plans/status/NODE.json  what each agent is doing, for `dnslab pipeline status`
    /plans/repaired.json     when the operator last repaired the pipeline, and with which generation

Runs inside containers: Debian's python3 and the standard library only (no imports from `lab` outside
`lab.agents`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import re
import threading
import time
from pathlib import Path

PLAN_FILE = re.compile(r"^gen-(\d+)\.json$")
MIN_IN_SERVICE = 3  # a region never drops below this many load balancers in a plan
MAX_DRAINED = 2  # at most this many load balancers are drained (out of the plan) in one generation


# ---- the plan model (pure) --------------------------------------------------------------------------------


def make_plan(generation: int, seed: int, regions: dict, created: float | None = None,
              baseline: bool = False) -> dict:
    """Generation `generation` of every regional plan: per region, weighted targets drawn from its pool.

    `regions` maps a region name to {"endpoints": [names], "addresses": [pool]}; a pool with IPv6
    addresses makes its endpoints dual-stack (the enactors write an A and an AAAA set). Capacity changes from one
    generation to the next (weights always, membership when a load balancer is drained). A baseline plan
    (what a reset starts from) has the whole pool in service with equal weights.
    """
    plans = {}
    for region, spec in sorted(regions.items()):
        pool = list(spec["addresses"])
        if baseline:
            targets = [{"address": a, "weight": 100} for a in pool]
        else:
            rng = random.Random(f"{seed}/{region}/{generation}")
            drained = set()
            # Per address family (IPv4, then IPv6), so a dual-stack endpoint keeps MIN_IN_SERVICE of each;
            # an IPv4-only pool draws exactly as before.
            for family in (4, 6):
                members = [a for a in pool if _family(a) == family]
                drainable = max(0, min(MAX_DRAINED, len(members) - MIN_IN_SERVICE))
                if drainable:
                    drained |= set(rng.sample(members, rng.randint(0, drainable)))
            targets = [{"address": a, "weight": rng.randint(10, 100)} for a in pool if a not in drained]
        plans[region] = {"endpoints": list(spec["endpoints"]), "targets": targets}
    return {"generation": generation, "created": time.time() if created is None else created, "plans": plans,
            "baseline": baseline}


def endpoint_addresses(plan: dict) -> dict[str, list[str]]:
    """endpoint name -> the addresses the plan gives it (every endpoint of a region gets the region's)."""
    found = {}
    for regional in plan["plans"].values():
        addresses = sorted((t["address"] for t in regional["targets"] if t["weight"] > 0), key=address_key)
        for endpoint in regional["endpoints"]:
            found[endpoint] = addresses
    return found


def endpoints_of(regions: dict) -> list[str]:
    """Every endpoint in apply order: regions by name, endpoints in the order the topology lists them."""
    return [e for _, spec in sorted(regions.items()) for e in spec["endpoints"]]


def _family(address: str) -> int:
    return 6 if ":" in address else 4


def address_key(address: str) -> tuple:
    """IPv4 addresses first in numeric order, then IPv6 ones (a dual-stack endpoint's AAAA set)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return (2, address)
    return (parsed.version, int(parsed))


# ---- the store (files on a shared volume, or served by lab.agents.planstore) ----------------------------------------------------------------


class PlanStore:
    """The plan store on a directory (a volume shared by the agents of one engine). Every method tolerates
    files vanishing under it: another agent's clean-up may delete a plan between listing and reading.
    Everything is built on four primitives (`names`, `read_json`, `write_json`, `remove`), which
    lab.agents.planstore serves and calls over HTTP when the agents share no disk."""

    def __init__(self, root: str | Path = "/plans"):
        self.root = Path(root)

    # -- the primitives --

    def names(self, folder: str = "") -> list[str]:
        """The file names in the store's top level or one folder of it (no temporary files)."""
        try:
            return sorted(n for n in os.listdir(self.root / folder) if not n.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def read_json(self, name: str, default=None):
        try:
            return json.loads((self.root / name).read_text())
        except (FileNotFoundError, IsADirectoryError, json.JSONDecodeError):
            return default

    def write_json(self, name: str, data) -> None:
        """Atomic: readers see the old file or the new one, never a torn one."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, path)

    def remove(self, name: str) -> bool:
        try:
            (self.root / name).unlink()
            return True
        except FileNotFoundError:
            return False

    # -- plans --

    @staticmethod
    def plan_name(generation: int) -> str:
        return f"gen-{generation:06d}.json"

    def generations(self) -> list[int]:
        return sorted(int(m.group(1)) for m in map(PLAN_FILE.match, self.names()) if m)

    def newest(self) -> int | None:
        found = self.generations()
        return found[-1] if found else None

    def exists(self, generation: int) -> bool:
        return self.read(generation) is not None

    def read(self, generation: int) -> dict | None:
        return self.read_json(self.plan_name(generation))

    def write(self, plan: dict) -> None:
        self.write_json(self.plan_name(plan["generation"]), plan)

    def delete(self, generation: int) -> bool:
        return self.remove(self.plan_name(generation))

    # -- bookkeeping --

    def counter(self) -> int:
        return int(self.read_json("counter.json", {}).get("generation", -1))

    def set_counter(self, generation: int) -> None:
        self.write_json("counter.json", {"generation": generation})

    def settings(self) -> dict:
        return self.read_json("settings.json", {}) or {}

    def write_status(self, node: str, status: dict) -> None:
        self.write_json(f"status/{node}.json", {**status, "node": node, "t": time.time()})

    def statuses(self) -> dict[str, dict]:
        found = {}
        for name in self.names("status"):
            if name.endswith(".json"):
                data = self.read_json(f"status/{name}")
                if data:
                    found[name.removesuffix(".json")] = data
        return found

    def clear_plans(self) -> None:
        for generation in self.generations():
            self.delete(generation)
