"""Parameters of checks, faults and actions: one shape (`Param`), one notion of a type, one validator.

Pure. Problems are (key, message) pairs: key is the offending parameter, or None for the whole table.
"""

from __future__ import annotations

import typing
from typing import Any, Mapping, NamedTuple


class Param(NamedTuple):
    """One parameter. `type` is float, int, str, bool, Any, list[str], list[float] or list[Any];
    float accepts int."""

    type: Any
    required: bool
    default: Any
    help: str


def conforms(value: Any, expected: Any) -> bool:
    if expected is Any:
        return True
    if typing.get_origin(expected) is list:
        (item_type,) = typing.get_args(expected)
        return isinstance(value, list) and all(conforms(item, item_type) for item in value)
    if isinstance(value, bool):  # bool is an int to Python, never to a playbook author
        return expected is bool
    if expected is float:
        return isinstance(value, (int, float))
    return isinstance(value, expected)


def type_name(expected: Any) -> str:
    """How to say a parameter type to a user: `a number`, `a list of strings`."""
    if expected is Any:
        return "a value"
    if typing.get_origin(expected) is list:
        (item_type,) = typing.get_args(expected)
        return "a list" if item_type is Any else "a list of " + type_name(item_type).split(" ", 1)[1] + "s"
    return {float: "a number", int: "an integer", str: "a string", bool: "a boolean"}[expected]


def table_problems(what: str, table: Mapping[str, Param], params: Mapping[str, Any],
                   ignore: tuple[str, ...] = ()) -> list[tuple[str | None, str]]:
    """Unknown, missing and mistyped parameters of `what` (e.g. "check 'latency'"), every one of them.
    Keys in `ignore` belong to the caller (e.g. a check's filters)."""
    allowed = ", ".join(table) or "none"
    problems: list[tuple[str | None, str]] = [
        (key, f"unknown parameter {key!r} for {what} (allowed: {allowed})")
        for key in params if key not in table and key not in ignore
    ]
    for name, param in table.items():
        if params.get(name) is None:
            if param.required:
                problems.append((name, f"{name} is required for {what}: {param.help}"))
        elif not conforms(params[name], param.type):
            problems.append((name, f"{name} must be {type_name(param.type)}, not {params[name]!r}"))
    return problems
