"""PowerDNS Recursor: `rec_control get-all` (tab-separated `name value`)."""

from __future__ import annotations

from lab.serverstats.base import need, pairs

COMMAND = ("rec_control", "--socket-dir=/run/pdns-recursor", "get-all")


def parse(text: str) -> dict:
    values = pairs(text, None)
    need(values, ("questions", "all-outqueries", "packetcache-hits", "servfail-answers"), "rec_control get-all")
    # An answer from the packet cache never reaches the record cache; one from the record cache missed the
    # packet cache: together they are the answers that needed no query upstream.
    return {"queries_in": values["questions"], "queries_upstream": values["all-outqueries"],
            "cache_hits": values["packetcache-hits"] + values.get("cache-hits", 0),
            "servfail_sent": values["servfail-answers"]}
