"""The timeline of a run as an inline SVG, for report.html: what each resolver answered over time, the fault
windows, the moments the playbook acted, and what the pipeline's agents said.

Drawn from what timeline.png draws (lab.report.marks: per lane, pixel column and outcome) and with its
colours, but as shapes a browser scales and explains: one bar per run of equal outcomes (its tooltip says
how many probes, which outcome, when), so ten minutes of probes are a few hundred elements, not tens of
thousands, and an hour no more than the columns hold. A lane is a client, or a question
("dynamodb.us-east-1 A") when the run asks several; problems are painted over ok answers, and every problem
bar is at least PROBLEM_MIN_PX wide, so one failed probe stays visible. Pure: text in, text out (built with
ElementTree, the bars' text escaped as it does, so every label is escaped).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np

from lab import records
from lab.records import Record
from lab.report.marks import KINDS, Lane, Marks
from lab.report.timeline import FAULT_COLOUR, OUTCOME_STYLE

WIDTH = 1100  # user units; the SVG scales to the page
RIGHT, AXIS_H, BAND_HEAD_H, LANE_H, LABEL_ROW_H = 16, 26, 16, 12, 13
FONT, CHAR_W = 11, 6.4  # px; CHAR_W is an upper bound of a character's width, to size the label column
PROBLEM_MIN_PX = 1.5
# Agent events drawn as ticks in the agents band: event -> colour (others are not drawn).
AGENT_EVENTS = {"endpoint_applied": "#9e9e9e", "plan_produced": "#cfd8dc", "cleanup_deleted": "#8c564b",
                "refused": "#d62728", "retry": "#bcbd22", "stuck": "#000000"}
# Runner events drawn as labelled vertical lines over every band: event -> (colour, label of the event).
MOMENTS = {"action_done": ("#555555", lambda e: f"action {e.get('action')}"),
           "node_lost": ("#d62728", lambda e: f"{e.get('node')} lost"),
           "role_failed": ("#d62728", lambda e: f"{e.get('node')} failed"),
           "interrupted": ("#b8860b", lambda e: "interrupted")}


@dataclass(frozen=True)
class Bar:
    kind: str
    start: float  # seconds since the run started
    end: float
    count: int


def lanes(probes: Iterable[Record] | Marks) -> dict[str, dict[str, Lane]]:
    """resolver -> lane -> its probes in time order; a lane is a client, or a question when the run asks several."""
    probes = probes if isinstance(probes, Marks) else Marks.of(probes)
    questions = sorted({(str(name), str(qtype)) for name, qtype in probes.questions})
    names = {name for name, _ in questions}
    suffix = _common_suffix(names) if len(names) > 1 else ""

    def label(asked, qtype) -> str:
        name = str(asked)
        short = name[: len(name) - len(suffix)] if suffix and name != suffix else name
        return f"{short.rstrip('.') or name} {qtype}"

    return probes.lanes(label if len(questions) > 1 else None)


def _common_suffix(names: set[str]) -> str:
    split = [n.rstrip(".").split(".") for n in names]
    common = []
    for labels in zip(*(reversed(s) for s in split)):
        if len(set(labels)) != 1:
            break
        common.append(labels[0])
    return ("." + ".".join(reversed(common)) + ".") if common else ""


def bars(lane: Lane, t0: float) -> list[Bar]:
    """The lane's probes as bars, from its columns (lab.report.marks): the probes of one outcome in a column
    last until the lane's next probes (at most two usual gaps, so a pause in probing stays blank);
    overlapping spans of one outcome merge, and ok ones across the problems between them. Ok first, problems
    after (painted over ok)."""
    first, last, kinds, counts = lane.spans()
    usual = lane.usual or 0.25
    following = np.searchsorted(first, last, side="right")  # the next column's first probe, if any
    ends = np.where(following < len(first), np.minimum(np.append(first, 0.0)[following], last + 2 * usual),
                    last + usual)
    merged: dict[int, list[list[float]]] = defaultdict(list)
    drawn_from, drawn_to = math.inf, -math.inf  # the stretch drawn without a blank up to here
    for start, end, kind, count in zip((first - t0).tolist(), (ends - t0).tolist(), kinds.tolist(), counts.tolist()):
        if start > drawn_to + 1e-6:
            drawn_from = start
        drawn_to = max(drawn_to, end)
        same = merged[kind]
        # Ok bars go on under the problems between them (painted over them): a bar per stretch, not per problem.
        if same and (start <= same[-1][1] + 1e-6 or (kind == 0 and drawn_from <= same[-1][1] + 1e-6)):
            same[-1][1] = max(same[-1][1], end)
            same[-1][2] += count
        else:
            same.append([start, end, count])
    return [Bar(KINDS[code], start, end, int(count)) for code in sorted(merged) for start, end, count in merged[code]]


def _drawn(lane_bars: list[Bar], x) -> list[tuple[Bar, float, float]]:
    """(bar, x, width) as drawn: every problem bar at least PROBLEM_MIN_PX wide, and bars of one outcome that
    overlap once drawn made one — the same painted area in fewer elements (a long run's scattered problems
    would otherwise be a bar per column)."""
    drawn: list[tuple[Bar, float, float]] = []
    for bar in lane_bars:
        left = x(bar.start)
        width = max(x(bar.end) - left, PROBLEM_MIN_PX if bar.kind not in ("ok", "slow") else 0.5)
        if drawn and drawn[-1][0].kind == bar.kind and left <= drawn[-1][1] + drawn[-1][2]:
            last, last_left, last_width = drawn[-1]
            merged = Bar(bar.kind, last.start, max(last.end, bar.end), last.count + bar.count)
            drawn[-1] = (merged, last_left, max(last_left + last_width, left + width) - last_left)
        else:
            drawn.append((bar, left, width))
    return drawn


def _tick_step(span: float) -> float:
    """A round step giving 5 to 12 ticks over `span` seconds."""
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if span / step <= 12:
            return step
    return 3600 * math.ceil(span / 3600 / 12)


def _agent_lanes(events: list[Record]) -> dict[str, list[Record]]:
    sources: dict[str, list[Record]] = defaultdict(list)
    for event in events:
        if event.get("event") in AGENT_EVENTS and event.get("source") not in (None, "runner", "prober"):
            sources[str(event["source"])].append(event)
    return dict(sorted(sources.items()))


CHECK_MARK_COLOUR = "#c62828"
_BARS = "content"  # where the root element's content goes in its text


def timeline_svg(probes: Iterable[Record] | Marks, events: list[Record], t0: float | None = None,
                 end: float | None = None, marks: Iterable[tuple[float, str]] = ()) -> str:
    """The SVG element (text) of a run's timeline; `probes` the records or their Marks, `t0` the run's start
    (Unix time), `end` its length (s), `marks` (seconds since the start, label) more moments to draw, e.g.
    where a check first failed."""
    return "".join(svg_pieces(probes, events, t0, end, marks))


def svg_pieces(probes: Iterable[Record] | Marks, events: list[Record], t0: float | None = None,
               end: float | None = None, marks: Iterable[tuple[float, str]] = ()) -> Iterator[str]:
    """timeline_svg's text a piece at a time, each element serialized as soon as it is made (report.html
    writes them as they come): a long run's bars (at most one per lane, column and outcome), fault windows
    and agent ticks are never all held, as elements (~2 KB each until serialized) or as text."""
    probes = probes if isinstance(probes, Marks) else Marks.of(probes, events)
    first, last = probes.first_t(), probes.last_t()
    t0 = records.run_start([] if first is None else [{"t": first}], events) if t0 is None else t0
    t0 = t0 or 0.0
    end = max([r["t"] - t0 for r in events] + ([] if last is None else [last - t0]) + [end or 0.0, 1.0])
    by_resolver = lanes(probes)
    agents = _agent_lanes(events)
    windows = records.fault_windows(events)
    moments = [(e["t"] - t0, MOMENTS[e["event"]][0], MOMENTS[e["event"]][1](e))
               for e in events if e.get("event") in MOMENTS]
    moments += [(at, CHECK_MARK_COLOUR, label) for at, label in marks]
    labels = [lane for by_lane in by_resolver.values() for lane in by_lane] + list(by_resolver) + list(agents)
    left = 12 + CHAR_W * max([len(label) for label in labels] + [8])
    plot_w = WIDTH - left - RIGHT
    label_rows = min(3, len(windows) + len(moments)) or 1
    top = 6 + LABEL_ROW_H * label_rows

    def x(seconds: float) -> float:
        return left + max(0.0, min(seconds, end)) / end * plot_w

    heads: list[tuple[str, float]] = []  # (band, y): a resolver's band, then the agents'
    lane_y: dict[tuple[str, str], float] = {}  # (band, lane) -> y
    y = top
    for band, band_lanes in [*by_resolver.items(), *([("agents", agents)] if agents else [])]:
        heads.append((band, y))
        y += BAND_HEAD_H
        for lane in band_lanes:
            lane_y[(band, lane)] = y
            y += LANE_H
    bottom = y + 4
    height = bottom + AXIS_H

    root = ET.Element("svg", {"xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {WIDTH} {height:.0f}",
                              "width": "100%", "role": "img", "class": "timeline",
                              "font-family": "system-ui, sans-serif", "font-size": str(FONT)})
    root.append(ET.Comment(_BARS))
    head, tail = ET.tostring(root, encoding="unicode").split(f"<!--{_BARS}-->", 1)
    yield head
    # The elements are made in `svg`, then serialized and let go (sent): the text is what the whole tree's was.
    svg = ET.Element("svg")

    def sent() -> str:
        text = "".join(ET.tostring(element, encoding="unicode") for element in svg)
        del svg[:]
        return text

    ET.SubElement(svg, "title").text = "What every resolver answered, second by second"
    ET.SubElement(svg, "rect", x=f"{left:.1f}", y=f"{top:.1f}", width=f"{plot_w:.1f}",
                  height=f"{bottom - top:.1f}", fill="#fafafa")
    first_probe = None if first is None else first - t0
    if first_probe is not None and first_probe > 1.0:  # setup: steps ran, nobody probed yet
        setup = ET.SubElement(svg, "rect", x=f"{left:.1f}", y=f"{top:.1f}", width=f"{x(first_probe) - left:.1f}",
                              height=f"{bottom - top:.1f}", fill="#eeeeee")
        ET.SubElement(setup, "title").text = f"setup: 0–{first_probe:.1f} s, before the probes started"
    _axis(svg, left, plot_w, end, top, bottom, x)
    yield sent()
    for index, window in enumerate(windows):
        start, stop = window["start"] - t0, (end if window["end"] is None else window["end"] - t0)
        shade = ET.SubElement(svg, "rect", {"x": f"{x(start):.1f}", "y": f"{top:.1f}",
                                            "width": f"{max(x(stop) - x(start), 1):.1f}",
                                            "height": f"{bottom - top:.1f}", "fill": FAULT_COLOUR,
                                            "fill-opacity": "0.12", "class": "fault"})
        cleared = "never cleared" if window["end"] is None else f"cleared at {stop:.1f} s"
        text = f"{window['kind']} → {window['target']}"
        ET.SubElement(shade, "title").text = f"{window.get('id') or text}: {text}, {start:.1f} s, {cleared}"
        ET.SubElement(svg, "line", {"x1": f"{x(start):.1f}", "x2": f"{x(start):.1f}", "y1": f"{top:.1f}",
                                    "y2": f"{bottom:.1f}", "stroke": FAULT_COLOUR, "stroke-dasharray": "4 3"})
        _label(svg, x(start), index % label_rows, text + ("" if window["end"] is not None else " (never cleared)"),
               FAULT_COLOUR, x(start) > left + 0.7 * plot_w)
        yield sent()
    for index, (at, colour, text) in enumerate(moments, start=len(windows)):
        ET.SubElement(svg, "line", {"x1": f"{x(at):.1f}", "x2": f"{x(at):.1f}", "y1": f"{top:.1f}",
                                    "y2": f"{bottom:.1f}", "stroke": colour, "stroke-dasharray": "6 2 1 2"})
        _label(svg, x(at), index % label_rows, f"{text} ({at:.1f} s)", colour, x(at) > left + 0.7 * plot_w)
        yield sent()
    for band, row_y in heads:
        ET.SubElement(svg, "line", x1="2", x2=str(WIDTH - RIGHT), y1=f"{row_y:.1f}", y2=f"{row_y:.1f}",
                      stroke="#cccccc")
        ET.SubElement(svg, "text", {"x": "4", "y": f"{row_y + 12:.1f}", "font-weight": "bold"}).text = band
    for (_, lane), row_y in lane_y.items():
        ET.SubElement(svg, "text", {"x": "14", "y": f"{row_y + 9.5:.1f}", "fill": "#444444",
                                    "font-size": "10"}).text = lane
    yield sent()
    # The probes' bars as text, not elements: an element costs ~2 KB until serialized, and a long run with
    # problems spread over it has thousands of bars (at most one per lane, column and outcome).
    for resolver, by_lane in by_resolver.items():
        for lane, lane_probes in by_lane.items():
            row_y = lane_y[(resolver, lane)]
            for bar, left_x, width in _drawn(bars(lane_probes, t0), x):  # a bar a piece: a lane's text would
                yield _bar_text(resolver, lane, row_y, bar, left_x, width)  # be copied as the page escapes it
    for source, source_events in agents.items():
        row_y = lane_y[("agents", source)]
        for event in source_events:
            at = event["t"] - t0
            major = event["event"] in ("refused", "stuck", "cleanup_deleted")
            tick = ET.SubElement(svg, "rect", {"x": f"{x(at) - (1 if major else 0.5):.2f}", "y": f"{row_y + 1:.1f}",
                                               "width": "2" if major else "1", "height": f"{LANE_H - 2}",
                                               "fill": AGENT_EVENTS[event["event"]],
                                               "class": f"agent {event['event']}"})
            ET.SubElement(tick, "title").text = f"{source}: {_event_text(event)} at {at:.1f} s"
            yield sent()
    yield tail


def _bar_text(resolver: str, lane: str, row_y: float, bar: Bar, left_x: float, width: float) -> str:
    colour, label = OUTCOME_STYLE[bar.kind]
    title = escape(f"{resolver} · {lane}: {label} ×{bar.count}, {bar.start:.1f}–{bar.end:.1f} s")
    return (f'<rect x="{left_x:.2f}" y="{row_y + 1:.1f}" width="{width:.2f}" height="{LANE_H - 2}" '
            f'fill="{colour}" class="probe {bar.kind}"><title>{title}</title></rect>')


def _axis(svg: ET.Element, left: float, plot_w: float, end: float, top: float, bottom: float, x) -> None:
    step = _tick_step(end)
    ET.SubElement(svg, "line", x1=f"{left:.1f}", x2=f"{left + plot_w:.1f}", y1=f"{bottom:.1f}",
                  y2=f"{bottom:.1f}", stroke="#888888")
    tick = 0.0
    while tick <= end + 1e-9:
        ET.SubElement(svg, "line", x1=f"{x(tick):.1f}", x2=f"{x(tick):.1f}", y1=f"{top:.1f}",
                      y2=f"{bottom + 3:.1f}", stroke="#e0e0e0")
        ET.SubElement(svg, "text", {"x": f"{x(tick):.1f}", "y": f"{bottom + 14:.1f}", "text-anchor": "middle",
                                    "fill": "#555555", "font-size": "10"}).text = f"{tick:g}"
        tick += step
    ET.SubElement(svg, "text", {"x": f"{left + plot_w:.1f}", "y": f"{bottom + 25:.1f}", "text-anchor": "end",
                                "fill": "#555555", "font-size": "10"}).text = "seconds since the run started"


def _label(svg: ET.Element, at: float, row: int, text: str, colour: str, right_aligned: bool) -> None:
    ET.SubElement(svg, "text", {"x": f"{at + (-3 if right_aligned else 3):.1f}",
                                "y": f"{4 + LABEL_ROW_H * (row + 1) - 3:.1f}", "fill": colour, "font-size": "10",
                                "text-anchor": "end" if right_aligned else "start"}).text = text


def _event_text(event: Record) -> str:
    fields = {k: v for k, v in event.items() if k not in ("t", "source", "event")}
    details = ", ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, [], {}))
    return f"{event['event']} {details}".strip()


def legend(probes: Iterable[Record] | Marks, events: list[Record]) -> list[tuple[str, str, int]]:
    """(colour, label, count) of every outcome and agent event the picture shows, zero counts left out."""
    counts = (probes if isinstance(probes, Marks) else Marks.of(probes, events)).kind_counts()
    shown = [(colour, label, counts[kind]) for kind, (colour, label) in OUTCOME_STYLE.items() if counts[kind]]
    agent_counts = Counter(e["event"] for source in _agent_lanes(events).values() for e in source)
    shown += [(colour, name.replace("_", " "), agent_counts[name]) for name, colour in AGENT_EVENTS.items()
              if agent_counts[name]]
    return shown
