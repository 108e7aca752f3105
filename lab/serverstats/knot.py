"""Knot DNS: `knotc stats` with mod-stats (`global-module: mod-stats/...`, the lab's knot.conf; without it
Knot 3.2 counts no queries). Counters still at zero are left out: a missing one reads as 0."""

from __future__ import annotations

from lab.serverstats.base import StatsError, need, pairs

COMMAND = ("knotc", "-c", "/lab/node/knot.conf", "stats")


def parse(text: str) -> dict:
    values = pairs(text, "=")
    need(values, ("server.zone-count",), "knotc stats")
    if not any(key.startswith("mod-stats.") for key in values):
        raise StatsError("knotc stats without mod-stats counters: load mod-stats in knot.conf")
    return {"queries_in": values.get("mod-stats.server-operation[query]", 0), "queries_upstream": None,
            "cache_hits": None, "servfail_sent": values.get("mod-stats.response-code[SERVFAIL]", 0)}
