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
    # The headline (lab.report.headline) on a line of its own: what happened and what to try.
    console.print(Text.assemble((f"{report['playbook']}", "bold"), f"  seed {report['seed']}"))
    console.print(Text(report.get("headline") or verdict.upper(), style=VERDICT_STYLE.get(verdict, "bold")))
    console.print(_checks_table(report["checks"], partial=verdict == "interrupted"))
    console.print(_figures_line(report))
    if any(r.get("ede") or r.get("ad") or r.get("wrong") for r in (report.get("resolvers") or {}).values()):
        console.print(_resolvers_table(report["resolvers"]))
    if report.get("truncated_lines"):
        console.print(Text(f"{report['truncated_lines']} damaged record lines were skipped "
                           "(a writer was killed mid-line)", style="yellow"))
    for label, name in (report.get("files") or {}).items():
        console.print(Text.assemble((f"{label:>9}: ", "dim"), str(Path(run_dir) / name)))


def _checks_table(checks: list[Mapping[str, Any]], partial: bool = False) -> Table:
    """✓/✗ per check; an interrupted run's checks judged part of the run: `~` where it held so far."""
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("", width=1, no_wrap=True)
    # The detail carries the evidence: it gets the room, a long check name wraps instead.
    table.add_column("check", max_width=CHECK_NAME_WIDTH, overflow="fold")
    table.add_column("detail", overflow="fold")
    for check in checks:
        mark = Text("✗", style="bold red") if not check["ok"] else Text("~", style="yellow") if partial \
            else Text("✓", style="green")
        # Text, not markup: details quote names and lists like [0, 30] that rich would read as tags.
        detail = f"so far (partial): {check['detail']}" if partial else check["detail"]
        table.add_row(mark, Text(check["name"]), Text(detail))
    if not checks:
        table.add_row("", Text("no checks", style="dim"), "")
    return table


def _resolvers_table(resolvers: Mapping[str, Mapping[str, Any]]) -> Table:
    """Per resolver: rcodes, wrong answers, Extended DNS Errors, validated answers, outage and recovery (DNSSEC
    runs, and runs where some answer was wrong)."""
    table = Table(show_header=True, header_style="bold", expand=False)
    for column in ("resolver", "rcodes", "wrong", "EDE", "AD", "outage", "after clear"):
        table.add_column(column, overflow="fold")
    for name, r in resolvers.items():
        seconds = lambda v: "-" if v is None else f"{v:.1f}s"  # noqa: E731
        outage = seconds(r["outage_s"]) if r["first_failure_s"] is None or r["recovered_s"] is not None \
            else "not back"
        table.add_row(Text(f"{name} ({r['software']})" if r.get("software") else name),
                      Text(" ".join(f"{k} {v}" for k, v in r["rcodes"].items())),
                      Text(", ".join(f"{k} ×{v}" for k, v in list((r.get("wrong_answers") or {}).items())[:2]) or "-"),
                      Text(", ".join(f"{k} ×{v}" for k, v in r["ede"].items()) or "-"), Text(str(r["ad"])),
                      Text(outage), Text(seconds(r["after_clear_s"])))
    return table


def _figures_line(report: Mapping[str, Any]) -> Text:
    probes = report["probes"]
    total = probes["total"]
    ok_share = share_text(probes["ok"], total) if total else "n/a"
    # Wrong answers are known only where the run sampled the truth (truth.jsonl): say how many it judged.
    wrong = f"wrong {probes['wrong']} of {probes['judged']} judged  " if probes.get("judged") else ""
    # Checks judge the probes their filters select (never_empty: often A only): say what the total is made of.
    types = probes.get("by_type") or {}
    made_of = f" ({', '.join(f'{t} {n}' for t, n in types.items())})" if len(types) > 1 else ""
    return Text(
        f"probes {total}{made_of}  ok {ok_share}  {wrong}empty {probes['empty_answers']}  "
        f"timeouts {probes['timeouts']}  faults {len(report['faults'])}"
    )
