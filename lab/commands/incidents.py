"""`dnslab list` and `dnslab matrix`: the incident library, and every library playbook against every
resolver vendor.

`matrix` runs each playbook (as written, and with its mitigation's --set options) through `dnslab run` in
a lab of its own, `--jobs` at a time (labs take separate address slots), then splits each run's probes by
resolver vendor (lab.matrix) and writes OUT/matrix.json, OUT/matrix.md, OUT/heatmap.png and OUT/matrix.html
(the table, the heatmap, a link to every run's report.html), with every run's directory under OUT/runs/.
Exit 0 when every library playbook behaved as documented (as written:
exit 1, the symptom; mitigated: exit 0), 1 when one did not, 2 on invalid input, 3 when a run could not
run (its error is in the table and in OUT/runs/NAME.log).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lab import console as consoles, hosts as hosts_file, image, library, lifecycle, matrix as lab_matrix, records, runtime
from lab.errors import ExitCode, InputError
from lab.playbook import document
from lab.topology.software import software_of

console = consoles.stderr()
out = consoles.stdout()
RUN_TIMEOUT = 600  # seconds: a run that takes longer is stuck (library runs take under a minute)


def register(cli: click.Group) -> None:
    cli.add_command(list_library)
    cli.add_command(matrix)


@click.command("list")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True), default=str(library.PLAYBOOKS),
              show_default=False, help="Playbook directory (default: the shipped playbooks/).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_library(directory: str, as_json: bool) -> None:
    """The incident library: one line per playbook (incident, mechanism, symptom, mitigation)."""
    entries = library.entries(directory)
    if as_json:
        out.print_json(json.dumps([entry.__dict__ | {"mitigated": list(entry.mitigated)} for entry in entries]))
        return
    table = Table()
    table.add_column("playbook", no_wrap=True)
    for column in ("incident", "mechanism", "symptom", "mitigation"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(entry.name, f"{entry.incident} {entry.year}", entry.mechanism, entry.symptom, entry.mitigation)
    out.print(table)
    console.print(f"{len(entries)} playbooks. As written each shows its symptom (exit 1); `dnslab list --json` "
                  f"gives the --set options that switch its mitigation on (exit 0).", highlight=False)


@dataclass(frozen=True)
class Job:
    playbook: str  # name
    file: str
    variant: str
    sets: tuple[str, ...]
    vendors: dict

    @property
    def slug(self) -> str:
        return f"{self.playbook}-{self.variant}"


def plan(names: tuple[str, ...], variant: str, directory: str) -> list[Job]:
    """The runs: each playbook (library name or file) as written and/or mitigated, validated now."""
    entries = library.entries(directory)
    if not names:
        chosen = [(e.file, e) for e in entries]
    else:
        chosen = []
        for name in names:
            entry = library.find(name, directory)
            if entry is None and not Path(name).is_file():
                known = ", ".join(e.name for e in entries)
                raise InputError(f"no library playbook or file {name!r}; the library: {known}")
            chosen.append((entry.file if entry else name, entry))
    jobs = []
    for file, entry in chosen:
        variants = [v for v in lab_matrix.VARIANTS if variant in ("both", v)]
        for which in variants if entry else ["as-written"]:
            sets = tuple(entry.mitigated) if which == "mitigated" else ()
            loaded = document.load(file, list(sets))  # every problem before anything starts
            vendors = {n.name: software_of(n.role, n.software).label for n in loaded.topology.by_role("resolver")
                       if n.name in loaded.probes.resolvers}
            jobs.append(Job(loaded.name, file, which, sets, vendors))
    return jobs


def run_job(job: Job, index: int, out_dir: Path, prefix: str, env: dict | None = None) -> lab_matrix.RunOutcome:
    """One `dnslab run` in a lab of its own (PREFIX-INDEX), taken down afterwards; `env`: what the child
    needs to run on one engine of a hosts file."""
    lab = f"{prefix}-{index}"
    run_dir = out_dir / "runs" / job.slug
    log = out_dir / "runs" / f"{job.slug}.log"
    argv = [sys.executable, "-m", "lab", "run", job.file, "--name", lab, "--out", str(run_dir), "--no-keep"]
    for option in job.sets:
        argv += ["--set", option]
    started = time.monotonic()
    with open(log, "w") as sink:
        try:
            code = subprocess.run(argv, stdout=sink, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT,
                                  env={**os.environ, **(env or {})}).returncode
        except subprocess.TimeoutExpired:
            code = int(ExitCode.ENVIRONMENT)
    seconds = time.monotonic() - started
    try:
        found = records.read_run(run_dir)
        probes, events, error = found.probes, found.events, None
    except InputError:
        probes, events = [], []
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    error = None if code in (0, 1) else (tail[0] if tail else f"exit {code}")
    return lab_matrix.RunOutcome(job.playbook, job.variant, code, seconds, job.vendors, probes, events,
                                 str(run_dir), error)


@click.command()
@click.argument("playbooks", nargs=-1)
@click.option("--variant", type=click.Choice(["both", *lab_matrix.VARIANTS]), default="both", show_default=True,
              help="Run each library playbook as written, with its mitigation, or both.")
@click.option("--jobs", "-j", type=click.IntRange(1, 8), default=None,
              help="Runs (labs) at once; default: the number of CPUs, at most 4.")
@click.option("--out", type=click.Path(file_okay=False), help="Output directory (default runs/matrix-<time>/).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True), default=str(library.PLAYBOOKS),
              help="Library directory (default: the shipped playbooks/).")
@click.option("--lab-prefix", default=None, help="Name the runs' labs PREFIX-1, PREFIX-2, ... (default mx<pid>).")
@click.option("--hosts", "hosts_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Spread the runs over the Docker engines of a hosts file, each run's lab on one engine "
                   "(default: $DNSLAB_HOSTS, else the local engine); --jobs then defaults to one run per engine.")
def matrix(playbooks: tuple[str, ...], variant: str, jobs: int | None, out: str | None, directory: str,
           lab_prefix: str | None, hosts_path: str | None) -> None:
    """Run library playbooks (default: all) against every resolver vendor; write a table and a heatmap."""
    from lab.report import html  # noqa: PLC0415 - jinja2 and matplotlib only when drawing
    from lab.report.heatmap import plot_heatmap  # noqa: PLC0415

    todo = plan(playbooks, variant, directory)
    if not todo:
        raise InputError(f"no library playbooks in {directory}")
    scratch = tempfile.TemporaryDirectory(prefix="dnslab-matrix-")
    placements = _engines(hosts_file.hosts_file(hosts_path), scratch.name)  # [(host, child env)] or [(None, {})]
    jobs = jobs or (len(placements) if placements[0][0] else max(1, min(4, os.cpu_count() or 1)))
    prefix = lab_prefix or f"mx{os.getpid() % 100000}"
    out_dir = Path(out) if out else Path("runs") / f"matrix-{time.strftime('%Y%m%d-%H%M%S')}"
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"--out {out_dir} is not empty; give a new directory")
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    outcomes: list[lab_matrix.RunOutcome | None] = [None] * len(todo)
    lock = threading.Lock()
    columns = (TextColumn("[bold]matrix"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
               TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"{jobs} at a time", total=len(todo))

        def one(index: int) -> None:
            job = todo[index]
            host, env = placements[index % len(placements)]
            result = run_job(job, index + 1, out_dir, prefix, env)
            result = dataclasses.replace(result, host=host)
            outcomes[index] = result
            with lock:
                expected = lab_matrix.EXPECTED_EXIT.get(job.variant)
                mark = "[green]✓[/]" if expected is None or result.exit_code == expected else "[red]✗[/]"
                where = f" on {host}" if host else ""
                said = lab_matrix.exit_text(job.variant, result.exit_code)
                progress.console.print(f"{mark} {job.slug}{where}: exit {said} in {result.seconds:.0f}s"
                                       + (f" — {result.error}" if result.error else ""), highlight=False)
                progress.advance(task)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(one, index) for index in range(len(todo))]
            # Between finished runs the bar would sit still for a minute: say what each running one is at.
            while not all(f.done() for f in futures):
                progress.update(task, description=running_text(todo, outcomes, out_dir, jobs))
                time.sleep(1)
            progress.update(task, description="")
            for future in futures:
                future.result()
    total = time.monotonic() - started
    built = lab_matrix.build([o for o in outcomes if o is not None], total)
    (out_dir / "matrix.json").write_text(json.dumps(built, indent=2) + "\n")
    (out_dir / "matrix.md").write_text(markdown(built))
    plot_heatmap(built, out_dir / "heatmap.png", f"dnslab matrix: {len(todo)} runs, {jobs} at a time")
    html.write_matrix(out_dir, built, out_dir / "heatmap.png")
    render(built)
    console.print(f"matrix: {out_dir}/matrix.json, matrix.md, heatmap.png, matrix.html — {len(todo)} runs in "
                  f"{total:.0f}s "
                  f"({jobs} at a time)", highlight=False)
    if any(row["error"] for row in built["rows"]):
        sys.exit(ExitCode.ENVIRONMENT)
    sys.exit(ExitCode.OK if built["all_as_expected"] else ExitCode.CHECK_FAILED)


def running_text(todo: list[Job], outcomes: list, out_dir: Path, jobs: int) -> str:
    """`aws-…(as-written) step 4/10 · akamai-…(mitigated) bringing its lab up`: the runs started and not
    finished, each at the last step its events.jsonl names."""
    said = []
    for job, outcome in zip(todo, outcomes):
        events = out_dir / "runs" / job.slug / records.EVENTS_FILE
        if outcome is not None or not events.exists():
            continue
        steps = [e for e in records.read_jsonl(events)[0] if e.get("event") == "step_started"]
        said.append(f"{job.slug} " + (f"{steps[-1].get('phase') or 'step'} {steps[-1]['index']}" if steps
                                      else "bringing its lab up"))
    return " · ".join(said[:jobs]) or "starting"


def _engines(path: Path | None, scratch: str) -> list[tuple[str | None, dict]]:
    """Where the runs go: each engine of the hosts file with the environment a child needs to use it alone
    (the lab image copied to engines that lack it first), or the local engine."""
    if path is None:
        return [(None, {})]
    found = hosts_file.load(path)
    engines = runtime.engines(found)
    source = lifecycle.runtime_for()  # where the image is built: the local engine
    tag = image.ensure(source.image_source(), lambda line: console.print(line, highlight=False))
    runtime.copy_image(source.image_source(), engines, tag, lambda line: console.print(line, highlight=False),
                       also=[f"{image.REPOSITORY}:latest"])
    return [(name, runtime.child_environment(host, scratch)) for name, host in found.items()]


def render(built: dict) -> None:
    table = Table(title="availability · dominant symptom · time to detect · time to recover")
    table.add_column("playbook (variant)")
    table.add_column("exit")
    for vendor in built["vendors"]:
        table.add_column(vendor, overflow="fold")
    for row in built["rows"]:
        said = lab_matrix.exit_text(row["variant"], row["exit_code"])
        exit_text = said if row["as_expected"] else f"[red]{said}[/]"
        table.add_row(lab_matrix.row_label(row), exit_text,
                      *(_coloured(row["cells"].get(v)) for v in built["vendors"]))
    out.print(table)


def _coloured(figures: dict | None) -> str:
    text = lab_matrix.cell_text(figures)
    value = (figures or {}).get("availability")
    colour = "dim" if value is None else "green" if value >= 0.99 else "yellow" if value >= 0.9 else "red"
    return f"[{colour}]{text}[/]"


def markdown(built: dict) -> str:
    """The table as Markdown, for notes and issues."""
    head = "| playbook (variant) | exit | " + " | ".join(built["vendors"]) + " |"
    lines = [head, "|" + "---|" * (2 + len(built["vendors"]))]
    for row in built["rows"]:
        exit_text = lab_matrix.exit_text(row["variant"], row["exit_code"])
        cells = [lab_matrix.cell_text(row["cells"].get(v)) for v in built["vendors"]]
        lines.append(f"| {lab_matrix.row_label(row)} | {exit_text} | " + " | ".join(cells) + " |")
    if built.get("total_seconds") is not None:
        lines.append(f"\nTotal: {built['total_seconds']:.0f} s for {len(built['rows'])} runs.")
    return "\n".join(lines) + "\n"
