"""Were the answers right? Judged against what the authoritative data held (lab.truth), and address sets
that must or must not show up: proof that a spoof bit, or that a mitigation kept it out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from lab import records, truth
from lab.checks.base import CheckResult, Scope, SpecProblem, at_least, by, check
from lab.params import Param
from lab.records import Record

JUDGED = ("held", "stale", "unheld")
SHOWN = 3  # distinct wrong answers named per resolver in a detail


def answers_valid(scope: Scope) -> CheckResult:
    """Fail when any selected answer is wrong: neither held by an authoritative server then nor a copy
    within its TTL (stale or unheld, lab.truth); also when no answer could be judged."""
    answered = [probe for probe in scope.probes if truth.is_answer(probe)]
    judged = [probe for probe in answered if probe.get("truth") in JUDGED]
    unseen = len(answered) - len(judged)
    if not any("truth" in probe for probe in scope.probes):
        return scope.result(False, f"no truth recorded for these {len(scope.probes)} probes (the run left no "
                                   f"{truth.TRUTH_FILE}): nothing to judge the answers by", judged=0)
    if not judged:
        return scope.result(False, f"none of {len(answered)} answers could be judged (the truth sampler did not "
                                   f"see their servers then)", judged=0, unseen=unseen)
    wrong = [probe for probe in judged if records.is_wrong(probe)]
    seen = f" ({unseen} not judged: unseen)" if unseen else ""
    if not wrong:
        return scope.result(True, f"all {len(judged)} judged answers were held by the authoritative data{seen}",
                            judged=len(judged), unseen=unseen, wrong=0)
    by_resolver = {resolver: _wrong_figures(scope, group) for resolver, group in by(wrong, "resolver").items()}
    parts = [f"{resolver}: {figures['wrong']} ({_named(figures['answers'])}) "
             f"{scope.span([p['t'] for p in by(wrong, 'resolver')[resolver]])}"
             for resolver, figures in by_resolver.items()]
    detail = f"{len(wrong)} of {len(judged)} judged answers were wrong{seen} — " + "; ".join(parts)
    return scope.result(False, detail, judged=len(judged), unseen=unseen, wrong=len(wrong),
                        stale=sum(p["truth"] == "stale" for p in wrong), by_resolver=by_resolver)


def _wrong_figures(scope: Scope, wrong: list[Record]) -> dict[str, Any]:
    times = [probe["t"] for probe in wrong]
    return {
        "wrong": len(wrong),
        "stale": sum(probe["truth"] == "stale" for probe in wrong),
        "unheld": sum(probe["truth"] == "unheld" for probe in wrong),
        "answers": dict(Counter(_said(probe) for probe in wrong).most_common()),
        "first_s": scope.since_start(min(times)),
        "last_s": scope.since_start(max(times)),
    }


def _said(probe: Record) -> str:
    said = " ".join(sorted(probe.get("answers") or [])) or ("NODATA" if records.is_nodata(probe)
                                                            else str(probe.get("rcode")))
    return f"stale {said}" if probe.get("truth") == "stale" else said


def _named(answers: Mapping[str, int]) -> str:
    shown = [f"{answer} ×{count}" for answer, count in list(answers.items())[:SHOWN]]
    return ", ".join(shown) + (f", {len(answers) - SHOWN} more" if len(answers) > SHOWN else "")


# ---- expect_answers / forbid_answers ------------------------------------------------------------------------


def _showing(scope: Scope) -> tuple[set[str], list[Record]]:
    wanted = {truth.answer_text(answer) for answer in scope.spec["answers"]}
    return wanted, [probe for probe in scope.probes
                    if wanted & {truth.answer_text(answer) for answer in probe.get("answers") or []}]


def expect_answers(scope: Scope) -> CheckResult:
    """At least `min_count` probes must have one of `answers` among their answers (e.g. a spoofed address:
    proof that the fault bit)."""
    wanted, seen = _showing(scope)
    minimum = scope.spec["min_count"]
    where = {resolver: len(group) for resolver, group in by(seen, "resolver").items()}
    what = ", ".join(sorted(wanted))
    if seen:
        each = ", ".join(f"{resolver} {count}" for resolver, count in where.items())
        detail = f"{what} seen in {len(seen)} probes (min {minimum}) {scope.span([p['t'] for p in seen])}: {each}"
    else:
        instead = Counter(" ".join(sorted(p.get("answers") or [])) or records.outcome(p) for p in scope.probes)
        detail = (f"{what} never seen in {len(scope.probes)} probes (min {minimum}); seen instead: "
                  + ", ".join(f"{answer} ×{count}" for answer, count in instead.most_common(SHOWN)))
    return scope.result(len(seen) >= minimum, detail, answers=sorted(wanted), count=len(seen), by_resolver=where)


def forbid_answers(scope: Scope) -> CheckResult:
    """No probe may have any of `answers` among its answers (e.g. a spoofed address a mitigation must keep
    out)."""
    wanted, seen = _showing(scope)
    what = ", ".join(sorted(wanted))
    where = {resolver: len(group) for resolver, group in by(seen, "resolver").items()}
    if not seen:
        return scope.result(True, f"{what} never seen in {len(scope.probes)} probes", answers=sorted(wanted),
                            count=0, by_resolver={})
    each = ", ".join(f"{resolver} {count}" for resolver, count in where.items())
    detail = f"{what} seen in {len(seen)} of {len(scope.probes)} probes {scope.span([p['t'] for p in seen])}: {each}"
    return scope.result(False, detail, answers=sorted(wanted), count=len(seen), by_resolver=where)


def _answers_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    problems = at_least("min_count", 1, spec)
    if spec.get("answers") == []:
        problems.append(SpecProblem("answers", "answers is empty; name at least one answer (an address, a TXT text)"))
    return problems


_ANSWERS = Param(list[str], True, None, "answers (addresses, TXT texts) to look for in the probes' answers")

CHECKS = {c.kind: c for c in (
    check("answers_valid", answers_valid),
    check("expect_answers", expect_answers, {
        "answers": _ANSWERS,
        "min_count": Param(int, False, 1, "how many probes must show one of them"),
    }, _answers_constraints),
    check("forbid_answers", forbid_answers, {"answers": _ANSWERS}, _answers_constraints),
)}
