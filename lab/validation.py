"""Small helpers for validating YAML documents loaded by `yamlsrc`: collect every problem with its place.

Validation never stops at the first problem (a user fixes a file once, not three times); each helper
records a Problem and returns a usable fallback so checking can go on.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from lab.errors import InputError, Problem
from lab.yamlsrc import Map, Seq, YamlSyntaxError, loads

TYPE_NAMES = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number",
              bool: "true or false"}


class Problems(list):
    """The problems found so far in one file."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def at(self, container: Any, message: str, key: Any = None, *, value: bool = False) -> None:
        """Record a problem at `container[key]` (or at the container when it has no position)."""
        if isinstance(container, Map):
            self.append(container.problem(message, key, value=value))
        elif isinstance(container, Seq):
            self.append(container.problem(message, key if isinstance(key, int) else None))
        else:
            self.append(Problem(self.file, 0, 0, message))


def suggest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' when a close choice exists, else ''. Case does not count as a difference (a kind
    typed `SERVFAIL` means `servfail`)."""
    spelled = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(spelled), n=1, cutoff=0.6)
    return f' (did you mean "{spelled[close[0]]}"?)' if close else ""


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(sorted(choices))


def check_keys(problems: Problems, mapping: Map, allowed: Iterable[str], what: str,
               required: Iterable[str] = ()) -> None:
    """Unknown keys and missing required keys of a mapping."""
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            problems.at(mapping, f"unknown {what} field {key!r}{suggest(key, allowed)}; "
                                 f"known fields: {one_of(allowed)}", key)
    for key in required:
        if key not in mapping:
            problems.at(mapping, f"{what} is missing the required field {key!r}")


def get(problems: Problems, mapping: Map, key: str, kind: type | tuple[type, ...], what: str,
        default: Any = None) -> Any:
    """mapping[key] if it has the right type; else record a problem and return `default`."""
    if key not in mapping or mapping[key] is None and default is not None:
        return _located(default, mapping, key)
    value = mapping[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # YAML booleans are ints to Python: never accept true/false where a number is asked for.
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        wanted = " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)
        problems.at(mapping, f"{what} {key!r} must be {wanted}, not {shown(value)}", key, value=True)
        return _located(default, mapping, key)
    return value


def _located(default: Any, mapping: Map, key: str) -> Any:
    """An empty Map/Seq default placed where the missing value belongs, so later problems about it
    still point into the file."""
    if isinstance(default, (Map, Seq)) and not default:
        line, col = mapping.where(key, value=True)
        located = type(default)()
        located.file, located.line, located.col = mapping.file, line, col
        if isinstance(located, Map):
            located.key_pos, located.value_pos = {}, {}
        else:
            located.item_pos = []
        return located
    return default


def assignment(text: str) -> tuple[str, str] | None:
    """`KEY=VALUE` from the command line (fault parameters, --set) -> (KEY without blanks around it, VALUE
    as written); None when it is none: no `=`, or nothing before it."""
    key, sep, value = text.partition("=")
    return (key.strip(), value) if sep and key.strip() else None


def set_option(text: str, example: str) -> tuple[str, Any]:
    """`--set KEY=VALUE` -> (KEY, VALUE read as YAML: 0.99 is a number, [a, b] a list, 10s a string, nothing
    an empty string). The value remembers the option as its place. InputError naming the option otherwise."""
    option = f"--set {text}"
    found = assignment(text)
    if found is None:
        raise InputError(f"{option}: write it as KEY=VALUE, e.g. --set {example}")
    key, value_text = found
    try:
        return key, loads(value_text, option) if value_text.strip() else ""
    except YamlSyntaxError as exc:
        raise InputError(f"{option}: the value is not valid YAML ({exc.problem.message})") from None


def shown(value: Any) -> str:
    """A value as an error message shows it: its type, and the value itself when short (`string 'x'`, `true`)."""
    if value is None:
        return "empty"
    for kind, name in TYPE_NAMES.items():
        if isinstance(value, bool):
            return f"{str(value).lower()}"
        if type(value) is kind:
            text = repr(value)
            return f"{name} {text}" if len(text) <= 40 else name
    return type(value).__name__
