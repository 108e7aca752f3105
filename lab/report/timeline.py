"""A picture of a run: what each resolver answered over time, with the fault windows shaded.

One band per resolver (one lane per client inside it, or per question when a run asks several), x = seconds
since the run started, thin vertical marks coloured by outcome: one per lane, pixel column and outcome
(lab.report.marks), as wide as that column's probes' marks would be together, so the picture of an hour costs
what the picture of a minute does. Marks are drawn ok first, problems on top, so a single failed probe stays
visible among an hour of green. Drawn with the Agg canvas directly: no pyplot, no global backend, no window.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Annotation
from matplotlib.transforms import IdentityTransform

import numpy as np

from lab import records
from lab.report import timeline_apps
from lab.report.marks import KINDS, SLOW_MS, Lane, Marks
from lab.records import Record

# outcome -> (colour, legend label); ordered as drawn, so problems paint over ok.
OUTCOME_STYLE = {
    "ok": ("#2ca02c", "ok"),
    "slow": ("#bcbd22", f"slow ok (>{SLOW_MS:g} ms)"),
    "wrong": ("#e377c2", "wrong (not what the authority held)"),
    "other": ("#9e9e9e", "other error"),
    "empty": ("#ff7f0e", "empty (NODATA)"),
    "nxdomain": ("#d62728", "NXDOMAIN"),
    "servfail": ("#9467bd", "SERVFAIL"),
    "timeout": ("#000000", "timeout"),
}
FAULT_COLOUR = "#1f77b4"
CHECK_COLOUR = "#c62828"  # a failed check's first failure
REFUSED_COLOUR = "#6a1b9a"
REFUSED_EVENTS = ("refused", "change_refused", "capacity_guard", "rollout_halted")  # safeguards at work
LABEL_CHARS = 22  # of a lane label's name, in the right margin (RIGHT_IN)
LANE_FILL = 0.8  # share of a resolver's band its client lanes use; the rest separates bands
LABEL_ROWS = 3  # fault labels are staggered over this many rows so neighbours do not overlap
# Probe marks in points: thin enough to separate probes, never so thin that one failed probe disappears.
MARK_MIN_PT, MARK_MAX_PT, PROBLEM_MIN_PT = 0.6, 2.5, 1.6

# Figure geometry in inches: fixed margins plus a band per resolver.
WIDTH_IN, LEFT_IN, RIGHT_IN, TOP_IN, BOTTOM_IN = 14.0, 1.4, 1.9, 1.0, 1.15
BAND_IN, LANE_IN = 0.55, 0.25


def plot_timeline(probes: Iterable[Record] | Marks, events: list[Record], path: str | Path, title: str,
                  marks: list[tuple[float, str]] = (), apps: list[Record] = ()) -> None:
    """Draw the timeline of a run into PATH (PNG); with no probes the chart says so. `probes`: the records, or
    their Marks (lab.report.marks: what a report's pass over them kept). `marks`: (Unix time, label) of moments
    no colour shows, e.g. a failed check's first failure (check_marks). `apps`: app attempts and workload
    reports, drawn in lanes of their own below (lab.report.timeline_apps)."""
    probes = probes if isinstance(probes, Marks) else Marks.of(probes, events)
    first = probes.first_t()
    t0 = records.run_start([] if first is None else [{"t": first}], events) or 0.0
    lanes = _lanes(probes)
    band_heights = [max(BAND_IN, LANE_IN * len(clients)) for clients in lanes.values()] or [BAND_IN * 2]
    apps_in = timeline_apps.height_in(list(apps))
    height = TOP_IN + BOTTOM_IN + sum(band_heights) + apps_in
    figure = Figure(figsize=(WIDTH_IN, height), dpi=100)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(left=LEFT_IN / WIDTH_IN, right=1 - RIGHT_IN / WIDTH_IN,
                           top=1 - TOP_IN / height, bottom=(BOTTOM_IN + apps_in) / height)
    axes = figure.add_subplot()
    last = probes.last_t()
    end = max([record["t"] - t0 for record in events] + ([] if last is None else [last - t0]), default=0.0)
    axes.set_xlim(0, max(end, 1.0) * 1.01)
    axes.set_xlabel("seconds since the run started")
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    # "playbook (seed N): VERDICT — what happened; what to try": the headline on a line of its own.
    head, _, said = title.partition(": ")
    figure.suptitle(head + ("\n" + textwrap.shorten(said, 170, placeholder="…") if said else ""),
                    x=LEFT_IN / WIDTH_IN, y=1 - 0.08 / height, ha="left", va="top", fontsize=11, linespacing=1.4)

    _draw_setup(axes, events, t0)
    _draw_faults(axes, records.fault_windows(events), t0, axes.get_xlim()[1])
    _draw_markers(axes, events, t0)
    _draw_check_marks(axes, marks, t0)
    if lanes:
        _draw_probes(axes, lanes, t0, _mark_width(probes, len(probes.questions) > 1, axes.get_xlim()[1]))
    else:
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no probes recorded", transform=axes.transAxes, ha="center", va="center",
                  fontsize=14, color="#666666")
    _draw_legend(figure, probes, events)
    timeline_apps.draw(figure, axes, list(apps), events, t0, BOTTOM_IN / height, apps_in / height)
    figure.savefig(path, format="png")


def warm() -> None:
    """Draw a tiny figure with text into memory: matplotlib loads its fonts and PIL its PNG writer, so the
    run's own plot pays only for drawing (lab.report.warm_up)."""
    figure = Figure(figsize=(1, 1), dpi=10)
    FigureCanvasAgg(figure)
    figure.add_subplot().set_title("warm")
    figure.savefig(io.BytesIO(), format="png")


def check_marks(report: Mapping[str, Any]) -> list[tuple[float, str]]:
    """(Unix time, label) where a failed check says when it first failed (no_regression's `first`): a
    generation going back is an ok answer, no colour of its own."""
    t0 = report.get("started_at") or 0.0
    marks = []
    for check in report.get("checks") or []:
        first = (check.get("data") or {}).get("first")
        if check["ok"] or not isinstance(first, dict) or not isinstance(first.get("t"), (int, float)):
            continue
        count = (check.get("data") or {}).get("regressions")
        marks.append((t0 + float(first["t"]), f"{check.get('check') or check['name']} failed here"
                      + (f" ({count} answers went back a generation)" if count else "")))
    return marks


def _lanes(probes: Marks) -> dict[str, dict[str, Lane]]:
    """resolver -> lane -> its probes in time order. A lane is a client, or — when the run asks several names
    or types — a question ("dynamodb.us-east-1 A"), with every client in it: one empty name among healthy
    ones must show as a solid run, not as every fourth mark."""
    questions = set(probes.questions)
    label = lambda name, qtype: _question({"name": name, "type": qtype}, questions)  # noqa: E731
    return probes.lanes(label if len(questions) > 1 else None)


def _question(probe: Record, questions: set) -> str:
    """A short lane label: the name without the suffix all asked names share, and the type."""
    names = {str(name) for name, _ in questions}
    suffix = _common_suffix(names) if len(names) > 1 else ""
    name = str(probe.get("name"))
    short = (name[: len(name) - len(suffix)] if suffix and name != suffix else name).rstrip(".") or name
    if len(short) > LABEL_CHARS:  # the margin holds LABEL_CHARS: keep both ends, so A and TXT rows differ
        short = short[:6] + "…" + short[-(LABEL_CHARS - 7):]
    return f"{short} {probe.get('type')}"


def _common_suffix(names: set[str]) -> str:
    """The longest run of whole trailing labels every name shares (with its leading dot)."""
    split = [n.rstrip(".").split(".") for n in names]
    common = []
    for labels in zip(*(reversed(s) for s in split)):
        if len(set(labels)) != 1:
            break
        common.append(labels[0])
    return ("." + ".".join(reversed(common)) + ".") if common else ""


def _mark_width(probes: Marks, by_question: bool, x_end: float) -> float:
    """Line width (points) that makes a lane's back-to-back probes touch: a solid band, not stripes."""
    gap = probes.median_gap(by_question)
    if gap is None:
        return MARK_MAX_PT
    axes_width_pt = (WIDTH_IN - LEFT_IN - RIGHT_IN) * 72
    return float(min(MARK_MAX_PT, max(MARK_MIN_PT, gap / x_end * axes_width_pt)))


def _draw_probes(axes: Axes, lanes: dict[str, dict[str, Lane]], t0: float, mark_width: float) -> None:
    """A mark per lane, column (a pixel wide) and outcome, as wide as the marks of its first and last probe
    would have been together: what one mark per probe painted, in marks that do not grow with the run."""
    pieces: dict[int, list[tuple[np.ndarray, np.ndarray, float, float]]] = {code: [] for code in range(len(KINDS))}
    many_clients = any(len(clients) > 1 for clients in lanes.values())
    pt_per_s = (WIDTH_IN - LEFT_IN - RIGHT_IN) * 72 / axes.get_xlim()[1]
    for band, clients in enumerate(lanes.values()):
        lane_height = LANE_FILL / len(clients)
        for index, (client, lane) in enumerate(clients.items()):
            bottom = band - LANE_FILL / 2 + index * lane_height
            if many_clients:
                axes.text(1.004, bottom + lane_height / 2, client, transform=axes.get_yaxis_transform(),
                          va="center", fontsize=7, color="#555555")
            for code, column in lane.columns.items():
                held = np.flatnonzero(column.count)
                first, last = column.first[held].astype(np.float64), column.last[held].astype(np.float64)
                middle = (first + last) / 2 + (lane.start - t0)
                # A hair of space between lanes keeps clients apart.
                pieces[code].append((middle, (last - first) * pt_per_s, bottom + lane_height * 0.06,
                                     bottom + lane_height * 0.94))
        if band:
            axes.axhline(band - 0.5, color="#bbbbbb", linewidth=0.6)
    for code, found in pieces.items():
        if any(len(xs) for xs, _, _, _ in found):
            kind = KINDS[code]
            width = mark_width if kind == "ok" else max(mark_width, PROBLEM_MIN_PT)
            axes.add_artist(_Marks(found, OUTCOME_STYLE[kind][0], width))
    axes.set_yticks(range(len(lanes)), list(lanes))
    axes.set_ylim(len(lanes) - 0.5, -0.5)  # first resolver on top


class _Marks(Artist):
    """One outcome's marks, as Axes.vlines draws them but a chunk at a time: a collection keeps a Path per
    segment (about 300 bytes a mark), so a run with many lanes would cost more than its marks do. Agg draws a
    collection's paths one after the other, so the pixels are the same. `pieces`: (x of each mark, its width
    beyond `width` in points, bottom, top) per lane, in drawing order."""

    CHUNK = 1000

    def __init__(self, pieces: list[tuple[np.ndarray, np.ndarray, float, float]], colour: str, width: float):
        super().__init__()
        self.pieces, self.colour, self.width = pieces, colour, width
        self.set_zorder(2)

    def draw(self, renderer) -> None:
        for verts, widths in self._chunks():
            lines = LineCollection(verts, colors=self.colour)
            lines.set_figure(self.get_figure(root=False))  # what Axes.add_collection gives it
            lines.axes = self.axes
            lines.set_transform(self.axes.transData)
            lines.set_clip_path(self.axes.patch)
            lines.set_linewidth(self.width + widths)
            lines.set_snap(False)
            lines.draw(renderer)

    def _chunks(self):
        """The segments and their extra widths, CHUNK at a time as vlines builds them — never a chunk of one
        (a collection of one path is drawn another way) unless there is only one."""
        count = sum(len(xs) for xs, _, _, _ in self.pieces)
        size = self.CHUNK + 1 if count % self.CHUNK == 1 and count > 1 else self.CHUNK  # the last one: 0 or ≥ 2
        verts, widths, filled = np.ma.empty((min(size, count), 2, 2)), np.empty(min(size, count)), 0
        for xs, extra, low, high in self.pieces:
            done = 0
            while done < len(xs):
                take = min(len(verts) - filled, len(xs) - done)
                part = verts[filled:filled + take]
                part[:, 0, 0] = part[:, 1, 0] = xs[done:done + take]
                part[:, 0, 1], part[:, 1, 1] = low, high
                widths[filled:filled + take] = extra[done:done + take]
                filled, done, count = filled + take, done + take, count - take
                if filled == len(verts):
                    yield verts, widths
                    verts, widths, filled = np.ma.empty((min(size, count), 2, 2)), np.empty(min(size, count)), 0


MARKER_COLOUR = "#555555"


def _draw_markers(axes: Axes, events: list[Record], t0: float) -> None:
    """Moments worth seeing next to the answers: actions the playbook ran (a repair, an update) and the
    first time an agent said it is stuck."""
    marks = [(e["t"] - t0, f"action {e.get('action')}") for e in events if e.get("event") == "action_done"]
    first_stuck = {}
    for event in events:
        if event.get("event") == "stuck":
            first_stuck.setdefault(event.get("source"), event)
    if first_stuck:  # agents get stuck together: one label, at the first
        marks.append((min(e["t"] for e in first_stuck.values()) - t0, f"stuck: {', '.join(map(str, first_stuck))}"))
    refused = [e["t"] - t0 for e in events if e.get("event") in REFUSED_EVENTS]
    if refused:  # a safeguard at work: a tick on the bottom edge per refusal (the top one holds fault labels)
        axes.plot(refused, [0.0] * len(refused), linestyle="none", marker="v", markersize=5, color=REFUSED_COLOUR,
                  transform=axes.get_xaxis_transform(), clip_on=False, zorder=4)
    for event in events:
        if event.get("event") == "interrupted":
            axes.axvline(event["t"] - t0, color="#c62828", linewidth=1.4, zorder=3)
            axes.annotate("Ctrl-C: interrupted, rolled back", xy=(event["t"] - t0, 0.5),
                          xycoords=("data", "axes fraction"), xytext=(3, 0), textcoords="offset points",
                          fontsize=8, color="#c62828", rotation=90, va="center")
    for x, label in marks:
        axes.axvline(x, color=MARKER_COLOUR, linewidth=0.8, linestyle="-.", zorder=1)
        axes.annotate(label, xy=(x, 0.0), xycoords=("data", "axes fraction"), xytext=(2, 3),
                      textcoords="offset points", fontsize=7, color=MARKER_COLOUR, va="bottom", zorder=3,
                      bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})


