"""Checks over synthetic runs: every check holding and failing, filters, and spec validation."""

from __future__ import annotations

import pytest

from lab import params
from lab.checks import CHECKS, CheckResult, judge, spec_problems
from tests.support.records import NAME, T0, fault, probe

STARTED = {"t": T0, "source": "runner", "event": "run_started", "playbook": "race", "seed": 1, "lab": "t"}


def steady(start: float, end: float, every: float = 0.5, **fields) -> list[dict]:
    """Probes every `every` seconds in [start, end)."""
    count = round((end - start) / every)
    return [probe(start + i * every, **fields) for i in range(count)]


def run(spec: dict, probes: list[dict], events: list[dict] | None = None) -> CheckResult:
    [result] = judge([spec], probes, [STARTED] + (events or []))
    return result


# ---- never_empty ------------------------------------------------------------------------------------------


def test_never_empty_holds_when_every_answer_has_data() -> None:
    result = run({"check": "never_empty"}, steady(0, 30) + steady(0, 30, resolver="bind"))
    assert result.ok
    assert result.detail == "none of 120 A probes got an empty answer"


def test_never_empty_says_which_resolver_returned_nodata_or_nxdomain_and_when() -> None:
    probes = (
        steady(0, 10)
        + steady(10, 12, rcode="NOERROR", answers=[])  # the record set was emptied: NODATA
        + steady(12, 20)
        + steady(0, 20, resolver="bind")
    )
    probes[-1] = probe(19.5, "bind", "NXDOMAIN")  # bind lost the whole name once
    result = run({"check": "never_empty"}, probes)
    assert not result.ok
    # each name and each rcode once; per resolver its rcode where they differ
    assert result.detail == (f"5 of 80 A probes empty (4 NODATA, 1 NXDOMAIN) for {NAME} — "
                             "bind 1 NXDOMAIN at +19.5s; unbound 4 NODATA +10.0s…+11.5s")
    assert result.detail.count(NAME) == 1
    assert result.data["by_resolver"]["unbound"] == {
        "empty": 4, "nodata": 4, "nxdomain": 0, "names": [NAME], "first_s": 10.0, "last_s": 11.5,
    }


def test_never_empty_is_judged_per_type_the_aaaa_set_going_empty_is_its_own_finding() -> None:
    probes = steady(0, 10) + steady(0, 10, type="AAAA", answers=["2001:db8::10"])
    probes += steady(10, 12, type="AAAA", rcode="NOERROR", answers=[])  # only the AAAA set went empty
    result = run({"check": "never_empty"}, probes)
    assert not result.ok
    assert result.data["by_type"] == {"AAAA": 4}
    assert "(AAAA 4)" in result.detail
    assert run({"check": "never_empty", "types": ["A"]}, probes).ok


def test_filters_select_names_without_trailing_dot_any_case_and_a_time_window() -> None:
    other = "s3.us-east-1.cloud.test."
    probes = steady(0, 10) + [probe(3, name=other, answers=[], rcode="NOERROR"), probe(25, answers=[])]
    assert run({"check": "never_empty", "names": ["DynamoDB.us-east-1.cloud.test"], "window": [0, 20]}, probes).ok
    assert not run({"check": "never_empty", "names": [other.rstrip(".")]}, probes).ok
    assert not run({"check": "never_empty", "window": [20, 30]}, probes).ok


def test_a_check_whose_filters_match_nothing_fails_instead_of_passing_silently() -> None:
    result = run({"check": "never_empty", "names": ["typo.cloud.test"]}, steady(0, 10))
    assert not result.ok
    assert result.detail == "no probe matched (names=typo.cloud.test)"


def test_resolver_client_and_type_filters() -> None:
    probes = steady(0, 5) + [probe(1, "bind", answers=[]), probe(2, client="client2", answers=[]),
                             probe(3, type="AAAA", answers=[])]
    assert run({"check": "never_empty", "resolvers": ["unbound"], "clients": ["client1"], "types": ["a"]}, probes).ok
    assert not run({"check": "never_empty", "types": ["AAAA"]}, probes).ok


# ---- availability -----------------------------------------------------------------------------------------


