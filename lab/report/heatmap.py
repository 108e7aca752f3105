"""The matrix as a picture: one row per playbook run, one column per resolver vendor, coloured by the share
of ok answers its clients got, each cell saying the dominant symptom and the times to detect and recover.
Drawn with the Agg canvas directly (no pyplot), like the timeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from lab.matrix import exit_text, row_label

# red (nothing answered) through amber to green (everything answered)
AVAILABILITY = LinearSegmentedColormap.from_list("availability", ["#c62828", "#f9a825", "#2e7d32"])
MISSING = "#bdbdbd"
TITLE_IN, HEADER_IN, BOTTOM_IN, SCALE_IN = 0.45, 0.45, 0.6, 1.1  # inches: title, vendor names, caption, scale


def _cell_lines(figures: Mapping[str, Any] | None) -> str:
    if not figures or figures.get("availability") is None:
        return "no probes"
    lines = [f"{figures['availability']:.0%}"]
    if figures.get("symptom"):
        lines.append(figures["symptom"])
        detect, recover = figures.get("detect_s"), figures.get("recover_s")
        lines.append(f"detect {'—' if detect is None else f'{detect:.1f}s'}")
        lines.append("not recovered" if recover is None else f"recover {recover:.1f}s")
    return "\n".join(lines)


def plot_heatmap(matrix: Mapping[str, Any], path: str | Path, title: str = "") -> Path:
    """Write the heatmap PNG of a matrix (lab.matrix.build) to `path`."""
    vendors, rows = list(matrix["vendors"]), list(matrix["rows"])
    width = 3.0 + 2.3 * max(1, len(vendors)) + SCALE_IN
    height = 1.6 + 0.95 * max(1, len(rows)) + (TITLE_IN if title else 0)
    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    # In inches, so the title, the vendors' names above the cells and the caption never overlap.
    top = (HEADER_IN + (TITLE_IN if title else 0)) / height
    left, right = 2.9 / width, (SCALE_IN + 0.15) / width
    axes = figure.add_axes((left, BOTTOM_IN / height, 1 - left - right, 1 - top - BOTTOM_IN / height))
    axes.set_xlim(0, len(vendors))
    axes.set_ylim(len(rows), 0)
    for y, row in enumerate(rows):
        for x, vendor in enumerate(vendors):
            figures = row["cells"].get(vendor)
            value = None if not figures else figures.get("availability")
            colour = MISSING if value is None else AVAILABILITY(value)
            axes.add_patch(_rect(x, y, colour))
            text_colour = "white" if value is not None and value < 0.3 else "black"
            axes.text(x + 0.5, y + 0.5, _cell_lines(figures), ha="center", va="center", fontsize=7.5,
                      color=text_colour, linespacing=1.15)
    axes.set_xticks([x + 0.5 for x in range(len(vendors))], vendors, fontsize=9)
    axes.xaxis.tick_top()
    labels = [f"{row_label(row)}\nexit {exit_text(row['variant'], row['exit_code'])}" for row in rows]
    axes.set_yticks([y + 0.5 for y in range(len(rows))], labels, fontsize=8)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    scale = figure.add_axes((1 - (SCALE_IN - 0.25) / width, BOTTOM_IN / height, 0.18 / width,
                             1 - top - BOTTOM_IN / height))
    figure.colorbar(ScalarMappable(Normalize(0, 1), AVAILABILITY), cax=scale, format=PercentFormatter(1.0),
                    label="share of ok answers")
    caption = "colour: share of ok answers · symptom: most common failure · detect: first change → first " \
              "failure\nrecover: the fix (a clear, or an action such as repair) → failures over"
    if matrix.get("total_seconds") is not None:
        caption += f" · total {matrix['total_seconds']:.0f} s"
    figure.text(0.5, 0.1 / height, caption, ha="center", va="bottom", fontsize=7, color="#555555")
    if title:
        figure.suptitle(title, fontsize=11, y=1 - 0.12 / height, va="top")
    path = Path(path)
    figure.savefig(path)
    return path


def _rect(x: float, y: float, colour: Any):
    from matplotlib.patches import Rectangle  # noqa: PLC0415 - with the rest of matplotlib, on demand

    return Rectangle((x + 0.03, y + 0.04), 0.94, 0.92, facecolor=colour, edgecolor="white")
