"""Property-based fuzzing of the topology loader: whatever the file holds, loading it either gives a
topology or a TopologyError whose every problem names the file and a line — never another exception.

Bounded for `make test` (DNSLAB_FUZZ_EXAMPLES, default 150 per property, tests/unit/conftest.py); raise it
for a long soak."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import given, strategies as st

from lab.errors import TopologyError
from lab.topology import load
from tests.support.strategies import mutate, paths, values

DEFAULT = yaml.safe_load(load.DEFAULT_TOPOLOGY.read_text())

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(["10.53.0.300", "10.53.0.0/33", "bind", "resolver", ".",
                                                           "cloud.test.", "core", "-x", "a..b"]))
ALL_PATHS = [p for p in paths(DEFAULT) if p]
VALUES = values(scalars)


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


@given(st.data())
def test_mutated_default_topology_never_crashes(tmp_path_factory, data):
    doc = copy.deepcopy(DEFAULT)
    mutate(doc, data, ALL_PATHS, VALUES)
    path = tmp_path_factory.mktemp("fuzz") / "topology.yml"
    assert_located(path, yaml.safe_dump(doc, sort_keys=False))


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "topology.yml"
    path.write_text(text)
    try:
        load.load(path)
    except TopologyError as exc:
        assert all(p.file == str(path) for p in exc.problems)