def test_availability_holds_overall_and_per_resolver() -> None:
    probes = steady(0, 50) + steady(0, 50, resolver="bind")
    probes[5] = probe(2.5, rcode="SERVFAIL")
    result = run({"check": "availability", "min": 0.98}, probes)
    assert result.ok
    assert result.detail == "99.5% ok of 200 A probes (min 98.0%); bind 100.0%, unbound 99.0%"
    assert result.data["by_resolver"]["unbound"] == {"ok": 99, "total": 100, "ratio": 0.99}


def test_availability_fails_for_one_bad_resolver_even_when_the_total_is_enough() -> None:
    probes = steady(0, 50) + steady(0, 45, resolver="bind") + steady(45, 50, resolver="bind", rcode=None)
    spec = {"check": "availability", "min": 0.95}
    result = run(spec, probes)
    assert not result.ok
    assert "95.0% ok of 200 A probes" in result.detail and "bind 90.0% ✗ (TIMEOUT 10)" in result.detail
    assert run(spec | {"per_resolver": False}, probes).ok


def test_availability_never_rounds_a_loss_up_to_100_percent() -> None:
    probes = steady(0, 1000, every=0.25)
    probes[0] = probe(0, rcode="SERVFAIL")
    result = run({"check": "availability", "min": 1.0}, probes)
    assert not result.ok and ">99.9% ok" in result.detail


# ---- no_regression ----------------------------------------------------------------------------------------


def gen(t: float, generation: int, ttl: int = 30, **fields) -> dict:
    return probe(t, type="TXT", answers=[f"gen={generation}"], **fields) | {"ttl": ttl}


def test_no_regression_holds_as_generations_advance() -> None:
    probes = [gen(t, 6) for t in range(0, 20)] + [gen(t, 7) for t in range(20, 60)]
    result = run({"check": "no_regression"}, probes)
    assert result.ok
    assert "highest generation 7" in result.detail


def test_an_older_cached_copy_is_excused_until_the_newer_copies_expire() -> None:
    # Two caches behind one resolver address: one fetched 7 at 20 s (expires at 50 s), the other still
    # holds 6 fetched at 0 s (expires at 30 s); the client sees both until 6 expires.
    probes = [gen(t, 6, ttl=30 - t) for t in range(0, 20)]
    probes += [gen(t, 7, ttl=50 - t) if t % 2 else gen(t, 6, ttl=30 - t) for t in range(20, 30)]
    probes += [gen(t, 7, ttl=50 - t) for t in range(30, 50)]
    assert run({"check": "no_regression"}, probes).ok
    assert not run({"check": "no_regression", "grace": 0}, probes).ok


def test_a_stale_plan_winning_after_the_ttl_is_a_regression() -> None:
    # Generation 7 was served, then the delayed enactor wrote generation 5 back; once 7's copies expired
    # (first seen at 20 s with TTL 30 → 50 s) every fresh fetch returned 5.
    probes = [gen(t, 7, ttl=30 - (t - 20)) for t in range(20, 50)] + [gen(t, 5) for t in range(52, 60)]
    result = run({"check": "no_regression"}, probes)
    assert not result.ok
    assert result.detail == (f"8 answers went back a generation (unbound 8); first +52.0s: {NAME} from "
                             "generation 7 back to 5 (client1 via unbound)")
    assert result.data["first"]["from"] == 7 and result.data["first"]["to"] == 5
    assert result.data["first"]["excused_until"] == 51.0  # earliest expiry of a 7 + 1 s TTL rounding


def test_grace_counts_from_when_the_newer_generation_was_first_seen() -> None:
    probes = [gen(0, 6), gen(10, 7), gen(20, 6)]
    assert not run({"check": "no_regression", "grace": 5}, probes).ok
    assert run({"check": "no_regression", "grace": 15}, probes).ok


def test_generations_are_judged_per_client_and_with_a_custom_pattern() -> None:
    probes = [gen(0, 7), gen(100, 6, client="client2")]  # client2 never saw 7: no regression for it
    assert run({"check": "no_regression"}, probes).ok
    marked = [probe(0, type="TXT", answers=["plan v12"]), probe(100, type="TXT", answers=["plan v11"])]
    assert not run({"check": "no_regression", "pattern": r"v(\d+)"}, marked).ok


