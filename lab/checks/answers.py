"""Were the answers right? Judged against what the authoritative data held (lab.truth), and address sets
that must or must not show up: proof that a spoof bit, or that a mitigation kept it out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from lab import records, truth
from lab.checks.base import CheckResult, Fold, Scope, Span, SpecProblem, at_least, check
from lab.params import Param
from lab.records import Record

JUDGED = ("held", "stale", "unheld")
SHOWN = 3  # distinct wrong answers named per resolver in a detail


class AnswersValid(Fold):
    """Fail when any selected answer is wrong: neither held by an authoritative server then nor a copy
    within its TTL (stale or unheld, lab.truth); also when no answer could be judged."""

    def __init__(self, scope: Scope):
        super().__init__(scope)
        self.answered = self.judged = 0
        self.any_truth = False
        self.by_resolver: dict[Any, _Wrong] = {}

    def feed(self, probe: Record) -> None:
        self.any_truth = self.any_truth or "truth" in probe
        if not truth.is_answer(probe):
            return
        self.answered += 1
        if probe.get("truth") in JUDGED:
            self.judged += 1
            if records.is_wrong(probe):
                self.by_resolver.setdefault(probe.get("resolver"), _Wrong()).add(probe)

    def result(self) -> CheckResult:
        scope, judged = self.scope, self.judged
        unseen = self.answered - judged
        if not self.any_truth:
            return scope.result(False, f"no truth recorded for these {scope.tally.count} probes (the run left no "
                                       f"{truth.TRUTH_FILE}): nothing to judge the answers by", judged=0)
        if not judged:
            return scope.result(False, f"none of {self.answered} answers could be judged (the truth sampler did "
                                       f"not see their servers then)", judged=0, unseen=unseen)
        wrong = sum(group.wrong for group in self.by_resolver.values())
        seen = f" ({unseen} not judged: unseen)" if unseen else ""
        if not wrong:
            return scope.result(True, f"all {judged} judged answers were held by the authoritative data{seen}",
                                judged=judged, unseen=unseen, wrong=0)
        groups = dict(sorted(self.by_resolver.items(), key=lambda item: str(item[0])))
        by_resolver = {resolver: group.figures(scope) for resolver, group in groups.items()}
        parts = [f"{resolver}: {figures['wrong']} ({_named(figures['answers'])}) "
                 f"{scope.span(groups[resolver].span.times)}"
                 for resolver, figures in by_resolver.items()]
        detail = f"{wrong} of {judged} judged answers were wrong{seen} — " + "; ".join(parts)
        return scope.result(False, detail, judged=judged, unseen=unseen, wrong=wrong,
                            stale=sum(group.stale for group in groups.values()), by_resolver=by_resolver)


class _Wrong:
    """One resolver's wrong answers: how many, stale or unheld, what they said, when."""

    def __init__(self) -> None:
        self.wrong = self.stale = self.unheld = 0
        self.answers: Counter[str] = Counter()
        self.span = Span()

    def add(self, probe: Record) -> None:
        self.wrong += 1
        self.stale += probe["truth"] == "stale"
        self.unheld += probe["truth"] == "unheld"
        self.answers[_said(probe)] += 1
        self.span.add(probe["t"])

    def figures(self, scope: Scope) -> dict[str, Any]:
        return {
            "wrong": self.wrong,
            "stale": self.stale,
            "unheld": self.unheld,
            "answers": dict(self.answers.most_common()),
            "first_s": scope.since_start(self.span.first),
            "last_s": scope.since_start(self.span.last),
        }


def _said(probe: Record) -> str:
    said = " ".join(sorted(probe.get("answers") or [])) or ("NODATA" if records.is_nodata(probe)
                                                            else str(probe.get("rcode")))
    return f"stale {said}" if probe.get("truth") == "stale" else said


def _named(answers: Mapping[str, int]) -> str:
    shown = [f"{answer} ×{count}" for answer, count in list(answers.items())[:SHOWN]]
    return ", ".join(shown) + (f", {len(answers) - SHOWN} more" if len(answers) > SHOWN else "")


# ---- expect_answers / forbid_answers ------------------------------------------------------------------------


class _Showing(Fold):
    """The probes with one of `answers` among their answers: how many, through which resolver, when."""

    def __init__(self, scope: Scope):
        super().__init__(scope)
        self.wanted = {truth.answer_text(answer) for answer in scope.spec["answers"]}
        self.where: Counter[Any] = Counter()
        self.span = Span()
        self.instead: Counter[str] = Counter()  # what the probes said: the detail when none showed them

    def feed(self, probe: Record) -> None:
        if self.wanted & {truth.answer_text(answer) for answer in probe.get("answers") or []}:
            self.where[probe.get("resolver")] += 1
            self.span.add(probe["t"])
        elif not self.where:
            self.instead[" ".join(sorted(probe.get("answers") or [])) or records.outcome(probe)] += 1

    def figures(self) -> tuple[str, int, dict[Any, int]]:
        """(the answers in one text, how many probes showed them, resolver -> how many)."""
        where = dict(sorted(self.where.items(), key=lambda item: str(item[0])))
        return ", ".join(sorted(self.wanted)), sum(where.values()), where


class ExpectAnswers(_Showing):
    """At least `min_count` probes must have one of `answers` among their answers (e.g. a spoofed address:
    proof that the fault bit)."""

    def result(self) -> CheckResult:
        scope, minimum = self.scope, self.scope.spec["min_count"]
        what, seen, where = self.figures()
        if seen:
            each = ", ".join(f"{resolver} {count}" for resolver, count in where.items())
            detail = f"{what} seen in {seen} probes (min {minimum}) {scope.span(self.span.times)}: {each}"
        else:
            detail = (f"{what} never seen in {scope.tally.count} probes (min {minimum}); seen instead: "
                      + ", ".join(f"{answer} ×{count}" for answer, count in self.instead.most_common(SHOWN)))
        return scope.result(seen >= minimum, detail, answers=sorted(self.wanted), count=seen, by_resolver=where)


class ForbidAnswers(_Showing):
    """No probe may have any of `answers` among its answers (e.g. a spoofed address a mitigation must keep
    out)."""

    def result(self) -> CheckResult:
        scope = self.scope
        what, seen, where = self.figures()
        if not seen:
            return scope.result(True, f"{what} never seen in {scope.tally.count} probes", answers=sorted(self.wanted),
                                count=0, by_resolver={})
        each = ", ".join(f"{resolver} {count}" for resolver, count in where.items())
        detail = (f"{what} seen in {seen} of {scope.tally.count} probes {scope.span(self.span.times)}: {each}")
        return scope.result(False, detail, answers=sorted(self.wanted), count=seen, by_resolver=where)


def _answers_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    problems = at_least("min_count", 1, spec)
    if spec.get("answers") == []:
        problems.append(SpecProblem("answers", "answers is empty; name at least one answer (an address, a TXT text)"))
    return problems


_ANSWERS = Param(list[str], True, None, "answers (addresses, TXT texts) to look for in the probes' answers")

CHECKS = {c.kind: c for c in (
    check("answers_valid", AnswersValid),
    check("expect_answers", ExpectAnswers, {
        "answers": _ANSWERS,
        "min_count": Param(int, False, 1, "how many probes must show one of them"),
    }, _answers_constraints),
    check("forbid_answers", ForbidAnswers, {"answers": _ANSWERS}, _answers_constraints),
)}