def _draw_setup(axes: Axes, events: list[Record], t0: float) -> None:
    """The playbook's setup steps (a pipeline reset...): done before the probers start, so no marks there."""
    setup = [e for e in events if e.get("phase") == "setup" and e.get("event") in ("step_started", "step_finished")]
    if not setup:
        return
    start, end = min(e["t"] for e in setup) - t0, max(e["t"] for e in setup) - t0
    axes.axvspan(start, end, color="#9e9e9e", alpha=0.12, zorder=0, linewidth=0)
    steps = ", ".join(dict.fromkeys(str(e.get("step")) for e in setup))
    axes.annotate(f"setup: {steps} (no probes yet)", xy=((start + end) / 2, 0.5), xycoords=("data", "axes fraction"),
                  ha="center", va="center", rotation=90, fontsize=8, color="#616161")


def _draw_check_marks(axes: Axes, marks: list[tuple[float, str]], t0: float) -> None:
    for index, (t, label) in enumerate(marks):
        axes.axvline(t - t0, color=CHECK_COLOUR, linewidth=1.2, linestyle="--", zorder=3)
        axes.annotate(label, xy=(t - t0, 0.0), xycoords=("data", "axes fraction"), xytext=(3, 14 + 11 * index),
                      textcoords="offset points", fontsize=8, color=CHECK_COLOUR, zorder=4,
                      bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})