def test_no_regression_fails_when_no_answer_carries_a_generation() -> None:
    result = run({"check": "no_regression"}, steady(0, 10))
    assert not result.ok
    assert result.detail == r"none of 20 probes carried a generation marker matching gen=(\d+)"


# ---- recovers_within --------------------------------------------------------------------------------------

PARTITION = [fault("fault_injected", 10), fault("fault_cleared", 20)]


def outage(until: float, resolver: str = "unbound", end: float = 60) -> list[dict]:
    """ok, SERVFAIL from the fault (10 s) until `until`, ok again to `end`."""
    return (steady(0, 10, resolver=resolver) + steady(10, until, resolver=resolver, rcode="SERVFAIL")
            + steady(until, end, resolver=resolver))


def test_recovers_within_holds_when_every_resolver_is_back_in_time() -> None:
    result = run({"check": "recovers_within", "seconds": 5}, outage(22) + outage(23.5, "bind"), PARTITION)
    assert result.ok
    assert result.detail == ("1/1 faults recovered within 5s: partition on auth1 cleared +20.0s: "
                             "recovered in 3.5s (bind 3.5s, unbound 2.0s)")
    assert result.data["faults"][0]["seconds"] == 3.5


def test_recovers_within_fails_when_the_slowest_resolver_is_late() -> None:
    result = run({"check": "recovers_within", "seconds": 5}, outage(22) + outage(28, "bind"), PARTITION)
    assert not result.ok
    assert "recovered in 8.0s (bind 8.0s, unbound 2.0s)" in result.detail


def test_a_flapping_resolver_has_not_recovered_until_it_stays_ok() -> None:
    probes = outage(30)
    probes[50] = probe(25.0)  # one lucky answer in the middle of the outage
    result = run({"check": "recovers_within", "seconds": 8}, probes, PARTITION)
    assert not result.ok
    assert result.data["faults"][0]["by_resolver"] == {"unbound": 10.0}


def test_ok_until_the_end_of_a_short_run_counts_as_recovered() -> None:
    assert run({"check": "recovers_within", "seconds": 5}, outage(24, end=25), PARTITION).ok


def test_never_recovering_never_cleared_and_no_fault_all_fail() -> None:
    never = run({"check": "recovers_within", "seconds": 5}, outage(60), PARTITION)
    assert not never.ok and "unbound (SERVFAIL 80) never recovered" in never.detail
    killed = run({"check": "recovers_within", "seconds": 5}, outage(12), PARTITION[:1])
    assert not killed.ok and "partition on auth1 was never cleared" in killed.detail
    nothing = run({"check": "recovers_within", "seconds": 5}, outage(12))
    assert not nothing.ok and "no fault was injected" in nothing.detail


def test_recovers_within_judges_only_the_fault_asked_for() -> None:
    events = PARTITION + [fault("fault_injected", 30, "f2", "pause", "enactor-a"),
                          fault("fault_cleared", 40, "f2", "pause", "enactor-a")]
    probes = outage(22)[:-40] + steady(40, 50, rcode="SERVFAIL") + steady(50, 60)  # 10 s to recover from f2
    assert run({"check": "recovers_within", "seconds": 5, "fault": "partition"}, probes, events).ok
    assert not run({"check": "recovers_within", "seconds": 5, "fault": "f2"}, probes, events).ok
    assert not run({"check": "recovers_within", "seconds": 5}, probes, events).ok


# ---- latency ----------------------------------------------------------------------------------------------


def timed(latencies: list[float | None], resolver: str = "unbound") -> list[dict]:
    """One probe per latency; None is a timeout."""
    return [probe(i * 0.1, resolver, rcode=None if ms is None else "NOERROR", latency_ms=ms)
            for i, ms in enumerate(latencies)]


def test_latency_holds_within_both_percentiles() -> None:
    probes = timed([2.0] * 98 + [40.0, 90.0]) + timed([5.0] * 100, "bind")
    result = run({"check": "latency", "p50_ms": 10, "p99_ms": 50}, probes)
    assert result.ok
    assert result.detail == "p50 ≤ 10ms: bind 5.0ms, unbound 2.0ms; p99 ≤ 50ms: bind 5.0ms, unbound 40.0ms"


