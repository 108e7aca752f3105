"""Fault targets: a node name, a group `role:ROLE`, or one node picked at random `random:role:ROLE`.

Pure: validation and resolution work on the lab description (lab.json) only; the random pick comes from
the run's seeded RNG so a run with the same seed picks the same node.
"""

from __future__ import annotations

import random

from lab.names import NODE_NAME

ROLES = ("authoritative", "resolver", "client", "agent")
# What `dnslab status` shows in its role column for an authoritative server (topology.describe_role):
# a group of its own, as `role:secondary`, inside its role.
FUNCTIONS = {"root": "authoritative", "tld": "authoritative", "primary": "authoritative",
             "secondary": "authoritative"}
GROUP = "role:"
RANDOM = "random:"
SYNTAX = "a node name, role:ROLE or random:role:ROLE (ROLE: " + ", ".join((*ROLES, *FUNCTIONS)) + ")"


def role_of(target: str) -> str | None:
    """The role a group or random target names (None for a node name)."""
    rest = target.removeprefix(RANDOM)
    return rest.removeprefix(GROUP) if rest.startswith(GROUP) else None


def is_group(target: str) -> bool:
    return role_of(target) is not None


def problems(target: str, description: dict | None, roles: tuple[str, ...], single: bool) -> list[str]:
    """What is wrong with a target for a fault that may act on `roles` (and on one node only if `single`)."""
    if not isinstance(target, str) or not target:
        return [f"target must be {SYNTAX}"]
    role = role_of(target)
    if role is None and not target.startswith(RANDOM):
        if not NODE_NAME.match(target):
            return [f"target {target!r} must be {SYNTAX}"]
        if description is None:
            return []
        node = description["nodes"].get(target)
        if node is None:
            return [f"no node {target!r} in lab {description['lab']}; nodes: {', '.join(description['nodes'])}"]
        if node["role"] not in roles:
            return [f"node {target!r} is a {node['role']}; this fault needs a node with role "
                    + " or ".join(roles)]
        return []
    if role not in ROLES and role not in FUNCTIONS:
        return [f"target {target!r} must be {SYNTAX}"]
    if FUNCTIONS.get(role, role) not in roles:
        return [f"target {target!r}: this fault needs role " + " or ".join(roles)]
    if single and not target.startswith(RANDOM):
        return [f"target {target!r} is a group; this fault acts on one node: give a node name or random:{GROUP}{role}"]
    if description is not None and not members(description, role):
        return [f"lab {description['lab']} has no node with role {role}"]
    return []


def members(description: dict, role: str) -> list[str]:
    """The nodes of a role (`authoritative`), or of a function as status shows it (`secondary`)."""
    return [name for name, node in description["nodes"].items()
            if role in (node["role"], str(node.get("function") or "").split(" ")[0])]


def resolve(target: str, description: dict, rng: random.Random) -> tuple[list[str], dict]:
    """The nodes a (valid) target names, and the random choices made: ({"node": picked} for random:)."""
    role = role_of(target)
    if role is None:
        return [target], {}
    nodes = members(description, role)
    if target.startswith(RANDOM):
        picked = rng.choice(nodes)
        return [picked], {"node": picked}
    return nodes, {}


def addresses(description: dict, names: list[str]) -> list[str]:
    """Every address of the nodes (or groups) named, IPv6 ones too in a dual-stack lab: what a partition
    cuts off."""
    found: list[str] = []
    for name in names:
        role = role_of(name)
        for node in members(description, role) if role else [name]:
            info = description["nodes"][node]
            for address in [*info["addresses"].values(), *info.get("addresses6", {}).values()]:
                if address not in found:
                    found.append(address)
    return found
