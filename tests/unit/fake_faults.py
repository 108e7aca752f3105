"""A stand-in for lab.faults in pure tests: the contract's FAULTS table and param_problems, nothing else."""

from __future__ import annotations

from types import SimpleNamespace

from lab.params import Param

FAULTS = {
    "pause": SimpleNamespace(params={}, group="process"),
    "partition": SimpleNamespace(params={"from": Param(list[str], True, None, "nodes")}, group="network"),
    "delay": SimpleNamespace(params={"ms": Param(int, True, None, "ms")}, group="dns-answer"),
}


def param_problems(kind, target, params, description):
    problems = []
    if description is not None and target not in description["nodes"] and not target.startswith(("role:", "random:")):
        problems.append((None, f"no node {target!r}"))
    for key in params:
        if key not in FAULTS[kind].params:
            problems.append((key, f"unknown parameter {key!r} for fault {kind!r}"))
    for key, param in FAULTS[kind].params.items():
        if param.required and key not in params:
            problems.append((key, f"{key} is required for fault {kind!r}"))
    return problems


module = SimpleNamespace(FAULTS=FAULTS, param_problems=param_problems)