def test_latency_fails_for_a_slow_resolver() -> None:
    result = run({"check": "latency", "p99_ms": 50}, timed([2.0] * 100) + timed([80.0] * 100, "bind"))
    assert not result.ok
    assert "bind 80.0ms ✗" in result.detail and "unbound 2.0ms" in result.detail


def test_timeouts_count_as_infinitely_slow() -> None:
    one_timeout = timed([2.0] * 199 + [None])
    assert run({"check": "latency", "p99_ms": 50}, one_timeout).ok  # the 198th of 200 is still an answer
    three_timeouts = timed([2.0] * 197 + [None] * 3)
    result = run({"check": "latency", "p99_ms": 50}, three_timeouts)
    assert not result.ok
    assert result.detail == "p99 ≤ 50ms: unbound timeout ✗"
    assert result.data["by_resolver"]["unbound"] == {"n": 200, "timeouts": 3, "p50_ms": 2.0, "p99_ms": None}


# ---- expect_rcode -----------------------------------------------------------------------------------------


def test_expect_rcode_holds_when_the_symptom_shows_up() -> None:
    probes = steady(0, 10) + steady(10, 12, rcode="SERVFAIL") + steady(12, 20)
    result = run({"check": "expect_rcode", "rcode": "servfail"}, probes)
    assert result.ok
    assert result.detail == "SERVFAIL seen 4 times (min 1) +10.0s…+11.5s: unbound 4"
    assert not run({"check": "expect_rcode", "rcode": "SERVFAIL", "min_count": 5}, probes).ok


def test_expect_rcode_fails_and_says_what_was_seen_instead() -> None:
    probes = steady(0, 10) + [probe(10, rcode=None)]
    result = run({"check": "expect_rcode", "rcode": "SERVFAIL"}, probes)
    assert not result.ok
    assert result.detail == "SERVFAIL never seen in 21 probes (min 1); seen instead: NOERROR 20, TIMEOUT 1"


@pytest.mark.parametrize(
    ("symptom", "present"),
    [("EMPTY", "NXDOMAIN"), ("NODATA", "NODATA"), ("TIMEOUT", "TIMEOUT"), ("NXDOMAIN", "NXDOMAIN")],
)
def test_expect_rcode_special_symptoms(symptom: str, present: str) -> None:
    bad = {"NXDOMAIN": probe(5, rcode="NXDOMAIN"), "NODATA": probe(5, answers=[]), "TIMEOUT": probe(5, rcode=None)}
    assert run({"check": "expect_rcode", "rcode": symptom}, steady(0, 10) + [bad[present]]).ok
    assert not run({"check": "expect_rcode", "rcode": symptom}, steady(0, 10)).ok


def test_nodata_is_not_nxdomain() -> None:
    assert not run({"check": "expect_rcode", "rcode": "NODATA"}, [probe(1, rcode="NXDOMAIN")]).ok


# ---- answers_valid, expect_answers, forbid_answers ---------------------------------------------------------

SPOOF = "192.0.2.66"


def judged(t: float, resolver: str = "unbound", truth: str = "held", **fields) -> dict:
    """A probe as records.read_run marks it against truth.jsonl (lab.truth)."""
    return probe(t, resolver, truth=truth, **fields)


def test_answers_valid_holds_when_every_judged_answer_was_held() -> None:
    probes = [judged(t) for t in range(10)] + [judged(10, truth="unseen"), judged(11, rcode="SERVFAIL", truth=None)]
    result = run({"check": "answers_valid"}, probes)
    assert result.ok
    assert result.detail == "all 10 judged answers were held by the authoritative data (1 not judged: unseen)"


