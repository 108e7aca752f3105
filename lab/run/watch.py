"""Watching the lab while a run goes on: a container that dies or vanishes without one of the run's faults
causing it ends the run (exit 3), and a pipeline role that dies or breaks the automation contract is named
in its own words (lab.enactors.roles)."""

from __future__ import annotations

from collections.abc import Mapping

from lab.errors import LabError
from lab.faults import FAULTS

UP = ("running", "paused", "restarting")


class NodeLost(LabError):
    """A container died or vanished under the run without a fault of the run causing it."""


def faulted_nodes(open_faults: Mapping[str, dict], description: dict) -> set[str]:
    """Nodes a fault of this run that stops containers acts on: their containers may stop or pause."""
    nodes: set[str] = set()
    for record in open_faults.values():
        kind = FAULTS.get(record.get("kind"))
        if kind is None or not kind.stops_containers:
            continue
        nodes.update(record.get("nodes") or [])
        nodes.update((record.get("chosen") or {}).values() if isinstance(record.get("chosen"), dict) else [])
        target = str(record.get("target", ""))
        role = target.removeprefix("random:").removeprefix("role:") if "role:" in target else None
        if role is None:
            nodes.add(target)
        elif not target.startswith("random:"):
            nodes.update(n for n, v in description["nodes"].items() if v["role"] == role)
    return nodes


def lost_nodes(states: Mapping[str, str], description: dict, excused: set[str]) -> list[tuple[str, str]]:
    """(node, state) of every node whose container is neither up nor excused by a fault (removed never is)."""
    lost = []
    for node in description["nodes"]:
        state = states.get(node, "removed")
        if state in UP or node in excused and state != "removed":
            continue
        lost.append((node, state))
    return lost
