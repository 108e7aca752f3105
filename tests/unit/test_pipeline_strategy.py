"""The enactor's decisions (lab.agents.strategy), the enactor driving them (lab.agents.enactor) against an
in-memory primary, and the plan model (lab.agents.plans), without Docker."""

from __future__ import annotations

import random

import pytest

from lab.agents import enactor, plans, settings, strategy

PLAN_4_SEED_1 = ["192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.14", "192.0.2.15", "192.0.2.16", "192.0.2.17"]
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


def test_a_dual_stack_pool_keeps_enough_of_each_family_and_sorts_ipv4_first():
    regions = {"r": {"endpoints": ["a.cloud.test."],
                     "addresses": [f"192.0.2.{i}" for i in range(10, 18)] + [f"2001:db8::{i}" for i in range(1, 6)]}}
    for generation in range(1, 50):
        found = plans.endpoint_addresses(plans.make_plan(generation, 3, regions))["a.cloud.test."]
        sets = strategy.by_type(found)
        assert len(sets["A"]) >= plans.MIN_IN_SERVICE and len(sets["AAAA"]) >= plans.MIN_IN_SERVICE
        assert found == sets["A"] + sets["AAAA"]
    # An IPv4-only pool draws what it drew before dual-stack plans existed (seeded runs stay the same).
    assert [t["address"] for t in plans.make_plan(4, 1, REGIONS, created=0)["plans"]["us-east-1"]["targets"]] \
        == PLAN_4_SEED_1


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


def test_a_dual_stack_plan_writes_an_a_and_an_aaaa_set():
    new, active = ["192.0.2.1", "2001:db8::1"], ["192.0.2.1", "2001:db8::2"]
    assert strategy.naive_ops("a.", 7, new, active, 5) == [
        ["delete", "a.", "AAAA", "2001:db8::2"], ["add", "a.", 5, "A", ["192.0.2.1"]],
        ["add", "a.", 5, "AAAA", ["2001:db8::1"]], ["replace", "a.", 5, "TXT", ["gen=7"]]]
    _, ops = strategy.guarded_update("a.", 7, new, 6, 5)
    assert ops[:2] == [["replace", "a.", 5, "A", ["192.0.2.1"]], ["replace", "a.", 5, "AAAA", ["2001:db8::1"]]]
    # A plan without IPv6 addresses leaves no AAAA set behind.
    assert strategy.guarded_update("a.", 7, ["192.0.2.1"], 6, 5)[1][1] == ["delete", "a.", "AAAA"]


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
    naive, guarded = strategy.named("naive"), strategy.named("guarded")
    assert naive.plans_to_delete(generations, 10, 3, markers) == [3, 4, 5, 6]
    assert guarded.plans_to_delete(generations, 10, 3, markers) == [3, 5, 6]
    assert naive.records_to_remove({"a": 10, "b": 4}, [7, 8, 9, 10]) == {"b": 4}
    assert guarded.records_to_remove({"a": 10, "b": 4}, [7, 8, 9, 10]) == {}


def test_backoff_grows_and_is_capped():
    rng = random.Random(1)
    waits = [strategy.backoff(a, rng) for a in range(1, 10)]
    assert waits[0] < 0.31 and max(waits) <= 3.0
    assert strategy.backoff(3, random.Random(0)) > strategy.backoff(1, random.Random(0))


# ---- the enactor with a strategy, against an in-memory primary ------------------------------------------