def test_answers_valid_names_the_spoofed_address_per_resolver_and_when() -> None:
    probes = ([judged(t) for t in range(10)] + [judged(10 + t, answers=[SPOOF], truth="unheld") for t in range(5)]
              + [judged(12, "bind", answers=["192.0.2.1"], truth="stale"), judged(13, "bind", truth="held")])
    result = run({"check": "answers_valid"}, probes)
    assert not result.ok
    assert result.detail == ("6 of 17 judged answers were wrong — bind: 1 (stale 192.0.2.1 ×1) at +12.0s; "
                             "unbound: 5 (192.0.2.66 ×5) +10.0s…+14.0s")
    assert result.data["wrong"] == 6 and result.data["stale"] == 1
    assert result.data["by_resolver"]["unbound"]["answers"] == {SPOOF: 5}


def test_answers_valid_names_wrong_empty_answers() -> None:
    probes = [judged(0), judged(1, rcode="NXDOMAIN", answers=[], truth="unheld")]
    result = run({"check": "answers_valid"}, probes)
    assert not result.ok and "(NXDOMAIN ×1)" in result.detail


def test_answers_valid_fails_without_a_truth_to_judge_by() -> None:
    result = run({"check": "answers_valid"}, steady(0, 5))
    assert not result.ok and "no truth recorded" in result.detail
    result = run({"check": "answers_valid"}, [judged(t, truth="unseen") for t in range(3)])
    assert not result.ok and result.detail.startswith("none of 3 answers could be judged")


def test_answers_valid_filters_like_every_check() -> None:
    probes = [judged(t) for t in range(10)] + [judged(5, "bind", answers=[SPOOF], truth="unheld")]
    assert run({"check": "answers_valid", "resolvers": ["unbound"]}, probes).ok
    assert not run({"check": "answers_valid", "window": [4, 6]}, probes).ok
    assert run({"check": "answers_valid", "window": [6, 10]}, probes).ok


def test_availability_and_recovery_count_wrong_answers_as_not_ok() -> None:
    # A spoof from +10 s to +20 s: the answers kept coming, but they were lies.
    probes = ([judged(t / 2) for t in range(20)] + [judged(10 + t / 2, answers=[SPOOF], truth="unheld")
                                                   for t in range(20)] + [judged(20 + t / 2) for t in range(20)])
    events = [fault("fault_injected", 10, kind="spoof"), fault("fault_cleared", 15, kind="spoof")]
    availability = run({"check": "availability", "min": 0.9}, probes)
    assert not availability.ok and availability.data["overall"]["ok"] == 40
    recovery = run({"check": "recovers_within", "seconds": 2}, probes, events)
    assert not recovery.ok and recovery.data["faults"][0]["by_resolver"]["unbound"] == 5.0


def test_expect_answers_sees_a_spoofed_address_or_says_what_came_instead() -> None:
    probes = steady(0, 5) + [probe(5, answers=[SPOOF]), probe(6, "bind", answers=["192.0.2.1", SPOOF])]
    result = run({"check": "expect_answers", "answers": [SPOOF]}, probes)
    assert result.ok and result.detail == "192.0.2.66 seen in 2 probes (min 1) +5.0s…+6.0s: bind 1, unbound 1"
    assert not run({"check": "expect_answers", "answers": [SPOOF], "min_count": 3}, probes).ok
    result = run({"check": "expect_answers", "answers": [SPOOF]}, steady(0, 5))
    assert not result.ok
    assert result.detail == "192.0.2.66 never seen in 10 probes (min 1); seen instead: 192.0.2.1 ×10"


def test_forbid_answers_fails_where_the_address_got_through() -> None:
    assert run({"check": "forbid_answers", "answers": [SPOOF]}, steady(0, 5)).ok
    probes = steady(0, 5) + [probe(5, "bind", answers=[SPOOF])]
    result = run({"check": "forbid_answers", "answers": [SPOOF, "2001:DB8::66"]}, probes)
    assert not result.ok
    assert result.detail == "192.0.2.66, 2001:db8::66 seen in 1 of 11 probes at +5.0s: bind 1"


# ---- the table, names, validation -------------------------------------------------------------------------


def test_every_check_accepts_the_common_filters_and_describes_its_parameters() -> None:
    for kind, check in CHECKS.items():
        assert check.kind == kind and check.help
        if check.select is None:  # a kind that judges probes takes every probe filter
            assert {"names", "resolvers", "clients", "types", "window"} <= set(check.params)
        for param in check.params.values():
            type_, required, default, help_text = param  # a validator may unpack it
            assert params.type_name(type_) and help_text
            assert not (required and default is not None)