def _draw_faults(axes: Axes, windows: list[Record], t0: float, x_end: float) -> None:
    """Each window shaded, a dashed line where it starts and a dotted one where it ends, and its label. The
    shades and lines as one collection each, as axvspan and axvline draw them: an artist each costs ~10 KB, and
    a long run has a window every few minutes."""
    spans, starts, ends = [], [], []
    for window in windows:
        start = window["start"] - t0
        end = x_end if window["end"] is None else window["end"] - t0
        spans.append(((start, 0), (start, 1), (end, 1), (end, 0)))
        starts.append(((start, 0), (start, 1)))
        if window["end"] is not None:
            ends.append(((end, 0), (end, 1)))
    across = axes.get_xaxis_transform()  # x in data, y from the bottom (0) to the top (1) of the axes
    axes.add_collection(PolyCollection(spans, facecolors=FAULT_COLOUR, edgecolors=FAULT_COLOUR, alpha=0.12,
                                       linewidths=0, zorder=0, transform=across), autolim=False)
    for lines, style in ((starts, "--"), (ends, ":")):
        axes.add_collection(LineCollection(lines, colors=FAULT_COLOUR, linewidths=0.8, linestyles=style, zorder=1,
                                           transform=across), autolim=False)
    labels = []
    for index, window in enumerate(windows):
        start = window["start"] - t0
        end = x_end if window["end"] is None else window["end"] - t0
        label = f"{window['kind']} → {window['target']}" + (" (never cleared)" if window["end"] is None else "")
        # Near the right edge a label would run off the figure: end it at the window's end instead.
        right_aligned = start > 0.7 * x_end
        labels.append((label, end if right_aligned else start, -2 if right_aligned else 2,
                       4 + 13 * (index % LABEL_ROWS), "right" if right_aligned else "left"))
    axes.add_artist(_Labels(labels))


