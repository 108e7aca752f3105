"""--set KEY=VALUE on a loaded playbook document: dotted paths, list items from 1, YAML values, clear errors."""

from __future__ import annotations

import re

import pytest

from lab.errors import InputError
from lab.playbook import overrides
from lab.yamlsrc import loads

DOC = """\
name: t
probes: {rate: 2}
topology: {overrides: {zones: {cloud.test.: {ttl: 5}}}}
steps:
  - wait: 1s
  - fault: {kind: delay, target: sec-knot, params: {ms: 100}}
"""


def apply(*assignments):
    return overrides.apply_all(loads(DOC, "p.yml"), list(assignments))


def test_values_are_set_by_dotted_path_and_parsed_as_yaml():
    doc = apply("probes.rate=20", "steps.2.fault.params.ms=300", "steps.1.wait=5s", "probes.resolvers=[unbound]")
    assert doc["probes"] == {"rate": 20, "resolvers": ["unbound"]}
    assert doc["steps"][1]["fault"]["params"]["ms"] == 300 and doc["steps"][0]["wait"] == "5s"


def test_a_key_with_dots_is_found():
    assert apply("topology.overrides.zones.cloud.test..ttl=60")["topology"]["overrides"]["zones"]["cloud.test."] == {
        "ttl": 60}


def test_a_new_last_key_is_added_for_validation_to_judge():
    doc = apply("steps.2.fault.duration=10s")
    assert doc["steps"][1]["fault"]["duration"] == "10s"
    problem = doc["steps"][1]["fault"].problem("bad", "duration", value=True)
    assert str(problem) == "--set steps.2.fault.duration=10s: bad"


def test_problems_at_keys_not_set_keep_their_place():
    doc = apply("probes.rate=20")
    assert str(doc["probes"].problem("x", "rate")) == "--set probes.rate=20: x"
    assert str(doc["steps"].problem("y", 0)) == "p.yml:5:5: y"


@pytest.mark.parametrize("assignment, message", [
    ("probes.rate", "write it as KEY=VALUE"),
    ("=3", "write it as KEY=VALUE"),
    ("prob.rate=3", "the playbook has no 'prob' (did you mean \"probes\"?)"),
    ("steps.3.wait=1s", "steps is a list of 2 items; use a number from 1 to 2, not '3'"),
    ("steps.0.wait=1s", "use a number from 1 to 2, not '0'"),
    ("steps.x.wait=1s", "not 'x'"),
    ("name.first=x", "name is str, not a mapping or list"),
    ("probes.rate=[1", "the value is not valid YAML"),
    ("steps.2.fault.parms.ms=1", "steps.2.fault has no 'parms' (did you mean \"params\"?)"),
])
def test_a_bad_assignment_is_one_line_naming_the_option(assignment, message):
    with pytest.raises(InputError) as caught:
        apply(assignment)
    text = str(caught.value)
    assert text.startswith(f"--set {assignment}: ") and message in text and "\n" not in text


def test_every_set_option_reads_key_value_alike():
    """`dnslab pipeline set` and `reset` take the same KEY=VALUE as `--set` (lab.validation.set_option)."""
    from lab.commands.pipeline import _parse_sets

    assert _parse_sets(("enactor.strategy=guarded", "pipeline.interval=0.5", " keep =3")) == {
        "enactor.strategy": "guarded", "pipeline.interval": 0.5, "keep": 3}
    for bad, message in (("strategy", "write it as KEY=VALUE, e.g. --set enactor.strategy=guarded"),
                         ("interval=[1", "the value is not valid YAML")):
        with pytest.raises(InputError, match=re.escape(f"--set {bad}: {message}")):
            _parse_sets((bad,))
