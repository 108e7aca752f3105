"""The wrap-up streams over the records: the same report as before, in memory that does not grow with the run.

tests/unit/data/wrapup_golden.json is what the wrap-up wrote for tests.support.synthetic's records before it
streamed (main at 952754a, judging and drawing lists of every probe) — its report.json and junit.xml; the
pictures (timeline.png's pixels, report.html's SVG) are those of the timelines drawn from per-column marks
(lab.report.marks, since issue 16's flat wrap-up). `python -m tests.unit.test_wrapup_stream FILE` writes it
again from the code as it is now.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import matplotlib.image
import pytest

from lab import report as lab_report
from tests.support import synthetic

GOLDEN = Path(__file__).parent / "data" / "wrapup_golden.json"


def wrap_up_output(run_dir: Path, count: int) -> dict:
    synthetic.write_run(run_dir, count)
    report = lab_report.write_all(run_dir, "synthetic", 1, None, synthetic.CHECK_SPECS, extra={"run_dir": "RUN"})
    pixels = matplotlib.image.imread(run_dir / "timeline.png")
    return {"count": count, "report": report, "html": (run_dir / "report.html").read_text(),
            "junit": (run_dir / "junit.xml").read_text(),
            "timeline_pixels": hashlib.sha256(pixels.tobytes()).hexdigest()}


@pytest.mark.parametrize("chunk", [20_000, 997, 2])
def test_the_streamed_wrap_up_writes_what_the_wrap_up_over_lists_wrote(tmp_path: Path, monkeypatch, chunk) -> None:
    from lab.report import timeline

    monkeypatch.setattr(timeline._Marks, "CHUNK", chunk)  # the marks drawn in chunks (of 2: some of 3), same pixels
    golden = json.loads(GOLDEN.read_text())
    found = json.loads(json.dumps(wrap_up_output(tmp_path, golden["count"]), sort_keys=True))
    assert found["report"]["checks"] == golden["report"]["checks"]
    assert found["report"] == golden["report"]
    assert found["junit"] == golden["junit"]
    assert found["html"] == golden["html"]
    assert found["timeline_pixels"] == golden["timeline_pixels"]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        Path(sys.argv[1]).write_text(json.dumps(wrap_up_output(Path(tmp), 12000), indent=1, sort_keys=True) + "\n")


def _wrap_up_peak(run_dir: Path, count: int) -> int:
    """Python's peak allocation (tracemalloc) while a streamed run of `count` probes is judged, reported and
    drawn (lab.report.write_all: report.json, junit.xml, timeline.png, report.html)."""
    import tracemalloc

    from lab.report import html, timeline

    synthetic.write_run(run_dir, count)
    timeline.warm()  # fonts and the PNG writer: loaded once per process, no part of a run's wrap-up
    html.warm()
    tracemalloc.start()
    try:
        lab_report.write_all(run_dir, "synthetic", 1, None, synthetic.CHECK_SPECS)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_wrapping_up_a_run_ten_times_as_long_takes_no_more_memory(tmp_path: Path, monkeypatch) -> None:
    # Every check of the synthetic playbook, the report's figures and both timelines. Holding the probes took
    # ~2.5 KB each (90 MB more for 40,000 than for 4,000), the timelines' columns of every probe ~21 bytes
    # (0.75 MB more): 40,000 must cost about what 4,000 did. The timelines' grid (lanes × columns × outcomes)
    # is bounded by the grid, not the run, but 4,000 probes leave most of 1,070 columns empty: with 100 the
    # grid fills sooner, and what grows with the run would show. The SVG's bars, the fault labels and the
    # page's tables are made as they are written, no longer held (held, 40,000 took 2.17 MB, 1.38x the
    # 1.57 MB of 4,000; now 1.68 against 1.59, 1.06x). The allowance: the events of ten faults instead of
    # one and what the report says of each (bench/wrapup.py measures the real grid at 38,600 and 386,000).
    # 4,000's peak is not steady within a whole suite (1.47-1.59 MB: what earlier tests left cached), so 1.2x
    # and 100 KB: the code before still fails it (2.17 > 1.98), a full suite's 1.68 against 1.47 passes.
    from lab.report import marks

    monkeypatch.setattr(marks, "COLUMNS", 100)
    small = _wrap_up_peak(tmp_path / "small", 4_000)
    large = _wrap_up_peak(tmp_path / "large", 40_000)
    assert large < 1.2 * small + 100_000, f"{small / 1e6:.2f} MB for 4,000 probes, {large / 1e6:.2f} MB for 40,000"


def _drawing_peak(run_dir: Path, count: int) -> tuple[int, int]:
    """The events of a made-up run of `count` probes (a fault every 2 minutes), no probes: Python's peak
    allocation while timeline.png is drawn, and while report.html is written (the records read before)."""
    import tracemalloc

    from lab import records
    from lab.report import html, timeline
    from lab.report.marks import Marks

    timeline.warm()
    html.warm()
    events = synthetic.events(count)
    marks, found = Marks.for_run([], events), records.RunRecords([], events, 0)
    report = lab_report.build_report("synthetic", 1, "pass", [], [], events)
    run_dir.mkdir()
    peaks = []
    for draw in (lambda: timeline.plot_timeline(marks, events, run_dir / "timeline.png", "synthetic: faults"),
                 lambda: html.write_run(run_dir, report, found, None, marks)):
        tracemalloc.start()
        try:
            draw()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return peaks[0], peaks[1]


def test_a_fault_window_more_costs_the_pictures_little_more(tmp_path: Path) -> None:
    # 100 fault windows instead of 10. Drawn as artists (a label ~6 KB) and held as the page's SVG elements
    # (~2 KB each, four a window) until the page was written, a window cost 12 KB more; now the labels are
    # made while drawn and the SVG is written as it is made: what is left is the windows' shades and lines in
    # timeline.png's collections (a path each) and the report's list of windows, ~4.5 KB.
    from lab import records

    small = _drawing_peak(tmp_path / "small", 38_600)
    large = _drawing_peak(tmp_path / "large", 386_000)
    windows = len(records.fault_windows(synthetic.events(386_000))) - \
        len(records.fault_windows(synthetic.events(38_600)))
    assert windows == 91
    assert sum(large) - sum(small) < 6_000 * windows, (small, large)


def test_a_probe_stream_gives_the_lines_read_jsonl_gives_in_its_order(tmp_path: Path) -> None:
    from lab import records

    lines = [json.dumps({"t": t, "seq": seq}) for seq, t in enumerate([3.0, 1.0, 2.0, 2.0, 9.0, 4.0, 5.0, 4.0])]
    lines.insert(3, '{"t": 7.5, "se')  # a line a killed writer cut
    path = tmp_path / "probes.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    stream = records.ProbeStream(path)
    expected, skipped = records.read_jsonl(path)
    assert list(stream) == expected == list(stream)  # again: read from the file each time
    assert (len(stream), stream.skipped, stream.first_t, stream.last_t, stream.lag) == (8, skipped, 1.0, 9.0, 5.0)


def test_one_failed_probe_among_many_ok_ones_in_a_column_is_kept_and_drawn(tmp_path: Path) -> None:
    from lab.report import marks, timeline
    from tests.support.records import T0, probe

    # A column is a pixel of timeline.png's plot (100 dpi).
    assert marks.COLUMNS == round((timeline.WIDTH_IN - timeline.LEFT_IN - timeline.RIGHT_IN) * 100)
    # An hour at 20 probes a second: some 67 probes in each of timeline.png's pixel columns, one a SERVFAIL.
    probes = [probe(t / 20) for t in range(72_000)]
    probes[36_000] = probe(1800, rcode="SERVFAIL")
    drawn = marks.Marks.of(probes)
    lane = drawn.lanes(None)["unbound"]["client1"]
    servfail = lane.columns[marks.KINDS.index("servfail")]
    assert servfail.count.sum() == 1 and drawn.start + float(servfail.first[servfail.count > 0][0]) == T0 + 1800
    assert lane.columns[0].count.sum() == 71_999 and len(drawn) == 72_000
    timeline.plot_timeline(drawn, [], tmp_path / "timeline.png", "one failure")
    image = matplotlib.image.imread(tmp_path / "timeline.png")
    top = int(timeline.TOP_IN * 100)
    pixels = (image[top:top + int(timeline.BAND_IN * 100), :, :3] * 255).round().astype(int)  # the lane, no legend
    purple = tuple(int(timeline.OUTCOME_STYLE["servfail"][0][i:i + 2], 16) for i in (1, 3, 5))
    columns = {int(x) for x in (abs(pixels - purple).sum(axis=2) < 30).nonzero()[1]}
    assert columns and max(columns) - min(columns) <= 3, columns  # at 1800 s of 3636: a mark 2-3 pixels wide
    assert abs((min(columns) - 140) / 1070 * 3600 * 1.01 - 1800) < 10
