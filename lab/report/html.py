"""report.html: a run as one page people can open and share — self-contained (inline CSS and SVG, no
script, no fetch), so it opens from a mail attachment or a CI artifact without a network.

The page is a list of sections, each a jinja2 template (lab/report/templates/) and a function that picks
its data from the run (`SECTIONS`): verdict, checks, timeline, resolvers, faults, steps, events, files.
A later part of the lab adds its own (applications, server counters) by appending a `Section`; a section
whose function returns None is left out. Pure: `render_run` works on the report dict and the records;
`write_run` and `write_matrix` are the file edges `dnslab run`, `dnslab report` and `dnslab matrix` call.
Autoescaping is on: playbook names, details and event fields are data, never markup.
"""

from __future__ import annotations

import base64
import copy
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from lab import library, records
from lab.errors import InputError
from lab.playbook import overrides
from lab.records import Record
from lab.report import timeline_svg
from lab.report.marks import Marks
from lab.validation import Problems
from lab.yamlsrc import Map, YamlSyntaxError, load as load_yaml

REPORT_HTML = "report.html"
MATRIX_HTML = "matrix.html"
OUTCOME_LABELS = {"ok": "ok", "wrong": "wrong", "nodata": "NODATA", "nxdomain": "NXDOMAIN",
                  "servfail": "SERVFAIL", "timeout": "timeout", "other": "other"}  # probes.by_resolver's counts