class FakeAgent:
    """An enactor's Agent with the primary's endpoints in a dict: updates apply RFC 2136 prerequisites and
    the ops lab.agents.update takes; every event and every update sent is kept."""

    node = "enactor-a"
    config = {"enactors": ["enactor-a"]}

    def __init__(self, tmp_path, endpoints=("a.cloud.test.",)):
        self.store = plans.PlanStore(tmp_path)
        self.endpoints = list(endpoints)
        self.dns = {e: {"marker": None, "addresses": []} for e in endpoints}
        self.events, self.sent = [], []
        self.overrides = {"apply_pace": 0, "max_attempts": 2}

    def settings(self) -> dict:
        return {**settings.defaults(), **self.overrides}

    def emit(self, event: str, **fields) -> None:
        self.events.append({"event": event, **fields})

    def status(self, state: str, **fields) -> None:
        pass

    def read_endpoint(self, endpoint: str) -> dict:
        return {k: list(v) if isinstance(v, list) else v for k, v in self.dns[endpoint].items()}

    def read_endpoints(self) -> dict:
        return {e: self.read_endpoint(e) for e in self.endpoints}

    def send(self, ops: list, prereq: list = ()) -> dict:
        self.sent.append((list(prereq), list(ops)))
        for kind, endpoint, rrtype, *value in prereq:
            marker = self.dns[endpoint]["marker"]
            if kind == "rrset_absent" and marker is not None or \
                    kind == "rrset_value" and [strategy.marker_text(marker)] != value[0]:
                return {"rcode": "NXRRSET", "error": None}
        for op in ops:
            endpoint, record = op[1], self.dns[op[1]]
            if op[0] == "delete":
                record["addresses"] = [a for a in record["addresses"] if len(op) > 3 and a != op[3]]
            elif op[3] == "TXT":
                record["marker"] = strategy.parse_marker(op[4])
            else:
                record["addresses"] = sorted(set(op[4]) | (set(record["addresses"]) if op[0] == "add" else set()))
        return {"rcode": "NOERROR", "error": None}


def plan(generation: int, addresses: list[str]) -> dict:
    return {"generation": generation, "plans": {"r": {"endpoints": ["a.cloud.test."],
                                                      "targets": [{"address": a, "weight": 1} for a in addresses]}}}


def run_one(agent: FakeAgent, strategy_name: str, generation: int, addresses: list[str], seen: dict) -> str:
    run = enactor.Enactor(agent)
    return run.apply_endpoint(generation, "a.cloud.test.", 1, addresses, seen,
                              {**agent.settings(), "strategy": strategy_name, "epoch": None, "running": True})


@pytest.fixture
def agent(tmp_path):
    found = FakeAgent(tmp_path)
    for generation, addresses in ((5, ["192.0.2.1", "192.0.2.2"]), (7, ["192.0.2.2", "192.0.2.3"])):
        found.store.write(plan(generation, addresses))
    found.dns["a.cloud.test."] = {"marker": 7, "addresses": ["192.0.2.2", "192.0.2.3"]}
    return found


def test_a_stale_plan_is_written_blindly_by_naive_and_refused_by_guarded(agent):
    seen_before = {"marker": None, "addresses": []}  # what the freshness check saw, before gen 7 landed
    assert run_one(agent, "guarded", 5, ["192.0.2.1", "192.0.2.2"], seen_before) == "refused"
    assert agent.dns["a.cloud.test."]["marker"] == 7
    assert agent.events[-1] == {"event": "refused", "generation": 5, "endpoint": "a.cloud.test.", "reason": "stale",
                                "active": 7, "rcode": "NXRRSET"}
    assert run_one(agent, "naive", 5, ["192.0.2.1", "192.0.2.2"], seen_before) == "applied"
    assert agent.dns["a.cloud.test."] == {"marker": 5, "addresses": ["192.0.2.1", "192.0.2.2"]}


def test_naive_is_stuck_once_the_active_plan_is_gone(agent):
    agent.store.delete(7)
    assert run_one(agent, "naive", 9, ["192.0.2.9"], agent.read_endpoint("a.cloud.test.")) == "stuck"
    assert agent.events[-1]["event"] == "stuck" and "gen=7" in agent.events[-1]["reason"]
    assert not agent.sent


