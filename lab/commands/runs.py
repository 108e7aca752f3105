"""`dnslab validate`, `dnslab run` and `dnslab report`: playbooks from the command line.

Exit codes (lab.errors.ExitCode): 0 every check held, 1 a check (or a step) failed, 2 invalid input,
3 environment problem (incl. a node lost under the run, a fault that could not be rolled back),
130 interrupted. `report` exits with the code its verdict stands for, so CI can re-judge a run.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click

from lab import bundle, console as consoles, records
from lab.commands import hosts_option
from lab.errors import ExitCode, InputError, PlaybookError
from lab.names import lab_name
from lab.playbook import document

console = consoles.stderr()
VERDICT_CODES = {"pass": ExitCode.OK, "fail": ExitCode.CHECK_FAILED, "interrupted": ExitCode.INTERRUPTED}


def register(cli: click.Group) -> None:
    cli.add_command(validate)
    cli.add_command(run)
    cli.add_command(report)


@click.command()
@click.argument("playbook", type=click.Path(dir_okay=False))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a value by dotted path.")
def validate(playbook: str, sets: tuple[str, ...]) -> None:
    """Check a playbook (a file, or the name of one dnslab bundles) and the topology it names; list every
    problem with file:line:col."""
    loaded = document.load(bundle.command_line(playbook, "playbook"), list(sets))
    probes = loaded.probes
    console.print(f"[green]{playbook}: ok[/] — {count(loaded.steps, 'step')}, {count(loaded.checks, 'check')}, "
                  f"probing {count(probes.resolvers, 'resolver')} from {count(probes.clients, 'client')} "
                  f"(topology {loaded.topology.name})", highlight=False)


def count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


@click.command()
@click.argument("playbook", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, help="Seed for every random choice (default: the playbook's).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a value by dotted path, e.g. --set probes.rate=20 --set steps.2.fault.params.ms=300 "
                   "(list items count from 1).")
@click.option("--out", type=click.Path(file_okay=False), help="Run directory (default runs/<time>-<playbook>/).")
@click.option("--keep/--no-keep", default=None,
              help="Keep the lab up afterwards / take it down. Default: leave it as it was before the run.")
@click.option("--name", "-n", help="Lab name (default: $DNSLAB_NAME, else the topology's name).")
@hosts_option
def run(playbook: str, seed: int | None, sets: tuple[str, ...], out: str | None, keep: bool | None,
        name: str | None) -> None:
    """Run a playbook (a file, or the name of one dnslab bundles: `dnslab list`): probe, inject faults, roll
    them back, judge the checks, write RUN_DIR."""
    from lab import run as runs  # noqa: PLC0415 - docker and matplotlib only when running

    loaded = document.load(bundle.command_line(playbook, "playbook"), list(sets), seed)  # every problem first
    lab = lab_name(name, loaded.topology.name)
    _check_hosts(loaded, lab)
    run_dir = Path(out) if out else Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{loaded.name}"
    if run_dir.exists() and any(run_dir.iterdir()):
        raise InputError(f"--out {run_dir} is not empty; give a new directory so runs do not mix their records")
    if run_dir.exists():
        run_dir.rmdir()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with console.status(f"[bold]{loaded.name}") as status:
            def progress(text: str) -> None:
                console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {text}", highlight=False)

            def update(text: str) -> None:
                status.update(text)

            result = runs.run(loaded, lab, run_dir, keep, status=update, progress=progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    from lab.report import render_terminal  # noqa: PLC0415

    render_terminal(result.report, result.run_dir, consoles.stdout())
    if result.error:
        console.print(f"[red]Error:[/] {result.error}", highlight=False, soft_wrap=True)
    sys.exit(result.exit_code)


def _check_hosts(loaded: document.Playbook, lab: str) -> None:
    """Zone faults act on a host of a lab across engines: without a hosts file (given, or the one the lab was
    started with), or naming a host it does not list, the run is refused before a lab starts (exit 2)."""
    from lab import faults, hosts, state  # noqa: PLC0415
    from lab.faults import zone  # noqa: PLC0415

    recorded = (state.load_description(lab) or {}).get("hosts")
    path = hosts.hosts_file() or (Path(recorded) if recorded else None)
    names = list(hosts.load(path)) if path else None
    problems = zone.run_problems([*loaded.setup, *loaded.steps], faults.FAULTS, names)
    if problems:
        line, message = problems[0]
        raise InputError(f"{loaded.file}:{line}: {message}")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--html", "html_only", is_flag=True,
              help="Only write RUN_DIR/report.html again, from its report.json and records (nothing re-judged).")
def report(run_dir: str, html_only: bool) -> None:
    """Judge a finished (or killed) run again from RUN_DIR and rewrite its report files."""
    from lab.report import html, render_terminal, write_all  # noqa: PLC0415

    path = Path(run_dir)
    found = records.stream_run(path)  # only its events are read here; the probes are streamed
    if html_only:
        judged = html.read_report(path)
        consoles.stdout().print(f"wrote {html.write_run(path, judged, found)}", highlight=False)
        sys.exit(VERDICT_CODES.get(judged.get("verdict"), ExitCode.OK))
    copy = path / "playbook.yml"
    if not copy.is_file():
        raise InputError(f"{copy} is missing: RUN_DIR must be a directory `dnslab run` wrote")
    try:
        name, checks = document.checks_of(copy)
    except PlaybookError as exc:
        raise InputError(f"cannot re-judge {run_dir}: {exc}") from None
    started = next((e for e in found.events if e.get("event") == "run_started"), {})
    finished = next((e for e in reversed(found.events) if e.get("event") == "run_finished"), None)
    # A run without run_finished was killed: what it recorded is judged as an interrupted run.
    interrupted = finished is None or finished.get("verdict") == "interrupted"
    verdict = "interrupted" if interrupted else "fail" if finished.get("aborted") else None
    extra = _previous_extra(path) | {"rejudged": True}
    result = write_all(path, started.get("playbook") or name, started.get("seed"), verdict, checks,
                       extra=extra, interrupted=interrupted)
    render_terminal(result, path, consoles.stdout())
    sys.exit(VERDICT_CODES[result["verdict"]])


def _previous_extra(run_dir: Path) -> dict:
    """What the run itself kept in its report (lab, seed choices, prober counts): a re-judge keeps it."""
    try:
        return dict(json.loads((run_dir / "report.json").read_text()).get("extra") or {})
    except (OSError, ValueError, AttributeError):
        return {}
