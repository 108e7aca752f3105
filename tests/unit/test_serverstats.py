"""Server statistics read from outputs captured from the real daemons of the lab image (tests/data/serverstats,
captured in a default lab after the same client queries to every resolver: 5 A lookups of one name, one
NXDOMAIN, one TXT, one name whose servers were paused (SERVFAIL; Unbound had not answered yet), plus the
readiness checks of `dnslab up`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import serverstats

DATA = Path(__file__).resolve().parents[1] / "data" / "serverstats"

CAPTURED = {
    ("resolver", "unbound"): ("unbound-1.17.txt", {"queries_in": 10, "queries_upstream": 43, "cache_hits": 4,
                                                   "servfail_sent": 0}),
    ("resolver", "bind"): ("bind-resolver-9.18.json", {"queries_in": 10, "queries_upstream": 20, "cache_hits": 4,
                                                       "servfail_sent": 1}),
    ("resolver", "knot-resolver"): ("knot-resolver-5.6.txt", {"queries_in": 10, "queries_upstream": 22,
                                                              "cache_hits": 4, "servfail_sent": 1}),
    ("resolver", "pdns-recursor"): ("pdns-recursor-4.8.txt", {"queries_in": 10, "queries_upstream": 16,
                                                              "cache_hits": 4, "servfail_sent": 1}),
    ("authoritative", "bind"): ("bind-auth-9.18.json", {"queries_in": 4, "queries_upstream": None, "cache_hits": None,
                                                        "servfail_sent": 0}),
    ("authoritative", "knot"): ("knot-3.2.txt", {"queries_in": 38, "queries_upstream": None, "cache_hits": None,
                                                 "servfail_sent": 0}),
    ("authoritative", "nsd"): ("nsd-4.6.txt", {"queries_in": 42, "queries_upstream": None, "cache_hits": None,
                                               "servfail_sent": 0}),
}


@pytest.mark.parametrize("source", sorted(CAPTURED), ids="-".join)
def test_captured_output_reads_into_the_common_record(source):
    name, expected = CAPTURED[source]
    assert serverstats.parse(*source, (DATA / name).read_text()) == expected


def test_every_server_of_the_lab_has_a_source_with_a_command():
    from lab.topology.software import SOFTWARE

    servers = {key for key in SOFTWARE if key[0] in ("resolver", "authoritative")}
    assert servers == set(serverstats.SOURCES) == set(CAPTURED)
    assert all(serverstats.command(*key)[0] for key in servers)


def test_the_resolvers_counted_the_same_client_queries():
    counted = {software: serverstats.parse(role, software, (DATA / name).read_text())["queries_in"]
               for (role, software), (name, _) in CAPTURED.items() if role == "resolver"}
    assert set(counted.values()) == {10}, counted


@pytest.mark.parametrize("source, text, message", [
    (("resolver", "unbound"), "error: cannot connect to 127.0.0.1:8953", "not unbound-control stats"),
    (("resolver", "bind"), "<html>", "not BIND's statistics JSON"),
    (("resolver", "bind"), '{"version": "9.18"}', "no json-stats-version"),
    (("resolver", "knot-resolver"), "[string]:1: attempt to index global 'stats' (a nil value)", "Knot Resolver"),
    (("resolver", "pdns-recursor"), "Unable to connect to socket", "rec_control get-all"),
    (("authoritative", "knot"), "server.zone-count = 1\n", "load mod-stats"),
    (("authoritative", "nsd"), "error: could not open", "nsd-control stats"),
])
def test_output_that_is_no_statistics_is_refused_with_a_reason(source, text, message):
    with pytest.raises(serverstats.StatsError, match=message):
        serverstats.parse(*source, text)


def test_counters_a_server_leaves_out_while_zero_read_as_zero():
    # BIND's JSON and Knot's mod-stats omit zero counters; a fresh server answered nothing yet.
    assert serverstats.parse("resolver", "bind", '{"json-stats-version": "1.7"}') == \
        {"queries_in": 0, "queries_upstream": 0, "cache_hits": 0, "servfail_sent": 0}
    assert serverstats.parse("authoritative", "knot", "server.zone-count = 1\nmod-stats.request-bytes[query] = 9\n") \
        == {"queries_in": 0, "queries_upstream": None, "cache_hits": None, "servfail_sent": 0}


def test_unbound_without_extended_statistics_counts_cache_misses_as_upstream_work():
    text = "total.num.queries=7\ntotal.num.cachehits=3\ntotal.num.cachemiss=4\n"
    assert serverstats.parse("resolver", "unbound", text) == \
        {"queries_in": 7, "queries_upstream": 4, "cache_hits": 3, "servfail_sent": None}
