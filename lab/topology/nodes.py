"""The `networks:`, `nodes:` and `options:` sections of a topology: where every node is, what it runs and
with which server options, validated with every problem at its file:line:col (lab.topology.load reads the
rest)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from lab import automation
from lab.names import NODE_NAME
from lab.validation import Problems, check_keys, get, one_of, suggest
from lab.topology import options as server_options
from lab.topology.model import ROLE_SOFTWARE, Network, Node
from lab.yamlsrc import Map

NODE_FIELDS = ("role", "software", "networks", "options", "command", "image", "source", "cleanup", "host")


def networks(problems: Problems, raw: Map) -> dict[str, Network]:
    networks: dict[str, Network] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not NODE_NAME.match(name):
            problems.at(raw, f"network name {name!r} must be lower-case letters, digits and '-'", name)
            continue
        if not isinstance(spec, Map):
            problems.at(raw, f"network {name!r} must be a mapping like {{subnet: 10.53.0.0/24}}", name, value=True)
            continue
        check_keys(problems, spec, ("subnet",), f"network {name!r}", required=("subnet",))
        text = get(problems, spec, "subnet", str, f"network {name!r}")
        if text is None:
            continue
        try:
            subnet = ipaddress.IPv4Network(text)
        except ValueError as exc:
            problems.at(spec, f"network {name!r}: {exc}; write it like 10.53.0.0/24", "subnet", value=True)
            continue
        if not 16 <= subnet.prefixlen <= 28:
            problems.at(spec, f"network {name!r}: prefix /{subnet.prefixlen} is out of range; use /16 to /28",
                        "subnet", value=True)
            continue
        for other in networks.values():
            if subnet.overlaps(other.subnet):
                problems.at(spec, f"network {name!r} overlaps network {other.name!r} ({other.subnet})",
                            "subnet", value=True)
        networks[name] = Network(name, subnet)
    if not raw:
        problems.at(raw, "the topology needs at least one network")
    return networks


def role_options(problems: Problems, raw: Map) -> dict[str, dict]:
    """`options: {ROLE: {OPTION: VALUE}}`: options for every node of a role (lab.topology.options)."""
    found: dict[str, dict] = {}
    for role, spec in raw.items():
        if role not in server_options.OPTIONS:
            problems.at(raw, f"options: unknown role {role!r}{suggest(str(role), ROLE_SOFTWARE)}; "
                             f"roles: {one_of(ROLE_SOFTWARE)}", role)
            continue
        if not isinstance(spec, Map):
            problems.at(raw, f"options for {role} must be a mapping like {{serve_stale: true}}", role, value=True)
            continue
        for key, message in server_options.problems(role, spec):
            problems.at(spec if key in spec else raw, f"options for {role}: {message}",
                        key if key in spec else role, value=key in spec)
        found[role] = dict(spec)
    return found


def nodes(problems: Problems, raw: Map, networks: dict[str, Network], base_dir: Path,
           role_options: dict[str, dict] | None = None) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    used: dict[ipaddress.IPv4Address, str] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not NODE_NAME.match(name):
            problems.at(raw, f"node name {name!r} must be 1-40 lower-case letters, digits and '-'", name)
            continue
        what = f"node {name!r}"
        if not isinstance(spec, Map):
            problems.at(raw, f"{what} must be a mapping with role, software and networks", name, value=True)
            continue
        check_keys(problems, spec, NODE_FIELDS, what, required=("role", "networks"))
        role = get(problems, spec, "role", str, what)
        if role is not None and role not in ROLE_SOFTWARE:
            problems.at(spec, f"{what}: unknown role {role!r}{suggest(role, ROLE_SOFTWARE)}; "
                              f"roles: {one_of(ROLE_SOFTWARE)}", "role", value=True)
            role = None
        software = get(problems, spec, "software", str, what)
        if role is not None:
            allowed = ROLE_SOFTWARE[role]
            if software is None:
                software = allowed[0]
            elif software not in allowed:
                problems.at(spec, f"{what}: a {role} cannot run {software!r}{suggest(software, allowed)}; "
                                  f"choose one of: {one_of(allowed)}", "software", value=True)
        addresses = {}
        nets = get(problems, spec, "networks", dict, what, Map())
        for net, text in nets.items():
            if net not in networks:
                problems.at(nets, f"{what}: unknown network {net!r}{suggest(net, networks)}; "
                                  f"networks: {one_of(networks) or 'none declared'}", net)
                continue
            try:
                addr = ipaddress.IPv4Address(str(text))
            except ValueError:
                problems.at(nets, f"{what}: {text!r} is not an IPv4 address", net, value=True)
                continue
            subnet = networks[net].subnet
            if addr not in subnet:
                problems.at(nets, f"{what}: {addr} is outside network {net!r} ({subnet})", net, value=True)
            elif addr in (subnet.network_address, subnet.broadcast_address, subnet.network_address + 1):
                problems.at(nets, f"{what}: {addr} is reserved in {subnet} (network, broadcast or the "
                                  f"Docker gateway {subnet.network_address + 1}); pick another host address",
                            net, value=True)
            elif addr in used:
                problems.at(nets, f"{what}: {addr} is already the address of node {used[addr]!r}", net, value=True)
            else:
                used[addr] = name
                addresses[net] = addr
        if not nets and "networks" in spec:
            problems.at(spec, f"{what} must be on at least one network", "networks", value=True)
        options = get(problems, spec, "options", dict, what, Map())
        if role is not None:
            for key, message in server_options.problems(role, options):
                problems.at(options if key in options else spec, f"{what}: {message}",
                            key if key in options else "options", value=key in options)
        plug = [k for k in spec if k in automation.FIELDS["enactor"]]
        plugin = automation.Automation()
        if plug and role == "agent" and software in automation.FIELDS:
            for key in set(plug) - set(automation.FIELDS[software]):
                problems.at(spec, f"{what}: a {software} takes no {key} (only an enactor runs clean-up)", key)
            plugin = automation.parse(problems, spec, software, what, base_dir)
        elif plug:
            problems.at(spec, f"{what}: only pipeline agents (planner, enactor) take {', '.join(plug)}: they "
                              f"replace a role of the DNS automation (docs/automation.md)", plug[0])
        if role is not None and software is not None and addresses:
            resolved = server_options.resolved(role, (role_options or {}).get(role, {}), options)
            nodes[name] = Node(name, role, software, addresses, resolved, plugin)
    if not raw:
        problems.at(raw, "the topology needs at least one node")
    return nodes
