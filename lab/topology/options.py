"""Server options a topology may set, per node (`nodes: {unbound: {options: {serve_stale: true}}}`) or for
every node of a role (`options: {resolver: {serve_stale: true}}`, a node's own options win).

Pure: one table from role to its options, read by the loader (validation) and by the config templates.
Each option is a real server setting rendered into that server's config, so a mitigation is the servers
doing something differently, never the lab skipping a fault.
"""

from __future__ import annotations

from typing import Any, Mapping

from lab.params import Param, table_problems

OPTIONS: dict[str, dict[str, Param]] = {
    "resolver": {
        # RFC 8767. unbound serve-expired, BIND stale-answer-enable, kresd serve_stale, recursor
        # serve-stale-extensions: each vendor's own way of answering from expired cache entries.
        "serve_stale": Param(bool, False, False, "answer from expired cache entries when the authoritative "
                                                 "servers do not answer (RFC 8767)"),
    },
    "authoritative": {
        "rrl": Param(int, False, 0, "response-rate limit: answers per second to one client /24 "
                                    "(0: off; BIND rate-limit, Knot mod-rrl, NSD rrl-ratelimit)"),
        # A server of known, small capacity: a bounded flood then overloads it on a laptop too.
        "cpus": Param(float, False, 0.0, "CPU share of the server's container, like docker --cpus (0: no limit)"),
    },
    "client": {},
    "agent": {},
    "service": {},
    "app": {},
    "workload": {},
}


RANGES = {"rrl": (0, 1_000_000), "cpus": (0, 64)}


def problems(role: str, options: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    found = table_problems(f"{role} options", OPTIONS.get(role, {}), options)
    for key, (low, high) in RANGES.items():
        value = options.get(key)
        if key in OPTIONS.get(role, {}) and not any(k == key for k, _ in found) and value is not None \
                and not low <= value <= high:
            found.append((key, f"{key} must be between {low} and {high}, not {value!r}"))
    return found


def resolved(role: str, for_role: Mapping[str, Any], own: Mapping[str, Any]) -> dict:
    """Every option of the role: its default, then the role-wide value, then the node's own."""
    return {key: param.default for key, param in OPTIONS.get(role, {}).items()} | dict(for_role) | dict(own)
