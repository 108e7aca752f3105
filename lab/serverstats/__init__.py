"""What the servers themselves counted: each server's statistics output read into one common record.

    {"queries_in": N, "queries_upstream": N, "cache_hits": N, "servfail_sent": N}

Counters are cumulative since the server started; None where a server has no such counter (an authoritative
server sends nothing upstream and has no cache). One module per implementation, each with the command that
prints its counters inside the server's container (`COMMAND`) and a pure `parse(text)`; SOURCES maps
(role, software) to it, as lab.topology.software does for the servers themselves.

A run samples every server with its command and keeps {"t", "server", "role", "software", "stats": record}
lines (lab.appfigures and lab.checks.apps read them). What each server needs in its config to answer is in
docs/apps.md ("What the servers counted").
"""

from __future__ import annotations

from types import ModuleType

from lab.serverstats import bind, knot, knot_resolver, nsd, pdns_recursor, unbound
from lab.serverstats.base import StatsError

__all__ = ["COUNTERS", "SOURCES", "StatsError", "command", "parse"]

COUNTERS = ("queries_in", "queries_upstream", "cache_hits", "servfail_sent")

SOURCES: dict[tuple[str, str], ModuleType] = {
    ("resolver", "unbound"): unbound,
    ("resolver", "bind"): bind,
    ("authoritative", "bind"): bind,
    ("resolver", "knot-resolver"): knot_resolver,
    ("resolver", "pdns-recursor"): pdns_recursor,
    ("authoritative", "knot"): knot,
    ("authoritative", "nsd"): nsd,
}


def command(role: str, software: str) -> list[str]:
    """The command that prints the counters inside the server's container."""
    return list(SOURCES[(role, software)].COMMAND)


def parse(role: str, software: str, text: str) -> dict[str, int | None]:
    """The common record from one server's statistics output; raises StatsError when it cannot be read."""
    record = SOURCES[(role, software)].parse(text)
    if role == "authoritative":  # BIND keeps a resolver and a cache even with recursion off: not counted
        record = {**record, "queries_upstream": None, "cache_hits": None}
    return {counter: record.get(counter) for counter in COUNTERS}
