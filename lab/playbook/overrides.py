"""`--set KEY=VALUE`: change one value of a loaded playbook document by its dotted path, before validation.

    --set probes.rate=20                 a mapping key
    --set steps.2.fault.params.ms=300    list items are counted from 1, as `dnslab run` numbers steps
    --set checks.1.min=0.99              the value is YAML: 0.99 is a number, [a, b] a list, 10s a string

A path must lead through existing mappings and lists; only its last key may be new (validation then says
whether the playbook knows it). A key that itself contains dots (a zone such as `cloud.test.`) is found by
joining segments. Values set here remember where they came from, so a problem with one is reported as
`--set steps.2.fault.params.ms=300: ...` instead of a line of the file the value is not in.
"""

from __future__ import annotations

from typing import Any

from lab.errors import InputError, Problem
from lab.playbook.sections import SECTIONS
from lab.validation import set_option, suggest
from lab.yamlsrc import Map, Seq, YamlSyntaxError, loads


class SetMap(Map):
    """A mapping some of whose values came from --set: problems at those keys name the option."""

    origins: dict

    def problem(self, message: str, key: Any | None = None, *, value: bool = False) -> Problem:
        if key in getattr(self, "origins", {}):
            return Problem(self.origins[key], 0, 0, message)
        return super().problem(message, key, value=value)


class SetSeq(Seq):
    """A list some of whose items came from --set."""

    origins: dict

    def problem(self, message: str, index: int | None = None) -> Problem:
        if index in getattr(self, "origins", {}):
            return Problem(self.origins[index], 0, 0, message)
        return super().problem(message, index)


def apply_all(document: Any, assignments: list[str]) -> Any:
    """Apply every `KEY=VALUE` in order; return the (possibly new) document. Raises InputError."""
    for assignment in assignments:
        document = apply(document, assignment)
    return document


def apply(document: Any, assignment: str) -> Any:
    """Set one dotted path; raises InputError naming the option when the path or value is bad."""
    option = f"--set {assignment}"
    path, value = set_option(assignment, "probes.rate=20")
    segments = path.split(".")
    if not isinstance(document, Map):
        raise InputError(f"{option}: the playbook is not a mapping, nothing to set")
    if len(segments) > 1 and segments[0] not in document and segments[0] in SECTIONS:
        document[segments[0]] = Map()  # e.g. --set planner.command=... on a playbook without `planner:`
    parent: Any = document
    walked: list[str] = []
    while True:
        key, used = _next_key(parent, segments, option, walked)
        segments = segments[used:]
        if not segments:
            _assign(parent, key, value, option, walked)
            return document
        child = parent[key]
        if not isinstance(child, (Map, Seq)):
            raise InputError(f"{option}: {'.'.join(walked + [str(key)]) or 'the playbook'} is "
                             f"{type(child).__name__}, not a mapping or list, so it has no {segments[0]!r}")
        walked.append(str(key if isinstance(parent, Map) else key + 1))
        parent = child


def _next_key(parent: Any, segments: list[str], option: str, walked: list[str]) -> tuple[Any, int]:
    """The key (or 0-based index) the leading segments name inside `parent`, and how many segments it took."""
    where = ".".join(walked) or "the playbook"
    if isinstance(parent, Seq):
        segment = segments[0]
        if not segment.isdigit() or not 1 <= int(segment) <= len(parent):
            raise InputError(f"{option}: {where} is a list of {len(parent)} items; "
                             f"use a number from 1 to {len(parent)}, not {segment!r}")
        return int(segment) - 1, 1
    # A key may contain dots (zone names): try the longest join first.
    for used in range(len(segments), 0, -1):
        candidate = ".".join(segments[:used])
        for key in (candidate, _scalar(candidate)):
            if key in parent:
                return key, used
    if len(segments) == 1:
        return segments[0], 1  # a new last key: validation decides whether it is known
    raise InputError(f"{option}: {where} has no {segments[0]!r}{suggest(segments[0], map(str, parent))}; "
                     f"it has: {', '.join(map(str, parent)) or 'nothing'}")


def _scalar(text: str) -> Any:
    """The key as YAML would read it (`1` is an int key in a mapping)."""
    try:
        value = loads(text)
    except YamlSyntaxError:
        return text
    return value if isinstance(value, (int, float, str, bool)) else text


def _assign(parent: Any, key: Any, value: Any, option: str, walked: list[str]) -> None:
    if isinstance(parent, Map):
        if not isinstance(parent, SetMap):
            parent.__class__ = SetMap  # same layout; only problem() differs
        parent.origins = {**getattr(parent, "origins", {}), key: option}
    else:
        if not isinstance(parent, SetSeq):
            parent.__class__ = SetSeq
        parent.origins = {**getattr(parent, "origins", {}), key: option}
    parent[key] = value
