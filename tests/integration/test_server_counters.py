"""Every server of the default lab answers its statistics command with counters lab.serverstats reads, and
the counters move with the queries a client sends (the configs' statistics settings: docs/apps.md)."""

from __future__ import annotations

from lab import serverstats

NAME = "api.cloud.test."


def _counters(rt, lab) -> dict[str, dict]:
    found = {}
    for node, info in lab["nodes"].items():
        key = (info["role"], info["software"])
        if key not in serverstats.SOURCES:
            continue
        result = rt.exec(info["container"], serverstats.command(*key))  # the way a run will sample them
        assert result.exit_code == 0, (node, result.output[-300:])
        found[node] = serverstats.parse(*key, result.output)
    return found


def test_every_server_counts_and_the_resolvers_count_client_queries(default_lab, rt):
    before = _counters(rt, default_lab)
    assert {info["software"] for node, info in default_lab["nodes"].items() if node in before} == \
        {"bind", "knot", "nsd", "unbound", "knot-resolver", "pdns-recursor"}
    client = default_lab["nodes"]["client1"]["container"]
    resolvers = [n for n, info in default_lab["nodes"].items() if info["role"] == "resolver"]
    for node in resolvers:
        address = default_lab["nodes"][node]["addresses"]["edge"]
        for _ in range(3):
            assert rt.exec(client, ["dig", "+short", "+tries=1", "+time=2", f"@{address}", NAME, "TXT"]).exit_code == 0
    after = _counters(rt, default_lab)
    for node in resolvers:
        assert after[node]["queries_in"] - before[node]["queries_in"] >= 3, (node, before[node], after[node])
        assert after[node]["cache_hits"] - before[node]["cache_hits"] >= 2, (node, before[node], after[node])
    for node, counters in after.items():
        if default_lab["nodes"][node]["role"] == "authoritative":
            assert counters["queries_upstream"] is None and counters["queries_in"] > 0, (node, counters)
