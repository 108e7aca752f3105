"""The DNS automation pipeline against real servers (compose/enactors.yml): the planner writes generations,
enactors apply them through the hidden primary to the secondaries, clean-up deletes old plans, the primary
refuses a stale compare-and-set, and the naive design's race really empties a name (which `repair` fixes)
while the guarded design under the same schedule never does."""

from __future__ import annotations

import json
import time

import pytest

from lab import lifecycle, enactors
from lab.agentrun import exec_json
from lab.enactors.events import agent_events, wait_for_event

REGIONAL = "dynamodb.us-east-1.cloud.test."
SECONDARIES = ["sec-knot", "sec-nsd"]
RACE = {"pipeline.interval": 0.5, "pipeline.keep": 3, "enactor.apply_pace": 0.5}


@pytest.fixture(scope="module")
def lab(enactors_lab):
    return enactors_lab


def store_files(rt, lab: dict) -> dict[str, dict]:
    """The plan files as the planner's container sees them on the shared volume."""
    container = lab["nodes"]["planner"]["container"]
    script = "cd /plans && for f in gen-*.json; do echo \"$f $(cat $f)\"; done"
    out = rt.exec(container, script, timeout=10).output
    return {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) for line in out.splitlines() if " " in line}


def ask_secondaries(rt, lab: dict, name: str, rdtype: str) -> list[dict]:
    queries = [{"server": lab["nodes"][s]["addresses"]["core"], "name": name, "type": rdtype, "rd": False}
               for s in SECONDARIES]
    return exec_json(rt, lab["nodes"]["primary"]["container"], "lab.agents.ask",
                             {"queries": queries, "timeout": 1})


