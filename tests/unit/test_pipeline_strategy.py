"""The enactor's decisions (lab.agents.strategy) and the plan model (lab.agents.plans), without Docker."""

from __future__ import annotations

import random

from lab.agents import plans, strategy

REGIONS = {"us-east-1": {"endpoints": ["a.cloud.test.", "b.cloud.test."],
                         "addresses": [f"192.0.2.{i}" for i in range(10, 18)]}}


def test_plans_are_deterministic_per_seed_and_generations_differ():
    one = [plans.make_plan(g, 1, REGIONS, created=0) for g in range(1, 20)]
    again = [plans.make_plan(g, 1, REGIONS, created=0) for g in range(1, 20)]
    other_seed = [plans.make_plan(g, 2, REGIONS, created=0) for g in range(1, 20)]
    assert one == again
    assert one != other_seed
    targets = [p["plans"]["us-east-1"]["targets"] for p in one]
    assert len({str(t) for t in targets}) == len(targets), "every generation changes capacity"
    assert len({len(t) for t in targets}) > 1, "load balancers are drained and come back"


def test_every_endpoint_of_a_region_gets_the_regional_addresses_and_never_too_few():
    for generation in range(1, 50):
        found = plans.endpoint_addresses(plans.make_plan(generation, 3, REGIONS))
        assert found["a.cloud.test."] == found["b.cloud.test."]
        assert len(found["a.cloud.test."]) >= plans.MIN_IN_SERVICE
    assert len(plans.endpoint_addresses(plans.make_plan(7, 3, REGIONS, baseline=True))["a.cloud.test."]) == 8


def test_normal_generations_stay_within_the_default_velocity_limit():
    """The planner's own changes must never trip the guarded enactor's velocity limit (0.5)."""
    addresses = [plans.endpoint_addresses(plans.make_plan(g, 5, REGIONS))["a.cloud.test."] for g in range(60)]
    assert all(strategy.removed_share(old, new) <= 0.5 for old in addresses for new in addresses)


def test_store_writes_atomically_and_lists_generations(tmp_path):
    store = plans.PlanStore(tmp_path)
    assert store.newest() is None and store.counter() == -1
    for generation in (3, 1, 12):
        store.write(plans.make_plan(generation, 0, REGIONS))
    assert store.generations() == [1, 3, 12] and store.newest() == 12
    assert store.read(3)["generation"] == 3
    assert store.delete(3) and not store.delete(3) and store.read(3) is None
    assert not list(tmp_path.glob(".*tmp")), "no temporary files left behind"
    store.write_status("enactor-a", {"state": "idle"})
    assert store.statuses()["enactor-a"]["state"] == "idle"


def test_marker_and_freshness():
    assert strategy.parse_marker(["gen=7"]) == 7
    assert strategy.parse_marker(["other", "gen=3", "gen=12"]) == 12
    assert strategy.parse_marker([]) is None
    assert strategy.is_fresh(5, {"a": 4, "b": None})
    assert not strategy.is_fresh(5, {"a": 4, "b": 5})
    assert strategy.is_fresh(0, {"a": None})


def test_orphaned_endpoints_are_those_whose_active_plan_is_gone():
    assert strategy.orphaned({"a": 4, "b": 9, "c": None}, [5, 6, 9]) == {"a": 4}
    assert "gen=4 of a" in strategy.stuck_reason({"a": 4})


def test_naive_change_set_deletes_what_the_active_plan_had_and_moves_the_marker():
    ops = strategy.naive_ops("a.", 7, ["192.0.2.1", "192.0.2.2"], ["192.0.2.2", "192.0.2.3"], 5)
    assert ops == [["delete", "a.", "A", "192.0.2.3"], ["add", "a.", 5, "A", ["192.0.2.1", "192.0.2.2"]],
                   ["replace", "a.", 5, "TXT", ["gen=7"]]]


def test_guarded_update_is_a_compare_and_set_on_the_marker():
    prereq, ops = strategy.guarded_update("a.", 7, ["192.0.2.1"], 6, 5)
    assert prereq == [["rrset_value", "a.", "TXT", ["gen=6"]]]
    assert ops[-1] == ["replace", "a.", 5, "TXT", ["gen=7"]]
    assert strategy.guarded_update("a.", 1, ["192.0.2.1"], None, 5)[0] == [["rrset_absent", "a.", "TXT"]]


def test_after_a_refused_compare_and_set():
    assert strategy.after_prereq_failure(7, 9) == "stale"
    assert strategy.after_prereq_failure(7, 7) == "done"
    assert strategy.after_prereq_failure(7, 6) == "retry"
    assert strategy.after_prereq_failure(7, None) == "retry"


def test_velocity_limit():
    current = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
    assert not strategy.velocity_refused(current, current[:2], 0.5)
    assert strategy.velocity_refused(current, current[:1], 0.5)
    assert not strategy.velocity_refused([], ["192.0.2.1"], 0.5)


def test_naive_clean_up_deletes_the_active_plan_guarded_never_does():
    generations = [3, 4, 5, 6, 7, 8, 9, 10]
    markers = {"a": 10, "b": 4}  # b was overwritten by a stale plan
    assert strategy.plans_to_delete(generations, 10, 3, markers, "naive") == [3, 4, 5, 6]
    assert strategy.plans_to_delete(generations, 10, 3, markers, "guarded") == [3, 5, 6]
    assert strategy.records_to_remove({"a": 10, "b": 4}, [7, 8, 9, 10], "naive") == {"b": 4}
    assert strategy.records_to_remove({"a": 10, "b": 4}, [7, 8, 9, 10], "guarded") == {}


def test_backoff_grows_and_is_capped():
    rng = random.Random(1)
    waits = [strategy.backoff(a, rng) for a in range(1, 10)]
    assert waits[0] < 0.31 and max(waits) <= 3.0
    assert strategy.backoff(3, random.Random(0)) > strategy.backoff(1, random.Random(0))
