"""BIND 9 (resolver and authoritative): the statistics channel's JSON (`statistics-channels` on 127.0.0.1:8053,
/json/v1/server). BIND leaves counters that are still zero out of the JSON: a missing one reads as 0."""

from __future__ import annotations

import json

from lab.serverstats.base import StatsError

COMMAND = ("curl", "-s", "--max-time", "2", "http://127.0.0.1:8053/json/v1/server")


def parse(text: str) -> dict:
    try:
        stats = json.loads(text)
    except ValueError as exc:
        raise StatsError(f"not BIND's statistics JSON: {exc}") from None
    if not isinstance(stats, dict) or "json-stats-version" not in stats:
        raise StatsError("not BIND's statistics JSON: no json-stats-version")
    server = stats.get("nsstats", {})
    resolver = stats.get("views", {}).get("_default", {}).get("resolver", {})
    upstream = resolver.get("stats", {})
    return {
        "queries_in": server.get("Requestv4", 0) + server.get("Requestv6", 0),
        "queries_upstream": upstream.get("Queryv4", 0) + upstream.get("Queryv6", 0),
        "cache_hits": resolver.get("cachestats", {}).get("QueryHits", 0),  # client queries the cache answered
        "servfail_sent": server.get("QrySERVFAIL", 0),
    }
