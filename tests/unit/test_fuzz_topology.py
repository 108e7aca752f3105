"""Property-based fuzzing of the topology loader: whatever the file holds, loading it either gives a
topology or a TopologyError whose every problem names the file and a line — never another exception.

Bounded for `make test` (DNSLAB_FUZZ_EXAMPLES, default 150 per property); raise it for a long soak."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from lab.errors import TopologyError
from lab.topology import load

EXAMPLES = int(os.environ.get("DNSLAB_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DEFAULT = yaml.safe_load(load.DEFAULT_TOPOLOGY.read_text())

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(["10.53.0.300", "10.53.0.0/33", "bind", "resolver", ".",
                                                           "cloud.test.", "core", "-x", "a..b"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                      max_leaves=12)


def paths(doc, prefix=()):
    """Every path into a nested document."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from paths(value, prefix + (i,))


ALL_PATHS = [p for p in paths(DEFAULT) if p]


def assert_located(path: Path, text: str) -> None:
    path.write_text(text)
    try:
        load.load(path)
    except TopologyError as exc:
        assert exc.problems, "a TopologyError must carry problems"
        for problem in exc.problems:
            assert problem.file == str(path)
            assert problem.line >= 1, str(problem)
            assert "\n" not in problem.message


@FUZZ
@given(st.data())
def test_mutated_default_topology_never_crashes(tmp_path_factory, data):
    doc = copy.deepcopy(DEFAULT)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(ALL_PATHS))
        parent = doc
        try:
            for key in where[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()):
                parent[where[-1]] = data.draw(values)
            elif isinstance(parent, dict):
                del parent[where[-1]]
        except (KeyError, IndexError, TypeError):
            continue
    path = tmp_path_factory.mktemp("fuzz") / "topology.yml"
    assert_located(path, yaml.safe_dump(doc, sort_keys=False))


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "topology.yml"
    path.write_text(text)
    try:
        load.load(path)
    except TopologyError as exc:
        assert all(p.file == str(path) for p in exc.problems)
