"""Where each node runs when a lab spans several Docker engines (a hosts file, docs/scaling.md). Pure.

    placement:                        # only with --hosts FILE; on one engine every node runs there
      spread: {resolver: [az-a, az-b, az-c], client: [az-a, az-b, az-c]}   # a role round-robin, node order
      default: az-a                   # every other node (default: the first host of the hosts file)
    nodes:
      enactor-a: {role: agent, software: enactor, networks: {core: 10.53.0.31}, host: az-a}   # one node

A node's own `host:` wins over a spread rule, a spread rule over the default. Host names are checked against
the hosts file when a lab starts (`problems`), each with the place in the topology that names it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from lab.errors import Problem
from lab.names import NODE_NAME
from lab.validation import Problems, check_keys, get, one_of
from lab.yamlsrc import Map, Seq

FIELDS = ("spread", "default")


@dataclass(frozen=True)
class Placement:
    nodes: dict[str, str] = field(default_factory=dict)  # node -> its own host
    spread: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> hosts, round-robin
    default: str | None = None
    named_at: tuple[tuple[str, Problem], ...] = ()  # (host, where the topology names it)

    def assign(self, nodes: Iterable, hosts: list[str]) -> dict[str, str]:
        """node name -> host, for nodes (with .name and .role) in topology order."""
        counters: dict[str, int] = {}
        placed = {}
        for node in nodes:
            if node.name in self.nodes:
                placed[node.name] = self.nodes[node.name]
            elif node.role in self.spread:
                pool = self.spread[node.role]
                index = counters.get(node.role, 0)
                counters[node.role] = index + 1
                placed[node.name] = pool[index % len(pool)]
            else:
                placed[node.name] = self.default or hosts[0]
        return placed

    def problems(self, hosts: Collection[str]) -> list[Problem]:
        """Every host the topology names that the hosts file does not."""
        from lab.validation import suggest  # noqa: PLC0415

        return [Problem(where.file, where.line, where.col,
                        f"host {host!r} is not in the hosts file{suggest(host, hosts)}; hosts: {one_of(hosts)}")
                for host, where in self.named_at if host not in hosts]


def node_host(problems: Problems, spec: Map, what: str) -> tuple[str, Problem] | None:
    """A node's `host:` with its place, or None."""
    host = get(problems, spec, "host", str, what)
    if host is None:
        return None
    if not NODE_NAME.match(host):
        problems.at(spec, f"{what}: host {host!r} must be a host name of the hosts file (lower-case letters, "
                          f"digits and '-')", "host", value=True)
        return None
    return host, spec.problem("", "host", value=True)


def parse(problems: Problems, raw: Map | None, own: dict[str, tuple[str, Problem]], roles: Collection[str]) -> Placement:
    """The `placement:` section (may be absent) and the nodes' own hosts."""
    named = [(host, where) for host, where in own.values()]
    spread: dict[str, tuple[str, ...]] = {}
    default = None
    if raw is not None:
        check_keys(problems, raw, FIELDS, "placement")
        rules = get(problems, raw, "spread", dict, "placement", Map())
        for role, pool in rules.items():
            if role not in roles:
                problems.at(rules, f"placement: unknown role {role!r}; roles: {one_of(roles)}", role)
                continue
            if not isinstance(pool, Seq) or not pool or not all(isinstance(h, str) and NODE_NAME.match(h) for h in pool):
                problems.at(rules, f"placement: spread of {role!r} must be a list of host names, e.g. "
                                   f"[az-a, az-b, az-c]", role, value=True)
                continue
            spread[role] = tuple(pool)
            named += [(host, pool.problem("", index)) for index, host in enumerate(pool)]
        default = get(problems, raw, "default", str, "placement")
        if default is not None:
            named.append((default, raw.problem("", "default", value=True)))
    return Placement({node: host for node, (host, _) in own.items()}, spread, default, tuple(named))
