"""The truth over time (lab.truth): which answers the authoritative data held, judged on synthetic runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import records, truth
from lab.truth import Truth

T0 = 1_700_000_000.0
NAME = "api.cloud.test."
SERVERS = ("primary", "sec-knot", "sec-nsd")


def watched(start: float = 0.0, servers=SERVERS, queries=((NAME, "A"),)) -> list[dict]:
    """The sampler lines a run starts with: every server planned for the queries and started at `start`."""
    return [line for server in servers for line in (
        {"t": T0 + start - 0.5, "server": server, "sampler": "planned", "queries": [list(q) for q in queries]},
        {"t": T0 + start, "server": server, "sampler": "started"})]


def held(t: float, answers=("198.51.100.1",), server: str = "sec-knot", rcode: str = "NOERROR", ttl: int = 5,
         name: str = NAME, rdtype: str = "A", aa: bool = True, **fields) -> dict:
    return {"t": T0 + t, "server": server, "name": name, "type": rdtype, "rcode": rcode, "aa": aa,
            "answers": list(answers), "ttl": ttl, "cname": [], "error": None} | fields


def everywhere(t: float, answers=("198.51.100.1",), **fields) -> list[dict]:
    return [held(t, answers, server=server, **fields) for server in SERVERS]


def probe(t: float, answers=("198.51.100.1",), rcode: str = "NOERROR", **fields) -> dict:
    return {"t": T0 + t, "client": "client1", "resolver": "unbound", "name": NAME, "type": "A", "rcode": rcode,
            "answers": list(answers), "ttl": 5, "latency_ms": 1.0, "error": None, "seq": 1} | fields


def verdict(lines: list[dict], t: float, answers=("198.51.100.1",), **fields) -> str | None:
    return Truth(lines).verdict(probe(t, answers, **fields))


BASE = watched() + everywhere(0.1)


def test_the_answer_every_server_holds_is_held_in_any_order_and_case() -> None:
    lines = watched() + everywhere(0.1, ("192.0.2.1", "192.0.2.2"))
    assert verdict(lines, 10, ("192.0.2.2", "192.0.2.1")) == "held"
    assert verdict(lines, 10, ("192.0.2.1",)) == "unheld"  # a subset of the set was never held


def test_a_spoofed_address_is_unheld_and_wrong() -> None:
    assert verdict(BASE, 20, ("192.0.2.66",)) == "unheld"
    spoofed = truth.mark(probe(20, ("192.0.2.66",)), Truth(BASE))
    assert records.outcome(spoofed) == "wrong" and not records.is_ok(spoofed) and records.is_wrong(spoofed)


def test_a_probe_without_an_answer_is_not_judged() -> None:
    assert verdict(BASE, 20, (), rcode="SERVFAIL") is None
    assert verdict(BASE, 20, (), rcode=None, error="timeout") is None
    assert verdict(BASE, 20, (), error="truncated") is None


def test_a_changed_answer_is_held_until_the_old_ttl_ran_out_then_stale() -> None:
    lines = BASE + everywhere(30, ("198.51.100.7",))
    assert verdict(lines, 35.9, ("198.51.100.1",)) == "held"  # a copy fetched just before the change: 5 s + 1 s
    assert verdict(lines, 36.2, ("198.51.100.1",)) == "stale"
    assert verdict(lines, 29.5, ("198.51.100.7",)) == "held"  # within the slack before the sampler saw it
    assert verdict(lines, 25, ("198.51.100.7",)) == "unheld"  # before anyone held it


def test_answers_cached_under_the_old_ttl_are_not_wrong_after_a_ttl_change() -> None:
    # TTL 60 until +10 s, then 5 (same address), then another address from +20 s: a copy fetched at +9.9 s
    # under TTL 60 may still be served at +69 s.
    lines = (watched() + everywhere(0.1, ttl=60) + everywhere(10, ttl=5)
             + everywhere(20, ("198.51.100.7",), ttl=5))
    assert verdict(lines, 65, ("198.51.100.1",)) == "held"
    assert verdict(lines, 71.5, ("198.51.100.1",)) == "stale"


def test_a_short_ttl_counts_as_the_resolvers_minimum_cache_time() -> None:
    lines = watched() + everywhere(0.1, ttl=1) + everywhere(10, ("198.51.100.7",), ttl=1)
    assert verdict(lines, 10 + truth.MIN_CACHE_TTL_S + 0.5, ("198.51.100.1",)) == "held"


def test_one_server_holding_it_is_enough_a_zone_data_change_is_the_truth() -> None:
    # sec-nsd was left behind (a serial regression): what it holds is authoritative data too.
    lines = BASE + [held(30, ("198.51.100.7",), server=s) for s in ("primary", "sec-knot")]
    assert verdict(lines, 60, ("198.51.100.1",)) == "held"
    assert verdict(lines, 60, ("198.51.100.7",)) == "held"


def test_nodata_and_nxdomain_are_judged_like_data_with_the_negative_ttl() -> None:
    lines = BASE + everywhere(30, (), ttl=3)  # the RRset was emptied: NODATA, SOA negative TTL 3 (raised to 5)
    assert verdict(lines, 40, ()) == "held"
    assert verdict(lines, 10, ()) == "unheld"  # NODATA before anything emptied it: a lie
    assert verdict(lines, 20, (), rcode="NXDOMAIN") == "unheld"  # the name always existed
    gone = BASE + everywhere(30, (), rcode="NXDOMAIN", ttl=5) + everywhere(40)
    assert verdict(gone, 44, (), rcode="NXDOMAIN") == "held"  # cached negative answer, 5 s after it came back
    assert verdict(gone, 47, (), rcode="NXDOMAIN") == "stale"
    assert verdict(gone, 44, ()) == "unheld"  # NODATA is not NXDOMAIN


def test_a_server_that_answers_servfail_or_without_aa_holds_nothing() -> None:
    lines = BASE + [held(30, (), server=s, rcode="SERVFAIL") for s in SERVERS] + everywhere(60)
    assert verdict(lines, 40, ("198.51.100.1",)) == "stale"  # nobody held it from +30 s (+ 6 s)
    lame = BASE + [held(30, server=s, aa=False) for s in SERVERS]
    assert verdict(lame, 40) == "stale"


def test_a_server_that_does_not_answer_keeps_what_it_held() -> None:
    # Paused or partitioned: its data is what it was (serve-stale answers from its last data are right).
    lines = BASE + [held(30, (), server=s, rcode=None, error="timeout") for s in SERVERS] + everywhere(60)
    assert verdict(lines, 50, ("198.51.100.1",)) == "held"


def test_answers_before_the_sampler_saw_the_servers_for_a_ttl_are_unseen() -> None:
    lines = watched(start=0) + everywhere(0.1)
    assert verdict(lines, 3, ("192.0.2.99",)) == "unseen"  # a copy from before the run: unknown
    assert verdict(lines, 3) == "held"
    assert verdict(lines, truth.MIN_CACHE_TTL_S + truth.SLACK_S + 0.5, ("192.0.2.99",)) == "unheld"


def test_a_sampler_gap_makes_non_held_answers_unseen_until_a_ttl_after_it_came_back() -> None:
    lines = BASE + [{"t": T0 + 20, "server": "sec-nsd", "sampler": "stopped"},
                    {"t": T0 + 22, "server": "sec-nsd", "sampler": "started"}]
    assert verdict(lines, 21, ("192.0.2.99",)) == "unseen"
    assert verdict(lines, 27, ("192.0.2.99",)) == "unseen"
    assert verdict(lines, 29, ("192.0.2.99",)) == "unheld"


def test_a_server_that_never_answered_the_sampler_holds_unknown_data() -> None:
    # sec-nsd was paused from the start: its sampler ran, but never got an answer until +30 s.
    lines = watched() + [held(0.1, server=s) for s in ("primary", "sec-knot")] + [
        held(0.1, (), server="sec-nsd", rcode=None, error="timeout"), held(30, server="sec-nsd")]
    assert verdict(lines, 20, ("192.0.2.99",)) == "unseen"
    assert verdict(lines, 40, ("192.0.2.99",)) == "unheld"


def test_a_name_nobody_sampled_is_unseen() -> None:
    assert verdict(BASE, 20, ("192.0.2.99",), name="other.cloud.test.") == "unseen"


def test_a_cname_in_the_truth_makes_other_answers_unseen() -> None:
    lines = watched() + [held(0.1, ("192.0.2.5",), server=s, cname=["edge.cdn.test."]) for s in SERVERS]
    assert verdict(lines, 10, ("192.0.2.5",)) == "held"
    assert verdict(lines, 10, ("192.0.2.6",)) == "unseen"


def test_names_compare_case_insensitively_and_addresses_canonically() -> None:
    lines = watched(queries=(("API.cloud.test", "aaaa"),)) + [
        held(0.1, ("2001:db8::1",), server=s, name="API.cloud.test", rdtype="aaaa") for s in SERVERS]
    assert verdict(lines, 10, ("2001:0db8:0:0::1",), type="AAAA") == "held"


def test_read_run_marks_every_probe_and_leaves_runs_without_truth_alone(tmp_path: Path) -> None:
    (tmp_path / "probes.jsonl").write_text("".join(json.dumps(p) + "\n" for p in (
        probe(10), probe(20, ("192.0.2.66",)), probe(21, (), rcode="SERVFAIL"))))
    found = records.read_run(tmp_path)
    assert found.truth is None and all("truth" not in p for p in found.probes)
    (tmp_path / "truth.jsonl").write_text("".join(json.dumps(line) + "\n" for line in BASE) + '{"t": 1')
    found = records.read_run(tmp_path)
    assert [p["truth"] for p in found.probes] == ["held", "unheld", None]
    assert [records.outcome(p) for p in found.probes] == ["ok", "wrong", "servfail"]
    assert found.truncated_lines == 1


def test_plan_samples_every_server_of_the_deepest_zone_with_its_primary() -> None:
    description = {"zones": {
        ".": {"servers": ["root"], "primary": None}, "test.": {"servers": ["tld"], "primary": None},
        "cloud.test.": {"servers": ["sec-knot", "sec-nsd"], "primary": "primary"}}}
    plan = truth.plan(description, [("api.cloud.test", "A"), ("api.cloud.test.", "TXT"), ("x.test.", "A"),
                                    ("example.com.", "A")])
    assert plan == {
        "primary": [["api.cloud.test.", "A"], ["api.cloud.test.", "TXT"]],
        "sec-knot": [["api.cloud.test.", "A"], ["api.cloud.test.", "TXT"]],
        "sec-nsd": [["api.cloud.test.", "A"], ["api.cloud.test.", "TXT"]],
        "tld": [["x.test.", "A"]],
        "root": [["example.com.", "A"]],
    }


@pytest.mark.parametrize("t", [0.5, 5.0, 29.0])
def test_held_at_says_what_the_servers_held(t: float) -> None:
    lines = BASE + everywhere(30, ("198.51.100.7",))
    assert {p.answers for p in Truth(lines).held_at(NAME, "A", T0 + t)} == {frozenset({"198.51.100.1"})}
