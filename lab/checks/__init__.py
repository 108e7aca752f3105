"""Invariants and SLOs over a run's records: did the name stay resolvable, fresh and fast enough?

A check kind is a Fold (lab.checks.base): made with the scope, fed the probes its filters select one at a
time, asked for its CheckResult — so judging a run is one pass over its probes that holds none of them.
CHECKS maps each check kind to a Check: the fold plus its parameter table (name -> Param(type, required, default, help)), so a playbook validator needs
nothing else; `spec_problems(spec)` does that validation and names the offending key. Each module of this
package defines the kinds of one family in a table of its own; CHECKS joins them (a new check kind: a
function in the module of its family, and one line in that module's table).

A spec is a mapping: `check` (the kind), optional `name` (shown in reports; default: the kind and its
parameters), the kind's own parameters and these filters, which every check accepts:

- `names`: query names (case-insensitive, with or without the trailing dot),
- `resolvers`, `clients`: node names; `types`: query types (A, TXT, ...),
- `window`: [start, end] in seconds since the run started (see records.run_start), both ends included.
  It selects probes only; fault windows always come from all events.

Every check judges the probes its filters select, and fails when they select none: a check that cannot
fail is a bug, and a misspelt name in a filter would otherwise pass silently. Times in details and in
`data` are seconds since the run started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lab import records
from lab.checks import answers, apps, availability, emptiness, latency, recovery, regression
from lab.checks.base import Check, CheckResult, Judging, Scope, SpecProblem, check_name, in_time_order, share_text
from lab.records import Record

__all__ = ["CHECKS", "Check", "CheckResult", "Scope", "SpecProblem", "check_name", "judge", "share_text",
           "spec_problems"]

CHECKS: dict[str, Check] = {**emptiness.CHECKS, **availability.CHECKS, **regression.CHECKS, **recovery.CHECKS,
                            **latency.CHECKS, **apps.CHECKS, **answers.CHECKS}

def judge(check_specs: Iterable[Mapping[str, Any]], probes: Iterable[Record], events: list[Record],
          apps: Iterable[Record] = (), samples: Iterable[Record] = ()) -> list[CheckResult]:
    """Run every check over the records, in order (`probes`: a list, or records.ProbeStream, judged in one
    pass; `apps`: app attempts, `samples`: servers' counter samples, for the kinds of lab.checks.apps).

    Raises ValueError listing every invalid spec (unknown kind, bad parameters) before judging anything.
    A check that crashes on unexpected data becomes a failed result, so one bad record cannot cost the
    whole report of a long run.
    """
    check_specs = list(check_specs)
    problems = [
        f"check {index} ({spec.get('check', '?') if isinstance(spec, Mapping) else '?'}): {problem}"
        for index, spec in enumerate(check_specs, start=1)
        for problem in spec_problems(spec)
    ]
    if problems:
        raise ValueError("invalid checks:\n  " + "\n  ".join(problems))
    probes, apps, samples = in_time_order(probes), list(apps), list(samples)
    t0 = records.run_start(probes, events) or min((r["t"] for r in apps), default=0.0)
    judgings: list[Judging | CheckResult] = [_guarded(spec, lambda spec=spec: CHECKS[spec["check"]].start(
        spec, events, t0, apps, samples)) for spec in check_specs]
    for number in range(max((j.passes for j in judgings if isinstance(j, Judging)), default=0)):
        active = [index for index, judging in enumerate(judgings)
                  if isinstance(judging, Judging) and judging.passes > number]
        for index in active:
            if number:
                judgings[index].next_pass()  # checks that need more than one pass over the probes
        for probe in probes:
            for index in active:
                try:
                    judgings[index].feed(probe)
                except Exception as error:  # recorded as the check's failure, see judge()
                    judgings[index] = _crashed(check_specs[index], error)
                    active = [i for i in active if i != index]  # the loop goes on over the list it started with
    return [judging if isinstance(judging, CheckResult) else _guarded(spec, judging.result)
            for spec, judging in zip(check_specs, judgings)]


def _guarded(spec: Mapping[str, Any], step: Any) -> Any:
    """What `step()` returns, or the check's failed result when it crashed (see judge())."""
    try:
        return step()
    except Exception as error:  # recorded as the check's failure, see judge()
        return _crashed(spec, error)


def _crashed(spec: Mapping[str, Any], error: Exception) -> CheckResult:
    return CheckResult(check_name(spec), False, f"check crashed: {type(error).__name__}: {error}",
                       {"error": repr(error)})


def spec_problems(spec: Any) -> list[SpecProblem]:
    """Every problem with one check spec: unknown kind or key, missing, mistyped or out-of-range value."""
    if not isinstance(spec, Mapping):
        return [SpecProblem(None, "a check must be a mapping with a 'check' key")]
    kind = spec.get("check")
    if kind is None:
        return [SpecProblem("check", f"missing 'check' (one of: {', '.join(CHECKS)})")]
    if not isinstance(kind, str) or kind not in CHECKS:  # a list or mapping here is no check name either
        return [SpecProblem("check", f"unknown check {kind!r} (known: {', '.join(CHECKS)})")]
    return CHECKS[kind].problems(spec)
