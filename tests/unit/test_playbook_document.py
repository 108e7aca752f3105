"""Playbook validation: every problem at once, each at its file:line:col, and the model a valid one gives."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.errors import InputError, PlaybookError
from lab.playbook import fields, document
from tests.unit import fake_faults

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "playbooks" / "freeze-primary-partition-secondary.yml"

GOOD = """\
name: t
seed: 3
topology: {file: %(topology)s}
probes: {rate: 2, clients: [client1], resolvers: [unbound, sec-nsd-typo-free]}
steps:
  - wait: 1s
checks:
  - check: never_empty
"""


def load_text(tmp_path, text: str, sets=(), seed=None):
    path = tmp_path / "p.yml"
    path.write_text(textwrap.dedent(text).replace("TOPOLOGY", str(REPO / "compose" / "default.yml")))
    return document.load(path, list(sets), seed, faults=fake_faults.module)


def problems_of(tmp_path, text: str, sets=()) -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        load_text(tmp_path, text, sets)
    return [str(p) for p in caught.value.problems]


MINIMAL = """\
name: t
topology: TOPOLOGY
steps:
  - wait: 1s
checks:
  - check: never_empty
"""


def test_the_shipped_playbook_is_valid_and_has_checks_that_must_hold_and_one_that_must_fail():
    playbook = document.load(SHIPPED, faults=fake_faults.module)
    assert playbook.seed == 7 and playbook.probes.clients == ("client1", "client2")
    assert len(playbook.probes.resolvers) == 4
    assert [s.kind for s in playbook.steps] == ["probes", "fault", "fault", "sleep", "clear", "probes", "sleep"]
    assert {c["check"] for c in playbook.checks} >= {"availability", "never_empty", "latency"}


def test_a_minimal_playbook_gets_defaults(tmp_path):
    playbook = load_text(tmp_path, MINIMAL)
    assert playbook.probes.names == ("dynamodb.us-east-1.cloud.test.",)
    assert playbook.probes.types == ("A",) and playbook.probes.rate == 5.0 and playbook.probes.timeout == 2.0
    assert playbook.seed == 0 and playbook.steps[0].spec == {"seconds": 1.0}


def test_seed_from_the_command_line_wins(tmp_path):
    assert load_text(tmp_path, MINIMAL, seed=42).seed == 42


@pytest.mark.parametrize("text, where, words", [
    (MINIMAL + "probs: {}\n", "p.yml:7:1", ['unknown playbook field', 'did you mean "probes"']),
    (MINIMAL.replace("name: t", "name: T_bad"), "p.yml:1:7", ["lower-case"]),
    (MINIMAL + "seed: x\n", "p.yml:7:7", ["'seed' must be an integer"]),
    (MINIMAL.replace("wait: 1s", "wait: 10 seconds"), "p.yml:4:11", ["duration"]),
    (MINIMAL.replace("wait: 1s", "wait: -1"), "p.yml:4:11", ["duration"]),
    (MINIMAL.replace("wait: 1s", "wait: {event: endpoint_aplied}"), "p.yml:4:19",
     ['unknown event', 'did you mean "endpoint_applied"']),
    (MINIMAL.replace("wait: 1s", "wait: {event: retry, source: enactor-z}"), "p.yml:4:34", ["unknown source"]),
    (MINIMAL.replace("wait: 1s", "wait: {probes: okay}"), "p.yml:4:20", ['did you mean "ok"']),
    (MINIMAL.replace("wait: 1s", "wait: {probes: ok, count: 0}"), "p.yml:4:31", ["count must be at least 1"]),
    (MINIMAL.replace("wait: 1s", "wait: {probes: ok, resolvers: [unbond]}"), "p.yml:4:36",
     ['did you mean "unbound"']),
    (MINIMAL.replace("wait: 1s", "wait: {until: ok}"), "p.yml:4:11", ["needs `event` or `probes`"]),
    (MINIMAL.replace("wait: 1s", "wait: 1s\n    timeout: 5s"), "p.yml:5:5", ["timeout applies to waits"]),
    (MINIMAL.replace("wait: 1s", "wait: {probes: ok}\n    timeout: soon"), "p.yml:5:14", ["duration"]),
    (MINIMAL.replace("- wait: 1s", "- {wait: 1s, clear: all}"), "p.yml:4:5", ["exactly one of"]),
    (MINIMAL.replace("- wait: 1s", "- {sleep: 1s}"), "p.yml:4:6", ["unknown step 1 field 'sleep'"]),
    (MINIMAL.replace("wait: 1s", "fault: {kind: pasue, target: primary}"), "p.yml:4:19",
     ['unknown fault kind', 'did you mean']),
    (MINIMAL.replace("wait: 1s", "fault: {kind: pause, target: nowhere}"), "p.yml:4:34", ["no node 'nowhere'"]),
    (MINIMAL.replace("wait: 1s", "fault: {kind: delay, target: sec-knot, params: {ms: 5, jitter: 1}}"),
     "p.yml:4:60", ["unknown parameter 'jitter'"]),
    (MINIMAL.replace("wait: 1s", "fault: {kind: delay, target: sec-knot}"), "p.yml:4:13", ["ms is required"]),
    (MINIMAL.replace("wait: 1s", "fault: {kind: pause, target: primary, duration: 1x}"), "p.yml:4:53",
     ["duration"]),
    (MINIMAL.replace("wait: 1s", "fault: {kind: pause}"), "p.yml:4:12", ["missing the required field 'target'"]),
    (MINIMAL.replace("wait: 1s", "clear: freeze"), "p.yml:4:12", ["names no earlier fault"]),
    (MINIMAL.replace("wait: 1s", "action: {name: zone_updat}"), "p.yml:4:20", ['did you mean "zone_update"']),
    (MINIMAL.replace("wait: 1s", "action: {name: zone_update, params: {zone: x.}}"), "p.yml:4:33",
     ["ops is required"]),
    (MINIMAL.replace("wait: 1s", "action: {name: zone_update, params: {zone: 5, ops: []}}"), "p.yml:4:48",
     ["zone must be a string"]),
    (MINIMAL.replace("check: never_empty", "check: never_emtpy"), "p.yml:6:12",
     ["unknown check", 'did you mean "never_empty"']),
    (MINIMAL.replace("check: never_empty", "check: availability"), "p.yml:6:5", ["min is required"]),
    (MINIMAL.replace("check: never_empty", "{check: never_empty, resolvers: [unbund]}"), "p.yml:6:38",
     ['did you mean "unbound"']),
    (MINIMAL.replace("check: never_empty", "{check: latency, p99_ms: fast}"), "p.yml:6:30", ["p99_ms must be"]),
    (MINIMAL + "probes: {rate: 500}\n", "p.yml:7:16", ["rate must be above 0 and at most 50"]),
    (MINIMAL + "probes: {rate: 0}\n", "p.yml:7:16", ["rate must be above 0"]),
    (MINIMAL + "probes: {clients: [client3]}\n", "p.yml:7:20", ["unknown node 'client3'"]),
    (MINIMAL + "probes: {clients: []}\n", "p.yml:7:19", ["is empty"]),
    (MINIMAL + "probes: {names: [], rate: 1}\n", "p.yml:7:17", ["non-empty list"]),
    (MINIMAL + "probes: {timeout: 0s}\n", "p.yml:7:19", ["duration"]),
    (MINIMAL + "probes: {interval: 1}\n", "p.yml:7:10", ["unknown probes field 'interval'"]),
    (MINIMAL.replace("topology: TOPOLOGY", "topology: nowhere.yml"), "p.yml:2:11", ["cannot read file"]),
    (MINIMAL.replace("steps:\n  - wait: 1s\n", "steps: []\n"), "p.yml:3:8", ["at least one step"]),
    ("- a list\n", "p.yml:1:1", ["must be a mapping"]),
    ("name: [unclosed\n", "p.yml:2:1", ["invalid YAML"]),
])
def test_each_mistake_is_reported_at_its_place(tmp_path, text, where, words):
    found = problems_of(tmp_path, text)
    matching = [p for p in found if all(w in p for w in words)]
    assert matching, f"no problem with {words} in {found}"
    assert matching[0].startswith(str(tmp_path / where)), matching[0]


def test_every_problem_is_reported_at_once_in_file_order(tmp_path):
    text = MINIMAL.replace("wait: 1s", "wait: 1x\n  - fault: {kind: nope, target: primary}") + "probs: 1\n"
    found = problems_of(tmp_path, text)
    assert len(found) == 3
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)


def test_topology_overrides_are_validated_with_the_topology(tmp_path):
    text = MINIMAL.replace("topology: TOPOLOGY",
                           "topology:\n  file: TOPOLOGY\n  overrides: {zones: {cloud.test.: {ttl: soon}}}")
    found = problems_of(tmp_path, text)
    assert any("p.yml:4:42" in p and "ttl" in p for p in found), found


def test_topology_overrides_change_the_topology(tmp_path):
    text = MINIMAL.replace("topology: TOPOLOGY",
                           "topology:\n  file: TOPOLOGY\n  overrides: {zones: {cloud.test.: {ttl: 30}}}")
    playbook = load_text(tmp_path, text)
    assert playbook.topology.zones["cloud.test."].ttl == 30
    assert document.topology_document(playbook)["zones"]["cloud.test."]["ttl"] == 30
    assert document.topology_document(playbook)["zones"]["cloud.test."]["negative_ttl"] == 5


def test_set_overrides_are_applied_before_validation(tmp_path):
    playbook = load_text(tmp_path, MINIMAL, sets=["steps.1.wait=3s"])
    assert playbook.steps[0].spec == {"seconds": 3.0}
    assert "wait: 3s" in playbook.yaml_text()


def test_a_bad_value_from_set_is_reported_at_the_option(tmp_path):
    found = problems_of(tmp_path, MINIMAL, sets=["steps.1.wait=later"])
    assert found == ["--set steps.1.wait=later: step 1 wait must be a duration such as 500ms, 10s or 2m, or a "
                     "mapping with `event` or `probes`, not a string 'later'"]


def test_a_bad_path_in_set_names_the_option(tmp_path):
    with pytest.raises(InputError) as caught:
        load_text(tmp_path, MINIMAL, sets=["stepz.1.wait=3s"])
    assert str(caught.value).startswith("--set stepz.1.wait=3s: the playbook has no 'stepz' (did you mean \"steps\"?)")


def test_durations():
    assert [fields.seconds(v) for v in ("2.5s", "500ms", "10s", "2m", "1m30s")] == [2.5, 0.5, 10, 120, 90]
    assert [fields.seconds(v) for v in ("soon", True, "10 s", None, 0, -1, [1])] == [None] * 7


def test_a_duration_without_a_unit_is_refused_with_the_units_it_could_mean(tmp_path):
    """`duration: 10` was taken as 10 s silently: it is refused, at its place, with the units to write."""
    assert [fields.seconds(v) for v in (5, 2.5, "10")] == [None] * 3
    for text in (MINIMAL.replace("wait: 1s", "wait: 10"), MINIMAL.replace("wait: 1s", "wait: 1s\n    timeout: 10")):
        with pytest.raises(InputError) as caught:
            load_text(tmp_path, text)
        assert "a number needs a unit: 10s, 10ms or 10m" in str(caught.value)


def test_the_shipped_playbook_is_valid_against_the_real_fault_table():
    playbook = document.load(SHIPPED)
    assert [s.spec.get("kind") for s in playbook.steps if s.kind == "fault"] == ["pause", "partition"]


def test_setup_steps_run_before_probes_and_cannot_wait_for_them(tmp_path):
    playbook = load_text(tmp_path, MINIMAL.replace("steps:", "setup:\n  - wait: 2s\nsteps:", 1))
    assert [s.kind for s in playbook.setup] == ["sleep"] and playbook.steps
    bad = MINIMAL.replace("steps:", "setup:\n  - wait: {probes: ok, count: 1}\nsteps:", 1)
    assert any("no probes run during setup" in p for p in problems_of(tmp_path, bad))


def test_a_fresh_process_loads_the_race_playbook_with_its_sections_and_actions():
    """The tables are built where they are defined: no import order, no register() call is needed."""
    code = ("from lab.playbook import document; p = document.load('playbooks/aws-2025-dynamodb-enactor-race.yml'); "
            "print(sorted(p.sections), sorted({s.spec['name'] for s in (*p.setup, *p.steps) if s.kind == 'action'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['enactor', 'library', 'pipeline'] ['pipeline_reset', 'repair']"


def test_probes_over_ipv6_need_a_dual_stack_topology(tmp_path):
    text = GOOD.replace("%(topology)s", "TOPOLOGY").replace("resolvers: [unbound, sec-nsd-typo-free]",
                                                             "transport: [4, 6]")
    [problem] = problems_of(tmp_path, text)
    assert "p.yml:4:" in problem and "probes transport 6 needs a dual-stack topology" in problem
    [problem] = problems_of(tmp_path, text.replace("[4, 6]", "[4, 5]"))
    assert "probes transport must be a list of IP versions" in problem
    dual = tmp_path / "dual.yml"
    dual.write_text(f"extends: {REPO / 'compose' / 'dual-stack.yml'}\n")
    playbook = load_text(tmp_path, text.replace("TOPOLOGY", str(dual)))
    assert playbook.probes.transport == (4, 6)
