"""Unbound: `unbound-control stats_noreset` (remote-control enabled, the lab's default), with
`extended-statistics: yes` for the answer rcodes and the queries sent upstream."""

from __future__ import annotations

from lab.serverstats.base import need, pairs

COMMAND = ("unbound-control", "-c", "/lab/node/unbound.conf", "stats_noreset")


def parse(text: str) -> dict:
    values = pairs(text, "=")
    need(values, ("total.num.queries", "total.num.cachehits"), "unbound-control stats")
    # Without extended statistics there is no upstream counter; every cache miss is then one recursion.
    upstream = (values["num.query.udpout"] + values.get("num.query.tcpout", 0) if "num.query.udpout" in values
                else values.get("total.num.cachemiss"))
    return {"queries_in": values["total.num.queries"], "queries_upstream": upstream,
            "cache_hits": values["total.num.cachehits"], "servfail_sent": values.get("num.answer.rcode.SERVFAIL")}