def test_a_third_strategy_is_one_class(agent, monkeypatch):
    """A strategy that only ever adds addresses, with its own refusal: nothing else needs to know it."""

    class AddOnly(strategy.Strategy):
        name = "add-only"

        def refusal(self, generation, seen, new, settings):
            return {"reason": "empty"} if not new else None

        def update(self, endpoint, generation, new, seen, ttl, addresses_of):
            return [], [["add", endpoint, ttl, "A", new], ["replace", endpoint, ttl, "TXT",
                                                            [strategy.marker_text(generation)]]]

        def plans_to_delete(self, generations, applied, keep, markers):
            return []

    monkeypatch.setitem(strategy.STRATEGIES, AddOnly.name, AddOnly())
    assert run_one(agent, "add-only", 9, ["192.0.2.9"], agent.read_endpoint("a.cloud.test.")) == "applied"
    assert agent.dns["a.cloud.test."] == {"marker": 9, "addresses": ["192.0.2.2", "192.0.2.3", "192.0.2.9"]}
    assert run_one(agent, "add-only", 10, [], agent.read_endpoint("a.cloud.test.")) == "refused"
    assert agent.events[-1] == {"event": "refused", "generation": 10, "endpoint": "a.cloud.test.", "reason": "empty"}
    enactor.Enactor(agent).cleanup(10, {**agent.settings(), "strategy": "add-only"})
    assert agent.store.generations() == [5, 7], "its clean-up deletes nothing"


def test_the_setting_offers_exactly_the_strategies_in_the_table():
    assert settings.SETTINGS["enactor.strategy"].choices == tuple(strategy.STRATEGIES) == ("naive", "guarded")
    with pytest.raises(ValueError, match="strategies: naive, guarded"):
        strategy.named("careful")


def test_a_reset_s_hold_ends_an_enactor_s_pace_at_once_and_a_held_one_sleeps_its_poll_out(tmp_path):
    """The reset waits for every agent to say "held": a running enactor looks every HOLD_LOOK seconds (not
    after its whole pace); a held one resumes after its own random poll."""
    import time

    agent = FakeAgent(tmp_path)
    run = enactor.Enactor(agent)
    running = {**agent.settings(), "epoch": 1, "running": True}
    agent.overrides = {"epoch": 1, "running": True}
    start = time.monotonic()
    assert run._rest(0.3, running) is False and time.monotonic() - start >= 0.3
    agent.overrides = {"epoch": 2, "running": False}  # a reset began
    start = time.monotonic()
    with pytest.raises(enactor.Abandon):
        run._pace({**running, "apply_pace": 5})
    assert time.monotonic() - start < 0.5
    agent.overrides = {"epoch": 2, "running": True}  # ... and let the agents go: a held one sleeps on
    start = time.monotonic()
    assert run._rest(0.3, {**running, "epoch": 2, "running": False}) is False
    assert time.monotonic() - start >= 0.3


def test_after_a_reset_each_enactor_starts_on_a_plan_of_its_own():
    """The race's settings (4 endpoints, 0.5 s pace, a plan every 0.5 s: 4 plans during one apply): enactor
    a takes the first plan after the baseline, b the next, c the one after; a fourth would wrap to a's."""
    race = {**settings.defaults(), "apply_pace": 0.5, "interval": 0.5}
    assert [enactor.first_plan(100, place, race, 4) for place in range(5)] == [101, 102, 103, 104, 101]
    # Plans come as slowly as an apply takes (the topology's defaults): nobody waits, they take each as it comes.
    assert {enactor.first_plan(100, place, {**race, "interval": 2.0}, 4) for place in range(3)} == {101}


def test_an_enactor_leaves_the_plans_before_its_first_to_the_others(tmp_path):
    agent = FakeAgent(tmp_path)
    agent.node, agent.config = "enactor-b", {"enactors": ["enactor-a", "enactor-b", "enactor-c"]}
    agent.store.write(plan(10, ["192.0.2.1"]))  # the reset's baseline
    agent.dns["a.cloud.test."] = {"marker": 10, "addresses": ["192.0.2.1"]}
    run = enactor.Enactor(agent)
    cycle = {**agent.settings(), "apply_pace": 0.5, "interval": 0.1, "epoch": None}  # 5 plans an apply
    agent.store.write(plan(11, ["192.0.2.2"]))  # enactor-a's
    run.cycle(cycle)
    assert not agent.sent and run.memory.first == 12
    agent.store.write(plan(12, ["192.0.2.3"]))
    cycle["apply_pace"] = 0  # its first plan: applied (no pace, so the test does not wait it out)
    run.cycle(cycle)
    assert agent.dns["a.cloud.test."] == {"marker": 12, "addresses": ["192.0.2.3"]}