def test_display_name_is_the_given_name_or_the_kind_with_its_parameters() -> None:
    probes = steady(0, 10)
    assert run({"check": "availability", "min": 0.99, "resolvers": ["unbound"]}, probes).name == \
        "availability(min=0.99, resolvers=unbound)"
    assert run({"check": "never_empty", "name": "endpoint never empty"}, probes).name == "endpoint never empty"
    assert run({"check": "never_empty"}, probes).name == "never_empty"


def test_judge_rejects_unknown_checks_clearly() -> None:
    expected = r"check 2 \(never_emtpy\): unknown check 'never_emtpy' \(known: never_empty"
    with pytest.raises(ValueError, match=expected):
        judge([{"check": "never_empty"}, {"check": "never_emtpy"}], [], [])


def test_judge_lists_every_problem_before_running_anything() -> None:
    with pytest.raises(ValueError) as raised:
        judge([{"check": "availability"}, {"check": "latency"}], steady(0, 1), [])
    assert "check 1 (availability): min is required" in str(raised.value)
    assert "check 2 (latency): latency needs at least one of p50_ms, p99_ms" in str(raised.value)


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({"check": "availability", "min": "99%"}, "min", "min must be a number, not '99%'"),
        ({"check": "availability", "min": 1.5}, "min", "min must be between 0 and 1, not 1.5"),
        ({"check": "availability", "min": 0.9, "per_resolver": 1}, "per_resolver", "per_resolver must be a boolean"),
        ({"check": "recovers_within", "seconds": True}, "seconds", "seconds must be a number, not True"),
        ({"check": "recovers_within", "seconds": 5, "stable": 0}, "stable", "stable must be at least 1"),
        ({"check": "never_empty", "names": "a.test"}, "names", "names must be a list of strings"),
        ({"check": "never_empty", "names": []}, "names", "names is empty"),
        ({"check": "never_empty", "window": [30, 10]}, "window", "window must be [start, end]"),
        ({"check": "never_empty", "min": 0.9}, "min", "unknown parameter 'min' for check 'never_empty'"),
        ({"check": "no_regression", "pattern": "gen=\\d+"}, "pattern", "pattern needs a group"),
        ({"check": "no_regression", "pattern": "gen=("}, "pattern", "pattern is not a regular expression"),
        ({"check": "expect_rcode", "rcode": "SERVFIAL"}, "rcode", "unknown rcode 'SERVFIAL'"),
        ({"check": "expect_answers"}, "answers", "answers is required"),
        ({"check": "forbid_answers", "answers": []}, "answers", "answers is empty"),
        ({"check": "expect_answers", "answers": ["192.0.2.66"], "min_count": 0}, "min_count",
         "min_count must be at least 1"),
        ({"name": "x"}, "check", "missing 'check'"),
    ],
)
def test_spec_problems_name_the_offending_key(spec: dict, key: str, message: str) -> None:
    problems = spec_problems(spec)
    assert [problem.key for problem in problems] == [key]
    assert problems[0].message.startswith(message)


def test_valid_specs_have_no_problems() -> None:
    assert spec_problems({"check": "latency", "p99_ms": 200, "window": [0, 60.5], "types": ["A"]}) == []
    assert spec_problems({"check": "expect_rcode", "rcode": "timeout", "min_count": 3, "name": "x"}) == []


def test_calling_a_check_directly_validates_and_fills_defaults() -> None:
    result = CHECKS["expect_rcode"]({"rcode": "SERVFAIL"}, steady(0, 5), [STARTED])
    assert not result.ok and result.data["count"] == 0
    with pytest.raises(ValueError, match="min is required"):
        CHECKS["availability"]({}, steady(0, 5), [STARTED])


def test_a_check_crashing_on_bad_data_fails_instead_of_losing_the_report() -> None:
    probes = steady(0, 5) + [probe(5, latency_ms="fast")]
    result = run({"check": "latency", "p99_ms": 10}, probes)
    assert not result.ok and result.detail.startswith("check crashed: TypeError")
