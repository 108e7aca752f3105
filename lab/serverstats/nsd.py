"""NSD: `nsd-control stats_noreset` (remote control on a local socket, the lab's nsd.conf)."""

from __future__ import annotations

from lab.serverstats.base import need, pairs

COMMAND = ("nsd-control", "-c", "/lab/node/nsd.conf", "stats_noreset")


def parse(text: str) -> dict:
    values = pairs(text, "=")
    need(values, ("num.queries",), "nsd-control stats")
    return {"queries_in": values["num.queries"], "queries_upstream": None, "cache_hits": None,
            "servfail_sent": values.get("num.rcode.SERVFAIL", 0)}
