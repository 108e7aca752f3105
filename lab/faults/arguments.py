"""Fault parameters: validation against a kind's Param table, and `KEY=VALUE` text from the command line.

Pure. Problems are (key, message) pairs: key is the offending parameter, or None for the kind or target.
"""

from __future__ import annotations

import ipaddress
import typing
from typing import Any, Mapping

from lab.params import Param, table_problems as _table_problems, type_name  # noqa: F401 - re-exported
from lab.validation import assignment

Problem = tuple["str | None", str]


def table_problems(kind: str, table: Mapping[str, Param], params: Any) -> list[Problem]:
    """Unknown, missing and mistyped parameters, every one of them."""
    if not isinstance(params, Mapping):
        return [(None, f"parameters of {kind!r} must be a mapping")]
    return _table_problems(f"fault {kind!r}", table, params)


def with_defaults(table: Mapping[str, Param], params: Mapping[str, Any]) -> dict:
    return {name: param.default for name, param in table.items() if param.default is not None} | {
        k: v for k, v in params.items() if v is not None}


def in_range(key: str, params: Mapping[str, Any], low: float, high: float) -> list[Problem]:
    value = params.get(key)
    if value is None or low <= value <= high:
        return []
    return [(key, f"{key} must be between {low:g} and {high:g}, not {value!r}")]


def ipv4(key: str, params: Mapping[str, Any]) -> list[Problem]:
    value = params.get(key)
    if value is None:
        return []
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return [(key, f"{key} must be an IPv4 address, not {value!r}")]
    return []


def parse_cli(kind: str, table: Mapping[str, Param], pairs: list[str]) -> tuple[dict, list[Problem]]:
    """`["percent=30", "names=a.test.,b.test."]` -> typed params, plus problems for what does not parse."""
    params: dict[str, Any] = {}
    problems: list[Problem] = []
    for pair in pairs:
        found = assignment(pair)
        if found is None:
            problems.append((None, f"parameter {pair!r} must be KEY=VALUE (keys of {kind!r}: {', '.join(table) or 'none'})"))
            continue
        key, text = found
        if key not in table:
            problems.append((key, f"unknown parameter {key!r} for fault {kind!r} (allowed: {', '.join(table) or 'none'})"))
            continue
        try:
            params[key] = _convert(text, table[key].type)
        except ValueError:
            problems.append((key, f"{key} must be {type_name(table[key].type)}, not {text!r}"))
    return params, problems


def _convert(text: str, expected: Any) -> Any:
    if typing.get_origin(expected) is list:
        (item,) = typing.get_args(expected)
        return [_convert(part.strip(), item) for part in text.split(",") if part.strip()]
    if expected is bool:
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError(text)
    if expected is float:
        return int(text) if text.lstrip("-").isdigit() else float(text)
    return expected(text)