def until(condition, timeout: float, every: float = 0.1) -> None:
    """Poll `condition()` until it holds or `timeout` seconds pass: wait for the condition, not for a time
    that holds on an idle machine."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(every)


def test_planner_writes_generations_that_differ(lab, rt):
    enactors.reset(rt, lab, {"pipeline.interval": 0.5})
    since = time.time()

    def plans() -> list[dict]:
        return [e for e in agent_events(rt, lab, since) if e["event"] == "plan_produced"]

    until(lambda: len(plans()) >= 3, timeout=15)  # 1.5 s at interval 0.5; the bound is for a loaded machine
    produced = plans()
    generations = [e["generation"] for e in produced]
    assert len(generations) >= 3 and generations == sorted(set(generations)), generations
    rate = (len(produced) - 1) / (produced[-1]["t"] - produced[0]["t"])
    print(f"planner: {rate:.2f} generations/s at interval 0.5 s")
    files = store_files(rt, lab)
    newest = [files[f"gen-{g:06d}.json"] for g in generations[-3:] if f"gen-{g:06d}.json" in files]
    assert len(newest) >= 2, sorted(files)
    capacities = [json.dumps(p["plans"]["us-east-1"]["targets"]) for p in newest]
    assert len(set(capacities)) == len(capacities), "capacity must change from one generation to the next"


def test_an_enactor_applies_a_plan_that_the_secondaries_then_serve(lab, rt):
    enactors.reset(rt, lab, {"pipeline.interval": 5.0, "enactor.strategy": "naive"})
    since = time.time()
    finished = wait_for_event(rt, lab, lambda e: e["event"] == "apply_finished", since, 15)
    assert finished is not None, "no enactor finished applying a plan within 15 s"
    applied = [e for e in agent_events(rt, lab, since) if e["event"] == "endpoint_applied"
               and e["generation"] == finished["generation"]]
    paces = [b["t"] - a["t"] for a, b in zip(applied, applied[1:]) if a["source"] == b["source"]]
    if paces:
        print(f"enactor: {sum(paces) / len(paces):.2f} s per endpoint (apply_pace 0.3 s)")
    expected = next(e["addresses"] for e in applied if e["endpoint"] == REGIONAL)
    generation = [[f"gen={finished['generation']}"]] * 2
    deadline = time.monotonic() + 5
    while True:
        # The A and AAAA sets read between two TXT answers of this generation: the next plan (5 s later) may
        # reach the secondaries while we ask.
        txt = ask_secondaries(rt, lab, REGIONAL, "TXT")
        a = ask_secondaries(rt, lab, REGIONAL, "A")
        aaaa = ask_secondaries(rt, lab, REGIONAL, "AAAA")
        after = ask_secondaries(rt, lab, REGIONAL, "TXT")
        if [r["answers"] for r in txt] == [r["answers"] for r in after] == generation or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [r["answers"] for r in txt] == [r["answers"] for r in after] == generation, (txt, after)
    # The plan is dual-stack (enactors.yml's pools hold 2001:db8:: addresses): the A set and the AAAA set.
    assert [sorted(r["answers"]) for r in a] == [sorted(x for x in expected if ":" not in x)] * 2, a
    assert [sorted(r["answers"]) for r in aaaa] == [sorted(x for x in expected if ":" in x)] * 2, aaaa


def test_clean_up_deletes_plans_older_than_keep(lab, rt):
    enactors.reset(rt, lab, {"pipeline.interval": 0.5, "pipeline.keep": 2, "enactor.strategy": "guarded"})
    since = time.time()
    cleaned = wait_for_event(rt, lab, lambda e: e["event"] == "cleanup_deleted" and e["generations"],
                             since, 15)
    assert cleaned is not None, "no clean-up deleted a plan within 15 s"
    assert all(g < cleaned["applied"] - 2 for g in cleaned["generations"]), cleaned
    files = store_files(rt, lab)
    assert not any(f"gen-{g:06d}.json" in files for g in cleaned["generations"]), sorted(files)
    assert cleaned["records"] == 0, "guarded clean-up never removes serving records"


def provoke_race(rt, lab: dict, strategy: str) -> dict:
    """Pause enactor-a right after it applied the first endpoint of a plan, until another enactor's
    clean-up has deleted that plan; then let it go. Returns times and generations of what happened."""
    enactors.reset(rt, lab, {**RACE, "enactor.strategy": strategy})
    since = time.time()
    first = wait_for_event(rt, lab, lambda e: e["source"] == "enactor-a" and e["event"] == "endpoint_applied"
                           and e["index"] == 1, since, 40)
    # Guarded, enactor-a writes first only where it is ahead of b and c: 0.6-17 s after a reset in 25 trials.
    assert first is not None, "enactor-a applied nothing within 40 s"
    container = lab["nodes"]["enactor-a"]["container"]
    rt.pause(container)
    paused = time.time()
    try:
        deleted = wait_for_event(rt, lab, lambda e: e["event"] == "cleanup_deleted"
                                 and first["generation"] in e["generations"], since, 30)
        assert deleted is not None, f"nobody deleted plan {first['generation']} while enactor-a was paused"
    finally:
        rt.unpause(container)
    return {"since": since, "paused": paused, "resumed": time.time(), "generation": first["generation"]}


def regional_answers(rt, lab: dict) -> dict[str, tuple]:
    return {r["resolver"]: (r["rcode"], len(r["answers"]))
            for r in lifecycle.dig(lab["lab"], REGIONAL, "A", rt=rt)}


def test_naive_race_empties_the_regional_endpoint_until_repair(lab, rt):
    race = provoke_race(rt, lab, "naive")
    empty_at, seen = None, {}
    while time.time() - race["resumed"] < 12 and empty_at is None:
        seen = regional_answers(rt, lab)
        if any(rcode in ("NOERROR", "NXDOMAIN") and count == 0 for rcode, count in seen.values()):
            empty_at = time.time()
        time.sleep(0.3)
    assert empty_at is not None, f"the regional endpoint never went empty: {seen}"
    print(f"race: paused {race['paused'] - race['since']:.1f}s after reset, resumed after "
          f"{race['resumed'] - race['paused']:.1f}s, first empty answer {empty_at - race['resumed']:.1f}s later")
    events = agent_events(rt, lab, race["since"])
    stuck = {e["source"] for e in events if e["event"] == "stuck"}
    assert stuck == {"enactor-a", "enactor-b", "enactor-c"}, stuck
    assert any(e["event"] == "cleanup_deleted" and e["records"] > 0 for e in events)
    status = enactors.status(rt, lab)
    assert REGIONAL in status["orphaned"] and status["dns"][REGIONAL]["addresses"] == []

    repaired = enactors.repair(rt, lab)
    assert REGIONAL in repaired["written"]
    deadline = time.time() + lab["zones"]["cloud.test."]["negative_ttl"] + 8
    while time.time() < deadline:
        seen = regional_answers(rt, lab)
        if all(rcode == "NOERROR" and count > 0 for rcode, count in seen.values()):
            break
        time.sleep(0.5)
    assert all(rcode == "NOERROR" and count > 0 for rcode, count in seen.values()), seen
    until(lambda: enactors.status(rt, lab)["stuck"] == [], timeout=15, every=0.5)
    assert enactors.status(rt, lab)["stuck"] == [], "enactors resume after the repair"


def test_guarded_race_refuses_the_stale_writes_and_never_empties(lab, rt):
    race = provoke_race(rt, lab, "guarded")
    while time.time() - race["resumed"] < 6:
        seen = regional_answers(rt, lab)
        assert all(rcode == "NOERROR" and count > 0 for rcode, count in seen.values()), seen
        time.sleep(0.5)
    events = agent_events(rt, lab, race["since"])
    refused = [e for e in events if e["event"] == "refused" and e["source"] == "enactor-a"
               and e["generation"] == race["generation"]]
    assert refused and all(e["reason"] == "stale" and e["rcode"] == "NXRRSET" for e in refused), refused
    assert not [e for e in events if e["event"] == "stuck"]
    markers = [e["marker"] for e in enactors.status(rt, lab)["dns"].values()]
    assert min(markers) > race["generation"], "the stale plan is applied nowhere"


def test_a_kept_channel_runs_the_commands_without_an_exec_and_an_exec_takes_over_when_it_breaks(lab, rt,
                                                                                               monkeypatch):
    """What a run does (lab.enactors.control.open_channel): reset, status and repair over one kept loop in the
    planner, no exec each; once it breaks (its loop ended), the next command runs over an exec as before."""
    from lab.enactors import control

    planner = lab["nodes"]["planner"]["container"]
    execs, real_exec = [], rt.exec
    monkeypatch.setattr(rt, "exec", lambda name, *a, **k: (execs.append(name), real_exec(name, *a, **k))[1])
    control.open_channel(rt, lab).join()
    channel = control._channel
    assert channel is not None, "the planner's command loop did not answer"
    try:
        reset = enactors.reset(rt, lab, {"pipeline.interval": 0.5})
        assert reset["not_held"] == [] and reset["errors"] == {}
        until(lambda: enactors.status(rt, lab)["newest"] is not None, timeout=10)
        assert enactors.repair(rt, lab)["errors"] == {}
        assert planner not in execs and control._channel is channel, "the commands went over the kept channel"
        channel.stream.close_stdin()  # the loop ends (as when the planner restarts)
        assert enactors.status(rt, lab)["newest"] is not None
        assert execs.count(planner) == 1 and control._channel is None, "an exec took over"
    finally:
        control.close_channel()
