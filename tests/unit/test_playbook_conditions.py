"""Wait conditions over recorded events and probes (pure)."""

from __future__ import annotations

from lab.playbook import conditions
from tests.support.records import probe


def test_an_event_matches_on_every_given_field_numbers_and_text_alike():
    event = {"event": "endpoint_applied", "source": "enactor-a", "generation": 7, "index": "1"}
    assert conditions.event_matches({"event": "endpoint_applied", "source": "enactor-a", "generation": 7,
                                     "index": 1}, event)
    assert not conditions.event_matches({"event": "endpoint_applied", "generation": 8}, event)
    assert not conditions.event_matches({"event": "endpoint_applied", "endpoint": "x"}, event)
    assert not conditions.event_matches({"event": "stuck", "ok": True}, {"event": "stuck", "ok": 1})


def test_find_event_starts_at_the_cursor():
    events = [{"event": "retry"}, {"event": "stuck"}, {"event": "retry"}]
    assert conditions.find_event({"event": "retry"}, events) == 0
    assert conditions.find_event({"event": "retry"}, events, 1) == 2
    assert conditions.find_event({"event": "retry"}, events, 3) is None


def test_count_probes_with_an_outcome():
    probes = [probe(0, "a"), probe(0, "b", "NXDOMAIN"), probe(0, "a", answers=[])]
    assert conditions.probes_met({"probes": "empty", "count": 2}, probes, ["a", "b"])
    assert not conditions.probes_met({"probes": "empty", "count": 3}, probes, ["a", "b"])
    assert conditions.probes_met({"probes": "nodata"}, probes, ["a", "b"])
    assert not conditions.probes_met({"probes": "empty", "resolvers": ["a"], "count": 2}, probes, ["a", "b"])
    assert not conditions.probes_met({"probes": "timeout"}, probes, ["a"])


def test_every_resolver_needs_its_last_probes_to_have_the_outcome():
    cond = {"probes": "ok", "count": 2, "every_resolver": True}
    probes = [probe(0, "a"), probe(0, "a"), probe(0, "b", "SERVFAIL"), probe(0, "b")]
    assert conditions.probe_progress(cond, probes, ["a", "b"]) == (False, "a 2/2, b 1/2")
    assert conditions.probes_met(cond, probes + [probe(0, "b")], ["a", "b"])
    assert not conditions.probes_met(cond, probes + [probe(0, "b"), probe(0, "a", None)],
                                     ["a", "b"])
    # a resolver that never answered keeps the wait going
    assert not conditions.probes_met(cond, [probe(0, "a"), probe(0, "a")], ["a", "b"])
    assert conditions.probes_met({**cond, "resolvers": ["a"]}, [probe(0, "a"), probe(0, "a")], ["a", "b"])


def test_a_wait_for_every_resolver_says_what_holds_each_one_back():
    """The baseline wait's live line: `pdns 0/2 (now SERVFAIL)` — a resolver still failing from before."""
    cond = {"probes": "ok", "count": 2, "every_resolver": True}
    probes = [probe(0, "a"), probe(0, "a"), probe(0, "pdns", "SERVFAIL"), probe(0, "b", answers=[])]
    assert conditions.probe_progress(cond, probes, ["a", "pdns", "b"]) == (
        False, "a 2/2, pdns 0/2 (now SERVFAIL), b 0/2 (now NODATA)")
