"""Reports of a run: judge the records in RUN_DIR and write report.json, junit.xml, timeline.png and report.html.

`write_all` is what `dnslab run` (after the run) and `dnslab report RUN_DIR` (any time later) call;
`render_terminal` then shows the returned report. The parts are pure and usable on their own:
summary (the report dict), junit, timeline (the plot), html (the page), terminal.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lab import checks, records
from lab.files import write_atomically
from lab.report import apps as app_report
from lab.report.headline import headline, reproduced
from lab.report.junit import write_junit
from lab.report.summary import VERDICTS, build_report, verdict_for
from lab.report.terminal import render_terminal

__all__ = ["REPORT_FILES", "VERDICTS", "build_report", "render_terminal", "verdict_for", "warm_up", "write_all",
           "write_junit"]

# label -> file name inside RUN_DIR
REPORT_FILES = {"report": "report.json", "junit": "junit.xml", "timeline": "timeline.png", "html": "report.html"}


def warm_up() -> threading.Thread:
    """Import and warm what write_all draws and renders with, in a background thread: matplotlib's import,
    its fonts and the page's templates cost a run's report 1-2 s when they came at its end. A run starts
    this while its first steps wait; write_all then finds them ready (or waits for the imports under way)."""
    def warm() -> None:
        try:
            from lab.report import html, timeline
            timeline.warm()
            html.warm()
        except Exception:  # noqa: BLE001 - only a head start: write_all imports and reports what fails
            pass
    thread = threading.Thread(target=warm, name="report-warm-up", daemon=True)
    thread.start()
    return thread


def write_all(
    run_dir: str | Path,
    playbook_name: str,
    seed: int | str | None,
    verdict: str | None,
    check_specs: Iterable[Mapping[str, Any]],
    extra: dict[str, Any] | None = None,
    interrupted: bool = False,
    judged: tuple[records.RunRecords, list[checks.CheckResult]] | None = None,
) -> dict[str, Any]:
    """Read RUN_DIR's records, judge them, write the report files into RUN_DIR; return the report. The probes
    are streamed (records.stream_run): judged in one pass, reported and drawn from a second, never all held.

    `judged`: the records and check results when the caller has judged them already (a run does, to know
    its verdict before it writes `run_finished`), so a run is judged once.

    `verdict` None derives it from the checks (verdict_for), "interrupted" when `interrupted` is true.
    The report lists the files it was written to under "files" (names relative to RUN_DIR).
    Raises InputError when RUN_DIR holds no records and ValueError when a check spec is invalid.
    """
    # Imported here: matplotlib takes half a second to import, and only this command needs it (a run warms
    # them up while it waits: warm_up).
    from lab.report import html
    from lab.report.timeline import check_marks, plot_timeline

    from lab.report.marks import Marks

    run_dir = Path(run_dir)
    check_specs = list(check_specs)
    found, results = judged or _judge(run_dir, check_specs)
    # One more pass over the probes (the checks had theirs): the report's figures, when DNS was back after
    # each outage, and the few columns the pictures draw — no probe is held.
    marks, dns = Marks.for_run(found.probes, found.events), app_report.DnsOutages(found.events)
    report = build_report(
        playbook_name, seed, verdict or verdict_for(results, interrupted), results,
        found.probes, found.events, extra, truncated_lines=found.truncated_lines, feeding=(marks, dns),
    )
    apps_part = app_report.summarize(found, report["started_at"], dns)
    if apps_part is not None:
        report["apps"] = apps_part
    for entry, spec in zip(report["checks"], check_specs):  # the kind too, so a test can ask for `never_empty`
        entry["check"] = spec.get("check")
    incident = html.incident_of_run(run_dir)
    report["headline"] = headline(report, incident, found.events)
    if incident:  # a library playbook: did it show its incident (as written), was the mitigation on
        report["incident"] = {"name": incident["incident"], "date": incident["date"],
                              "mitigated": bool(incident["mitigated_now"]),
                              "reproduced": reproduced(report, incident), "fix": list(incident["mitigated"])}
    report["files"] = dict(REPORT_FILES)
    # A report half-written by a killed `dnslab report` would be worse than the previous one.
    write_atomically(run_dir / REPORT_FILES["report"], json.dumps(report, indent=2, allow_nan=False) + "\n")
    write_junit(report, run_dir / REPORT_FILES["junit"])
    plot_timeline(marks, found.events, run_dir / REPORT_FILES["timeline"],
                  f"{playbook_name} (seed {seed}): {report['headline']}", check_marks(report), apps=found.apps)
    html.write_run(run_dir, report, found, incident, marks)
    return report


def _judge(run_dir: Path, check_specs: list) -> tuple[records.RunRecords, list[checks.CheckResult]]:
    found = records.stream_run(run_dir)
    return found, checks.judge(check_specs, found.probes, found.events, found.apps, found.samples)

