"""Knot Resolver 5: `stats.list()` (module stats, loaded by the lab's kresd.conf) and `worker.stats()` over its
control socket (lab.agents.kresctl), as Lua tables: `['answer.total'] = 13,`."""

from __future__ import annotations

import re

from lab.serverstats.base import need

COMMAND = ("python3", "-m", "lab.agents.kresctl", "stats.list()", "worker.stats()")
ENTRY = re.compile(r"\['([^']+)'\]\s*=\s*(-?[0-9.]+)")
EXTERNAL = ("request.udp", "request.tcp", "request.dot", "request.doh", "request.xdp")


def parse(text: str) -> dict:
    values = {key: float(value) for key, value in ENTRY.findall(text)}
    need(values, ("answer.total", "answer.cached", "ipv4"), "Knot Resolver stats.list() and worker.stats()")
    count = {key: int(value) for key, value in values.items()}
    # request.total counts kresd's own internal requests too; clients' are the protocols' sum. Queries sent
    # upstream are worker.stats()'s per-family counters.
    return {"queries_in": sum(count.get(key, 0) for key in EXTERNAL),
            "queries_upstream": count["ipv4"] + count.get("ipv6", 0), "cache_hits": count["answer.cached"],
            "servfail_sent": count.get("answer.servfail", 0)}
