"""The verdict line says what happened and what to try; an interrupted run's checks are marked partial; the
matrix says what an exit code means for a library playbook. Pure: report dicts built by hand."""

from __future__ import annotations

import io

from rich.console import Console

from lab.matrix import exit_text
from lab.report.headline import headline, reproduced
from lab.report.terminal import render_terminal

RACE = {"incident": "AWS us-east-1 (DynamoDB)", "date": "2025-10-19", "mitigation": "guarded writes",
        "mitigated": ["enactor.strategy=guarded"], "mitigated_now": False}
EMPTY = {"name": "the endpoint never goes empty", "check": "never_empty", "ok": False,
         "detail": "246 of 664 A probes got an empty answer — ...",
         "data": {"by_resolver": {r: {"empty": 60, "nodata": 60, "nxdomain": 0, "first_s": first, "last_s": 36.8}
                                  for r, first in (("unbound", 19.5), ("bind", 20.1), ("kresd", 21.0),
                                                   ("pdns", 19.9))}}}


def report(verdict: str, checks: list[dict]) -> dict:
    return {"playbook": "race", "seed": 1, "verdict": verdict, "checks": checks, "faults": [],
            "resolvers": {r: {} for r in ("unbound", "bind", "kresd", "pdns")},
            "probes": {"total": 10, "ok": 5, "empty_answers": 5, "timeouts": 0}}


def test_a_library_playbook_that_fails_as_written_says_it_reproduced_its_incident_and_the_fix():
    failed = report("fail", [EMPTY])
    assert headline(failed, RACE) == ("FAIL — reproduced AWS us-east-1 (DynamoDB) 2025: NODATA through all 4 "
                                      "resolvers +19.5…+36.8 s; the fix: --set enactor.strategy=guarded")
    assert reproduced(failed, RACE) and not reproduced(failed, RACE | {"mitigated_now": True})


def test_a_pass_says_what_the_safeguard_did():
    events = [{"event": "refused", "reason": "stale"}] * 44 + [{"event": "refused", "reason": "velocity"}]
    passed = report("pass", [EMPTY | {"ok": True}])
    assert headline(passed, RACE | {"mitigated_now": True}, events) == \
        "PASS — 44 stale writes refused, 1 velocity write refused"
    assert headline(passed, None, [{"event": "rollout_halted"}]) == "PASS — rollout halted at the canary"
    assert headline(passed, None, []) == "PASS — every check held (1)"


def test_other_failures_name_the_check_and_its_first_clause():
    check = {"name": "availability", "check": "availability", "ok": False, "data": {},
             "detail": "61.0% ok of 400 probes (min 99.0%); unbound 40.0% ✗ SERVFAIL 120"}
    assert headline(report("fail", [check])) == "FAIL — availability: 61.0% ok of 400 probes (min 99.0%)"
    assert headline(report("fail", [check]), RACE | {"mitigated_now": True}).endswith("even with the mitigation in effect")


def test_an_interrupted_run_marks_its_checks_partial_at_the_terminal():
    cut = report("interrupted", [{"name": "never_empty", "ok": True, "detail": "none of 20 probes got an empty answer"}])
    cut["headline"] = headline(cut)
    out = io.StringIO()
    render_terminal(cut, "/tmp/x", Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "INTERRUPTED — stopped early" in text and "partial" in text
    assert "✓" not in text and "~ │ never_empty" in text and "so far (partial)" in text


def test_the_matrix_says_what_an_exit_code_means():
    assert exit_text("as-written", 1) == "1 (reproduced)"
    assert exit_text("mitigated", 0) == "0 (mitigated)"
    assert exit_text("as-written", 0) == "0 (unexpected)"
