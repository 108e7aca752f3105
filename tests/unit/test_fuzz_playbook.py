"""Property-based fuzzing of the playbook loader and of `--set`: whatever the file or the option holds,
loading either gives a playbook or an error whose every problem names a place — file:line in the playbook
or its topology, or the `--set` option — never another exception.

Bounded for `make test` (DNSLAB_FUZZ_EXAMPLES, default 150 per property, tests/unit/conftest.py); raise it
for a long soak:
    DNSLAB_FUZZ_EXAMPLES=3000 .venv/bin/pytest tests/unit/test_fuzz_playbook.py
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, strategies as st

from lab.errors import InputError, PlaybookError
from lab.playbook import document
from tests.support.strategies import mutate, paths, values
REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "playbooks").glob("*.yml"))
COMPOSE = REPO / "compose"


def _absolute(text: str) -> str:
    """The playbook text with its topology path made absolute, so a copy loads from a temporary directory."""
    return text.replace("../compose/", f"{COMPOSE}/")


TEXTS = {path.name: _absolute(path.read_text()) for path in SHIPPED}
DOCS = {name: yaml.safe_load(text) for name, text in TEXTS.items()}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=20),
    st.sampled_from(["10s", "500ms", "0s", "-1s", "1m30s", "inf", "nan", ".inf", "-.nan", "1e400", "1e-9", "0",
                     "all", "primary", "sec-knot", "unbound", "client1", "role:resolver", "random:role:resolver",
                     "random:role:nobody", "role:", "pause", "loss", "delay", "partition", "servfail",
                     "empty-rrset", "zone_update", "pipeline_reset", "ok", "empty", "timeout", "availability",
                     "never_empty", "cloud.test.", ".", "", "A", "TXT", "TYPE65535", "naive", "guarded", "%",
                     "{{x}}", "\u00e9", "a" * 300]))
VALUES = values(scalars, keys=st.one_of(st.text(max_size=10), scalars))


ALL_PATHS = [(name, p) for name, doc in DOCS.items() for p in paths(doc) if p]
EVERY_PATH = [p for _, p in ALL_PATHS]


def assert_loads_or_locates(path: Path, sets: list[str] = ()) -> None:
    """Load; any error must be PlaybookError/InputError, one line per problem, each with a place."""
    topologies = {str(p) for p in COMPOSE.glob("*.yml")}
    try:
        document.load(path, list(sets))
    except PlaybookError as exc:
        assert exc.problems, "a PlaybookError must carry problems"
        for problem in exc.problems:
            assert "\n" not in problem.message, str(problem)
            if problem.file.startswith("--set "):
                assert problem.file in {f"--set {s}" for s in sets}, str(problem)
            else:
                assert problem.file == str(path) or problem.file in topologies, str(problem)
                assert problem.line >= 1, str(problem)
    except InputError as exc:  # a bad --set: one line naming the option
        message = str(exc)
        assert sets and message.startswith("--set "), message
        assert "\n" not in message or any("\n" in s for s in sets), message


@given(st.sampled_from(sorted(DOCS)), st.data())
def test_mutated_shipped_playbooks_never_crash(tmp_path_factory, name, data):
    doc = copy.deepcopy(DOCS[name])
    mutate(doc, data, EVERY_PATH, VALUES, actions=("set", "delete", "insert"))
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    assert_loads_or_locates(path)


@given(st.sampled_from(sorted(TEXTS)), st.data())
def test_edited_playbook_text_never_crashes(tmp_path_factory, name, data):
    """Line-level edits: YAML syntax errors, duplicate keys, broken indentation, stray characters."""
    lines = TEXTS[name].splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        edit = data.draw(st.sampled_from(["drop", "duplicate", "indent", "dedent", "insert", "truncate"]))
        if edit == "drop":
            del lines[i]
        elif edit == "duplicate":
            lines.insert(i, lines[i])
        elif edit == "indent":
            lines[i] = "  " + lines[i]
        elif edit == "dedent":
            lines[i] = lines[i].lstrip()
        elif edit == "insert":
            at = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + data.draw(st.text(max_size=5)) + lines[i][at:]
        else:
            lines[i] = lines[i][:data.draw(st.integers(0, len(lines[i])))]
        if not lines:
            break
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_text("\n".join(lines) + "\n")
    assert_loads_or_locates(path)


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "playbook.yml"
    path.write_text(text)
    assert_loads_or_locates(path)


def _dotted(where: tuple) -> str:
    return ".".join(str(k + 1) if isinstance(k, int) and not isinstance(k, bool) else str(k) for k in where)


set_paths = st.one_of(
    st.sampled_from(ALL_PATHS).map(lambda found: _dotted(found[1])),
    st.tuples(st.sampled_from(ALL_PATHS).map(lambda found: _dotted(found[1])),
              st.text(max_size=8)).map(lambda pair: f"{pair[0]}.{pair[1]}"),
    st.text(max_size=20),
)
set_values = st.one_of(st.text(max_size=30),
                       VALUES.map(lambda v: yaml.safe_dump(v, default_flow_style=True, width=10**6).strip()))


@given(st.sampled_from(sorted(TEXTS)), st.lists(st.tuples(set_paths, set_values), min_size=1, max_size=3))
def test_set_options_never_crash(tmp_path_factory, name, assignments):
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_text(TEXTS[name])
    assert_loads_or_locates(path, [f"{key}={value}" for key, value in assignments])


@pytest.mark.parametrize("text", ["inf", ".inf", "nan", ".nan", "1e400", "-1s", "0"])
def test_a_wait_that_could_never_end_is_refused(tmp_path, text):
    """Every wait ends: no infinite, NaN or non-positive duration gets past validation."""
    path = tmp_path / "p.yml"
    path.write_text(TEXTS["freeze-primary-partition-secondary.yml"])
    for option in (f"steps.4.wait={text}", f"steps.1.timeout={text}", f"probes.timeout={text}"):
        with pytest.raises(PlaybookError) as caught:
            document.load(path, [option])
        assert [p.file for p in caught.value.problems] == [f"--set {option}"]
