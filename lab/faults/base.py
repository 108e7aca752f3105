"""What every fault kind is made of: the context it runs in and the shape of its entry in the catalogue.

A FaultKind is data plus two functions: `apply(ctx, record)` changes the lab and writes into the record
whatever `undo(ctx, record)` needs to put it back. The record is plain JSON (it is persisted in
faults.json), so undo works from another process than the one that injected the fault.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from lab.params import Param
from lab.runtime import Runtime

__all__ = ["FaultContext", "FaultKind", "Param", "GROUPS"]

GROUPS = ("process", "network", "dns-answer", "zone-data", "dnssec", "zone")
# Which roles a fault of each group may target (dns-answer: only nodes that answer DNS on port 53).
GROUP_ROLES: dict[str, tuple[str, ...]] = {
    "process": ("authoritative", "resolver", "client", "agent"),
    "network": ("authoritative", "resolver", "client", "agent"),
    "dns-answer": ("authoritative", "resolver"),
    "zone-data": ("authoritative",),
    "dnssec": ("authoritative",),
    "zone": (),  # a host, not a node (lab.faults.zone)
}


@dataclass
class FaultContext:
    """Where faults act: the lab's runtime, its description (lab.json) and the run's seeded RNG."""

    rt: Runtime
    description: dict
    rng: random.Random = field(default_factory=random.Random)

    @property
    def lab(self) -> str:
        return self.description["lab"]

    def container(self, node: str) -> str:
        return self.description["nodes"][node]["container"]


Apply = Callable[[FaultContext, dict], None]
Undo = Callable[[FaultContext, dict], None]
Constraint = Callable[[str, Mapping[str, Any], "dict | None"], list[tuple["str | None", str]]]


def no_constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    return []


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault: its parameters, what it does, how it is undone.

    `single`: the target must be one node (zone data lives on one server); otherwise a group or
    random pick is fine and the fault acts on every node it names. `stops_containers`: it pauses, stops or
    kills its targets' containers (a run's container watch excuses them while it is in force)."""

    name: str
    group: str
    help: str
    params: Mapping[str, Param]
    apply: Apply
    undo: Undo
    constraints: Constraint = no_constraints
    single: bool = False
    stops_containers: bool = False