class _Labels(Artist):
    """The fault windows' labels, as Axes.annotate draws them but each made only while it is drawn: an
    annotation costs ~6 KB as an artist, and a long run has a window every few minutes. `labels`: (text, x in
    data, x and y offsets in points, alignment) in drawing order; the same zorder as annotate's."""

    def __init__(self, labels: list[tuple[str, float, float, float, str]]):
        super().__init__()
        self.labels = labels
        self.set_zorder(Annotation.zorder)

    def draw(self, renderer) -> None:
        for text, x, dx, dy, align in self.labels:
            label = Annotation(text, (x, 1.0), xytext=(dx, dy), xycoords=("data", "axes fraction"),
                               textcoords="offset points", ha=align, fontsize=8, color=FAULT_COLOUR,
                               annotation_clip=False)
            label.set_transform(IdentityTransform())  # what Axes.annotate and Axes._add_text give it
            label.set_figure(self.get_figure(root=False))
            label.axes = self.axes
            label.draw(renderer)


def _draw_legend(figure: Figure, probes: Marks, events: list[Record] = ()) -> None:
    counts = probes.kind_counts()
    handles = [  # only what the picture holds: an outcome no probe had is no legend entry
        Patch(color=colour, label=f"{label} ({counts[kind]})") for kind, (colour, label) in OUTCOME_STYLE.items()
        if counts[kind]
    ]
    handles.append(Patch(color=FAULT_COLOUR, alpha=0.25, label="fault window"))
    refused = sum(1 for e in events if e.get("event") in REFUSED_EVENTS)
    if refused:
        handles.append(Line2D([], [], linestyle="none", marker="v", color=REFUSED_COLOUR,
                              label=f"write or change refused ({refused})"))
    # Two rows: one row of nine entries is wider than the figure.
    figure.legend(handles=handles, loc="lower center", ncol=(len(handles) + 1) // 2, frameon=False, fontsize=9,
                  bbox_to_anchor=(0.5, 0.0))
