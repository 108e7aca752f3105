"""The timeline's lanes for what applications saw (docs/apps.md), drawn below the resolvers' bands on the same
time axis: one lane per app (its model in the label), a mark per attempt coloured by how it ended, and one lane
per workload whose fill is the share of its leases alive. lab.report.timeline calls `height_in` and `draw`.
"""

from __future__ import annotations

from collections import Counter

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lab import appfigures as figures
from lab import records
from lab.records import Record

GAP_IN, APP_LANE_IN = 0.45, 0.3
FAULT_COLOUR = "#1f77b4"
# attempt outcome -> (colour, legend label), drawn in this order (problems on top)
ATTEMPT_STYLE = {  # labels short: the legend sits in the right margin
    "ok": ("#2ca02c", "ok"),
    "cached": ("#98df8a", "ok, cached"),
    "request": ("#d62728", "request failed"),
    "empty": ("#ff7f0e", "NODATA/NXDOMAIN"),
    "servfail": ("#9467bd", "SERVFAIL"),
    "timeout": ("#000000", "DNS timeout"),
    "other": ("#9e9e9e", "other error"),
}
LEASES_COLOUR = "#17becf"


def lanes(apps: list[Record]) -> dict[str, list[Record]]:
    """lane label -> its records: apps (attempts) first, then workloads (lease reports)."""
    found: dict[str, list[Record]] = {}
    for app, group in figures.by(figures.attempts(apps), "app").items():
        model = group[0].get("model") or "?"
        found[app if model in app else f"{app}\n{model}"] = group
    for name, group in figures.by(figures.lease_reports(apps), "workload").items():
        found[f"{name}\nleases"] = group
    return found


def height_in(apps: list[Record]) -> float:
    """The inches the app lanes add to the figure (0: nothing to draw)."""
    count = len(lanes(apps))
    return GAP_IN + APP_LANE_IN * count if count else 0.0


def kind(attempt: Record) -> str:
    if figures.succeeded(attempt):
        return "cached" if attempt.get("source") in ("cache", "stale") else "ok"
    if attempt.get("resolution") == "ok":
        return "request"
    return {"nxdomain": "empty", "nodata": "empty", "servfail": "servfail", "timeout": "timeout"}.get(
        attempt.get("resolution"), "other")


def draw(figure: Figure, main: Axes, apps: list[Record], events: list[Record], t0: float,
         bottom: float, height: float) -> Axes | None:
    """The app lanes in a new axes from `bottom` (figure fraction), `height` high, sharing `main`'s x axis;
    the x label moves down to them."""
    found = lanes(apps)
    if not found:
        return None
    box = main.get_position()
    gap = GAP_IN / (GAP_IN + APP_LANE_IN * len(found)) * height
    axes = figure.add_axes((box.x0, bottom, box.width, height - gap), sharex=main)
    axes.set_xlabel(main.get_xlabel())
    main.set_xlabel("")
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    x_end = main.get_xlim()[1]
    for window in records.fault_windows(events):
        end = x_end if window["end"] is None else window["end"] - t0
        axes.axvspan(window["start"] - t0, end, color=FAULT_COLOUR, alpha=0.12, zorder=0, linewidth=0)
    for e in events:
        if e.get("event") == "action_done":
            axes.axvline(e["t"] - t0, color="#555555", linewidth=0.8, linestyle="-.", zorder=1)
    marks: dict[str, tuple[list, list, list]] = {k: ([], [], []) for k in ATTEMPT_STYLE}
    counts: Counter = Counter()
    for index, group in enumerate(found.values()):
        if group and group[0].get("kind") == "leases":
            xs = [r["t"] - t0 for r in group]
            shares = [r["leases"].get("active", 0) / max(1, sum(r["leases"].values())) for r in group]
            axes.fill_between(xs, [index + 0.4] * len(xs), [index + 0.4 - 0.8 * s for s in shares],
                              step="post", color=LEASES_COLOUR, linewidth=0, zorder=2)
            continue
        for attempt in group:
            k = kind(attempt)
            counts[k] += 1
            xs, lows, highs = marks[k]
            xs.append(attempt["t"] - t0)
            lows.append(index - 0.4)
            highs.append(index + 0.4)
    for k, (xs, lows, highs) in marks.items():
        if xs:
            axes.vlines(xs, lows, highs, colors=ATTEMPT_STYLE[k][0], linewidth=1.0 if k == "ok" else 1.6, zorder=2)
    axes.set_yticks(range(len(found)), list(found), fontsize=7)
    axes.set_ylim(len(found) - 0.5, -0.5)
    handles = [Patch(color=colour, label=f"{label} ({counts[k]})") for k, (colour, label) in ATTEMPT_STYLE.items()
               if counts[k]]
    if any(g and g[0].get("kind") == "leases" for g in found.values()):
        handles.append(Patch(color=LEASES_COLOUR, label="leases alive"))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False, fontsize=7,
                borderaxespad=0)
    return axes