EVENT_ROWS = 2000  # the events table shows this many; events.jsonl has them all

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("lab.report", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class RunView:
    """What the sections read: the report dict, the records, and the library header of the playbook run."""

    report: Mapping[str, Any]
    probes: Iterable[Record] | Marks  # the records, or what the timeline draws of them (lab.report.marks)
    events: list[Record]
    incident: Mapping[str, Any] | None = None  # the playbook's `library:` header, and whether it was mitigated
    files: Mapping[str, str] = field(default_factory=dict)  # label -> file name in RUN_DIR, for links

    @property
    def t0(self) -> float:
        probes = self.probes
        if isinstance(probes, Marks):  # run_start needs only the first probe's time
            probes = [{"t": t} for t in [probes.first_t()] if t is not None]
        return self.report.get("started_at") or records.run_start(probes, self.events) or 0.0

    def since(self, t: float | None) -> float | None:
        return None if t is None else round(t - self.t0, 3)


@dataclass(frozen=True)
class Section:
    id: str  # the HTML anchor
    title: str
    template: str  # under lab/report/templates/
    context: Callable[[RunView], Mapping[str, Any] | None]  # None: nothing to show


# ---- the sections -----------------------------------------------------------------------------------------


def _verdict(view: RunView) -> dict:
    report = view.report
    failed = [c["name"] for c in report["checks"] if not c["ok"]]
    extra = report.get("extra") or {}
    aborted = extra.get("aborted") or {}
    return {"report": report, "failed": failed, "incident": view.incident,
            "explanation": report.get("explanation"), "aborted": aborted.get("error") if aborted else None,
            "rollback_error": extra.get("rollback_error"), "lab": extra.get("lab")}


def _checks(view: RunView) -> dict:
    return {"checks": view.report["checks"], "partial": view.report["verdict"] == "interrupted"}


def _timeline(view: RunView) -> dict:
    # Where a failed check says when it first failed (no_regression's `first`), the picture marks it: a
    # generation going back is no colour of its own.
    marks = [(float(c["data"]["first"]["t"]), f"{c.get('check') or c['name']}: first failure")
             for c in view.report["checks"] if not c["ok"] and isinstance((c.get("data") or {}).get("first"), dict)
             and isinstance(c["data"]["first"].get("t"), (int, float))]
    probes = view.probes if isinstance(view.probes, Marks) else Marks.of(view.probes, view.events)  # once
    # Drawn as the page is written, a piece at a time (timeline_svg.svg_pieces): never held whole.
    svg = (Markup(piece) for piece in timeline_svg.svg_pieces(probes, view.events, view.t0,
                                                               view.report.get("duration_s"), marks))
    return {"svg": svg, "legend": timeline_svg.legend(probes, view.events)}


def _resolvers(view: RunView) -> dict | None:
    outcomes = view.report.get("resolvers") or {}
    figures = (view.report.get("probes") or {}).get("by_resolver") or {}
    if not outcomes and not figures:
        return None
    rows = []
    for name in sorted(set(outcomes) | set(figures)):
        outcome, counts = outcomes.get(name) or {}, figures.get(name) or {}
        total = counts.get("total") or 0
        seen = {label: counts.get(key, 0) for key, label in OUTCOME_LABELS.items() if counts.get(key)}
        rows.append({"name": name, "software": outcome.get("software"), "total": total, "outcomes": seen,
                     "ok_share": counts.get("ok", 0) / total if total else None,
                     "rcodes": outcome.get("rcodes") or {}, "ede": outcome.get("ede") or {},
                     "ad": outcome.get("ad"), "first_failure_s": outcome.get("first_failure_s"),
                     "outage_s": outcome.get("outage_s"), "recovered_s": outcome.get("recovered_s"),
                     "after_clear_s": outcome.get("after_clear_s")})
    return {"rows": rows, "dnssec": any(r["ede"] or r["ad"] for r in rows)}


def _faults(view: RunView) -> dict:
    injected = {e.get("id"): e for e in view.events if e.get("event") == "fault_injected"}
    rows = []
    for fault in view.report.get("faults") or []:
        event = injected.get(fault.get("id")) or {}
        start, end = fault.get("start_s"), fault.get("end_s")
        rows.append(fault | {"params": event.get("params") or {}, "chosen": event.get("chosen") or {},
                             "length_s": None if start is None or end is None else round(end - start, 3)})
    return {"rows": rows}


def _steps(view: RunView) -> dict | None:
    """Every step with its start and length. Setup steps (before the probes start) count from 1 as the
    steps do: a step whose number does not grow begins the next phase, so what came before was setup
    (an event's own `phase` wins when it has one)."""
    rows, open_steps = [], {}
    for event in view.events:
        if event.get("event") == "step_started":
            open_steps[event.get("index")] = event
        elif event.get("event") == "step_finished":
            begin = open_steps.pop(event.get("index"), event)
            rows.append({"index": event.get("index"), "step": event.get("step"), "phase": event.get("phase"),
                         "start_s": view.since(begin["t"]), "length_s": round(event["t"] - begin["t"], 3),
                         "ok": event.get("ok"), "error": event.get("error")})
    restarts = [i for i in range(1, len(rows)) if (rows[i]["index"] or 0) <= (rows[i - 1]["index"] or 0)]
    for i, row in enumerate(rows):
        row["phase"] = row["phase"] or ("setup" if restarts and i < restarts[-1] else "step")
    return {"rows": rows} if rows else None


def _events(view: RunView) -> dict:
    counts = Counter((str(e.get("source")), str(e.get("event"))) for e in view.events)
    rows = ({"t_s": view.since(e["t"]), "source": e.get("source"), "event": e.get("event"),
             "fields": _fields(e)} for e in view.events[:EVENT_ROWS])  # made as the table is written
    return {"counts": sorted(counts.items()), "rows": rows, "total": len(view.events),
            "shown": min(len(view.events), EVENT_ROWS),
            "truncated_lines": view.report.get("truncated_lines") or 0}


def _fields(event: Record) -> str:
    rest = {k: v for k, v in event.items() if k not in ("t", "source", "event")}
    return json.dumps(rest, ensure_ascii=False, default=str)[1:-1] if rest else ""


def _files(view: RunView) -> dict | None:
    return {"files": view.files} if view.files else None


def _apps(view: RunView) -> dict | None:
    """What applications saw (lab.report.apps): per outage, DNS back and apps back, workloads, amplification."""
    part = view.report.get("apps")
    if not part:
        return None
    return {"outages": part["outages"], "availability": part["availability"]["by_model"]}


SECTIONS: list[Section] = [
    Section("verdict", "Verdict", "verdict.html.j2", _verdict),
    Section("checks", "Checks", "checks.html.j2", _checks),
    Section("timeline", "Timeline", "timeline.html.j2", _timeline),
    Section("resolvers", "Resolvers", "resolvers.html.j2", _resolvers),
    Section("apps", "Applications", "apps.html.j2", _apps),
    Section("faults", "Faults", "faults.html.j2", _faults),
    Section("steps", "Steps", "steps.html.j2", _steps),
    Section("events", "Events", "events.html.j2", _events),
    Section("files", "Files", "files.html.j2", _files),
]


# ---- rendering --------------------------------------------------------------------------------------------


def warm() -> None:
    """Compile every template now (jinja2 keeps them): a run does it while it waits (lab.report.warm_up)."""
    for name in _ENV.list_templates():
        _ENV.get_template(name)


def render_run(view: RunView, sections: list[Section] | None = None) -> str:
    """The page of one run."""
    return "".join(_run_page(view, sections))


def _run_page(view: RunView, sections: list[Section] | None = None) -> Iterator[str]:
    """The page of one run, a piece at a time (write_run writes them as they come): each section is rendered
    as the page reaches it and let go, so a long run's page (a few MB: the timeline's bars, the events
    table) is never held, whole or in parts."""
    shown = []
    for section in SECTIONS if sections is None else sections:
        context = section.context(view)
        if context is not None:
            shown.append({"id": section.id, "title": section.title, "body": _pieces(section.template, context)})
    report = view.report
    title = f"{report['playbook']} (seed {report['seed']}): {report['verdict'].upper()}"
    return _ENV.get_template("page.html.j2").generate(title=title, sections=shown, verdict=report["verdict"])


def _pieces(template: str, context: Mapping[str, Any]) -> Iterator[Markup]:
    """The section's text as its template makes it (markup: the page does not escape it again)."""
    for piece in _ENV.get_template(template).generate(**context, fmt=_FORMATS):
        yield Markup(piece)


def incident_of(document: Any) -> dict | None:
    """The `library:` header of a run's playbook.yml (the document as run, --set options applied), with
    `mitigated_now`: whether its mitigation's --set options were in effect. None for no library playbook."""
    if not isinstance(document, Map) or "library" not in document:
        return None
    problems = Problems("playbook.yml")
    header = library.validate(problems, document["library"])
    if problems:
        return None
    try:  # setting the mitigation's options again changes nothing when the run had them
        again = overrides.apply_all(copy.deepcopy(document), header["mitigated"])
    except InputError:
        return header | {"mitigated_now": False}
    return header | {"mitigated_now": _plain(again) == _plain(document)}


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def read_report(run_dir: Path) -> dict:
    """RUN_DIR/report.json; InputError saying how to get one when it is missing or damaged."""
    try:
        return json.loads((run_dir / "report.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{run_dir / 'report.json'} cannot be read ({exc}); `dnslab report {run_dir}` "
                         "judges the run again and writes it") from None


def incident_of_run(run_dir: Path) -> dict | None:
    """incident_of the playbook.yml a run directory holds (None without one)."""
    try:
        return incident_of(load_yaml(Path(run_dir) / "playbook.yml"))
    except (YamlSyntaxError, OSError, InputError):
        return None


def write_run(run_dir: str | Path, report: Mapping[str, Any] | None = None,
              found: records.RunRecords | None = None, incident: Mapping[str, Any] | None = None,
              marks: Marks | None = None) -> Path:
    """Write RUN_DIR/report.html from the report (default: RUN_DIR/report.json) and the records (`marks`: what
    the timeline draws of the probes, when the caller kept it; else the probes are streamed from RUN_DIR)."""
    run_dir = Path(run_dir)
    report = read_report(run_dir) if report is None else report
    found = found or records.stream_run(run_dir)
    incident = incident if incident is not None else incident_of_run(run_dir)
    files = {label: name for label, name in (report.get("files") or {}).items() if name != REPORT_HTML}
    files |= {"probes": records.PROBES_FILE, "events": records.EVENTS_FILE, "playbook": "playbook.yml"}
    files = {label: name for label, name in files.items() if (run_dir / name).exists()}
    page = _run_page(RunView(report, found.probes if marks is None else marks, found.events, incident, files))
    path = run_dir / REPORT_HTML
    _write_atomically(path, page)
    return path


def render_matrix(built: Mapping[str, Any], heatmap_png: bytes | None, links: Mapping[int, str]) -> str:
    """matrix.html: the heatmap (embedded), the table with each cell's figures, a link per run to its
    report.html (`links`: row index -> relative link)."""
    image = "data:image/png;base64," + base64.b64encode(heatmap_png).decode() if heatmap_png else None
    return _ENV.get_template("matrix.html.j2").render(built=built, image=image, links=links, fmt=_FORMATS,
                                                      title="dnslab matrix")


def write_matrix(out_dir: str | Path, built: Mapping[str, Any], heatmap: str | Path | None = None) -> Path:
    """Write OUT/matrix.html next to matrix.json, linking every run directory that has a report.html."""
    out_dir = Path(out_dir)
    links = {}
    for index, row in enumerate(built["rows"]):
        page = Path(row.get("run_dir") or "") / REPORT_HTML
        if row.get("run_dir") and page.is_file():
            links[index] = _relative(page, out_dir)
    png = Path(heatmap).read_bytes() if heatmap and Path(heatmap).is_file() else None
    path = out_dir / MATRIX_HTML
    _write_atomically(path, render_matrix(built, png, links))
    return path


def _relative(path: Path, start: Path) -> str:
    try:
        return path.resolve().relative_to(start.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def _write_atomically(path: Path, text: str | Iterable[str]) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as out:
        for piece in [text] if isinstance(text, str) else text:
            out.write(piece)
    partial.replace(path)


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _counts(mapping: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{key} ×{count}" for key, count in (mapping or {}).items()) or "–"


def _availability_colour(value: float | None) -> str:
    """The cell colour of a share of ok answers (red, amber, green), as the heatmap's scale goes."""
    if value is None:
        return "#e0e0e0"
    from lab.report.heatmap import AVAILABILITY  # noqa: PLC0415 - one scale for the picture and the page
    red, green, blue, _ = AVAILABILITY(float(value))
    return f"#{int(red * 255):02x}{int(green * 255):02x}{int(blue * 255):02x}"


_FORMATS = {"seconds": _seconds, "share": _share, "counts": _counts, "colour": _availability_colour,
            "json": lambda value: json.dumps(value, ensure_ascii=False, default=str)}
