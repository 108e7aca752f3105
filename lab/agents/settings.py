"""The pipeline's tunables: one table read by the agents (defaults) and by dnslab (validation of the
topology's `pipeline:` section, a playbook's `pipeline:`/`enactor:` sections and `--set enactor.x=y`).

Keys are written `section.name`; the agents see them flat (`strategy`, `interval`, ...), as stored in
/plans/settings.json. Standard library only: this module runs inside containers too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lab.agents import strategy


class Setting(NamedTuple):
    type: type  # int, float, str or bool; float accepts int
    default: Any
    low: float | None  # inclusive bounds for numbers
    high: float | None
    choices: tuple[str, ...] | None
    help: str


SETTINGS: dict[str, Setting] = {
    "pipeline.interval": Setting(float, 1.0, 0.1, 60, None, "seconds between two plan generations"),
    "pipeline.keep": Setting(int, 3, 1, 1000, None,
                             "K: after applying generation N, clean-up deletes plans older than N - K"),
    "pipeline.seed": Setting(int, 0, 0, None, None, "seed of the planner's capacity changes"),
    "pipeline.running": Setting(bool, True, None, None, None, "false holds the planner and the enactors"),
    "enactor.strategy": Setting(str, "naive", None, None, tuple(strategy.STRATEGIES),
                                "naive: one freshness check, blind writes; guarded: compare-and-set, "
                                "safe clean-up, velocity limit"),
    "enactor.apply_pace": Setting(float, 0.3, 0, 10, None, "seconds each endpoint's update takes (a window "
                                                            "in which an enactor can be delayed mid-apply)"),
    "enactor.max_removal": Setting(float, 0.5, 0, 1, None, "guarded: refuse a plan that removes more than "
                                                            "this share of an endpoint's addresses at once"),
    "enactor.poll": Setting(float, 0.2, 0.05, 10, None, "seconds between two looks at the plan store"),
    "enactor.max_attempts": Setting(int, 6, 1, 100, None, "attempts per endpoint before an enactor gives up "
                                                           "on it for this plan (with backoff in between)"),
    "enactor.ttl": Setting(int, 5, 0, 86400, None, "TTL of the records the enactors write"),
}

SECTIONS = ("pipeline", "enactor")


def flat_name(key: str) -> str:
    return key.split(".", 1)[1]


def defaults() -> dict[str, Any]:
    return {flat_name(key): setting.default for key, setting in SETTINGS.items()}


def full_key(name: str) -> str | None:
    """`strategy` or `enactor.strategy` -> `enactor.strategy`; None when it is no setting."""
    if name in SETTINGS:
        return name
    matches = [key for key in SETTINGS if flat_name(key) == name]
    return matches[0] if len(matches) == 1 else None


def problem(key: str, value: Any) -> str | None:
    """Why `value` is not acceptable for setting `key` (a full key), or None."""
    setting = SETTINGS[key]
    if setting.type is bool:
        ok = isinstance(value, bool)
    elif setting.type is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, setting.type) and not isinstance(value, bool)
    if not ok:
        kind = {bool: "true or false", float: "a number", int: "an integer", str: "a string"}[setting.type]
        return f"{key} must be {kind}, not {value!r}"
    if setting.choices and value not in setting.choices:
        return f"{key} must be one of {', '.join(setting.choices)}, not {value!r}"
    if setting.low is not None and value < setting.low or setting.high is not None and value > setting.high:
        high = "" if setting.high is None else f" and {setting.high:g}"
        word = "between" if setting.high is not None else "at least"
        return f"{key} must be {word} {setting.low:g}{high}, not {value!r}"
    return None
