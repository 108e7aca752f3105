"""Validators several parts of a playbook share: durations, and lists of the topology's nodes."""

from __future__ import annotations

from typing import Any

from lab.duration import parse_duration
from lab.validation import Problems, shown, get, one_of, suggest
from lab.topology.model import Topology
from lab.yamlsrc import Map, Seq


def seconds(value: Any) -> float | None:
    """The seconds a YAML value means: `500ms`, `10s`, `2.5s`, `2m`, `1m30s` (lab.duration's notation);
    None when it is no positive duration. A number without a unit is none: `duration: 10` read as seconds
    silently was a trap (milliseconds? minutes?), so it is refused with `unit_hint`."""
    if isinstance(value, bool) or not isinstance(value, str) or _bare_number(value):
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


def unit_hint(value: Any) -> str:
    """'; a number needs a unit: 10s, 10ms or 10m' for a bare number, else ''."""
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or isinstance(value, str) and _bare_number(value)):
        return ""
    return f"; a number needs a unit: {value}s, {value}ms or {value}m"


def _bare_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def get_duration(problems: Problems, spec: Map, key: str, what: str, default: float | None) -> float | None:
    """spec[key] in seconds; a problem and `default` when it is no duration (`default` too when it is absent)."""
    if key not in spec:
        return default
    found = seconds(spec[key])
    if found is None:
        problems.at(spec, f"{what} {key} must be a duration such as 500ms, 10s or 2m, not {shown(spec[key])}"
                    f"{unit_hint(spec[key])}", key, value=True)
        return default
    return found


def nodes_of(topology: Topology, role: str) -> list[str]:
    return [node.name for node in topology.by_role(role)]


def node_list(problems: Problems, spec: Map, key: str, allowed: list[str], what: str) -> list[str] | None:
    """A list of node names, each one checked against `allowed`; None when the key is absent."""
    if key not in spec:
        return None
    value = get(problems, spec, key, list, what, Seq())
    if not value and key in spec and isinstance(spec[key], list):
        problems.at(spec, f"{what} {key!r} is empty; leave it out to mean all of them", key, value=True)
    names = []
    for index, item in enumerate(value):
        if item not in allowed:
            problems.at(value, f"{what} {key}: unknown node {item!r}{suggest(str(item), allowed)}; "
                               f"choose from: {one_of(allowed) or 'none in this topology'}", index)
        else:
            names.append(item)
    return names
