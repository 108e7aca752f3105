"""The report for a person at a terminal: the verdict, a table of checks, key figures, where the files are."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lab import console as consoles

from lab.checks import share_text

VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "interrupted": "bold yellow"}
CHECK_NAME_WIDTH = 32


def render_terminal(report: Mapping[str, Any], run_dir: str | Path, console: Console | None = None) -> None:
    """Print the report: checks (✓/✗, name, detail), key figures, the files written into RUN_DIR."""
    console = console or consoles.stdout()
    verdict = report["verdict"]
    console.print(Text.assemble(
        (f"{report['playbook']}", "bold"), f"  seed {report['seed']}  ",
        (verdict.upper(), VERDICT_STYLE.get(verdict, "bold")),
    ))
    console.print(_checks_table(report["checks"]))
    console.print(_figures_line(report))
    if report.get("truncated_lines"):
        console.print(Text(f"{report['truncated_lines']} damaged record lines were skipped "
                           "(a writer was killed mid-line)", style="yellow"))
    for label, name in (report.get("files") or {}).items():
        console.print(Text.assemble((f"{label:>9}: ", "dim"), str(Path(run_dir) / name)))


def _checks_table(checks: list[Mapping[str, Any]]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("", width=1, no_wrap=True)
    # The detail carries the evidence: it gets the room, a long check name wraps instead.
    table.add_column("check", max_width=CHECK_NAME_WIDTH, overflow="fold")
    table.add_column("detail", overflow="fold")
    for check in checks:
        mark = Text("✓", style="green") if check["ok"] else Text("✗", style="bold red")
        # Text, not markup: details quote names and lists like [0, 30] that rich would read as tags.
        table.add_row(mark, Text(check["name"]), Text(check["detail"]))
    if not checks:
        table.add_row("", Text("no checks", style="dim"), "")
    return table


def _figures_line(report: Mapping[str, Any]) -> Text:
    probes = report["probes"]
    total = probes["total"]
    ok_share = share_text(probes["ok"], total) if total else "n/a"
    return Text(
        f"probes {total}  ok {ok_share}  empty {probes['empty_answers']}  timeouts {probes['timeouts']}  "
        f"faults {len(report['faults'])}"
    )
