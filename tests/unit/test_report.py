"""Reports of a synthetic run: the report dict, JUnit XML, the timeline PNG, the terminal view, write_all."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from lab.checks import CheckResult
from lab.report import (
    build_report,
    render_terminal,
    verdict_for,
    write_all,
    write_junit,
)
from lab.report.timeline import plot_timeline
from tests.support.records import T0, probe

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def synthetic_run() -> tuple[list[dict], list[dict]]:
    """60 s at 20 probes/s per resolver: unbound goes NODATA during the partition, bind times out."""
    probes = []
    for resolver in ("unbound", "bind"):
        for client in ("client1", "client2"):
            for step in range(60 * 10):
                t = step / 10 + (0.05 if client == "client2" else 0)
                answer = probe(t, resolver, client=client)
                if 20 <= t < 30:
                    answer = probe(t, resolver, answers=[], client=client) if resolver == "unbound" else \
                        probe(t, resolver, None, client=client)
                probes.append(answer)
    probes.append(probe(45, "bind", "NXDOMAIN"))
    probes.sort(key=lambda p: p["t"])
    events = [
        {"t": T0, "source": "runner", "event": "run_started", "playbook": "race", "seed": 42, "lab": "t"},
        {"t": T0 + 18, "source": "runner", "event": "fault_injected", "id": "f1", "kind": "partition",
         "target": "auth1", "params": {}},
        {"t": T0 + 30, "source": "runner", "event": "fault_cleared", "id": "f1", "kind": "partition",
         "target": "auth1"},
        {"t": T0 + 50, "source": "runner", "event": "fault_injected", "id": "f2", "kind": "pause",
         "target": "enactor-a", "params": {}},
    ]
    return probes, events


RESULTS = [
    CheckResult("never_empty", False, "600 of 2401 probes got an empty answer", {"empty": 600}),
    CheckResult("availability(min=0.5)", True, "74.9% ok of 2401 probes", {}),
]


def write_records(run_dir: Path, probes: list[dict], events: list[dict], tail: str = "") -> None:
    (run_dir / "probes.jsonl").write_text("".join(json.dumps(p) + "\n" for p in probes) + tail)
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_verdict_for() -> None:
    assert verdict_for(RESULTS[1:], interrupted=False) == "pass"
    assert verdict_for(RESULTS, interrupted=False) == "fail"
    assert verdict_for(RESULTS[1:], interrupted=True) == "interrupted"
    assert verdict_for([], interrupted=False) == "pass"


def test_build_report_counts_what_the_clients_saw() -> None:
    probes, events = synthetic_run()
    report = build_report("race", 42, "fail", RESULTS, probes, events, {"lab": "t"}, truncated_lines=1)
    assert report["playbook"] == "race" and report["seed"] == 42 and report["verdict"] == "fail"
    assert report["checks"][0] == {"name": "never_empty", "ok": False,
                                   "detail": "600 of 2401 probes got an empty answer", "data": {"empty": 600}}
    assert report["probes"]["total"] == 2401
    assert report["probes"]["by_rcode"] == {"NOERROR": 2200, "none": 200, "NXDOMAIN": 1}
    assert report["probes"]["empty_answers"] == 201 and report["probes"]["timeouts"] == 200
    assert report["probes"]["by_resolver"]["unbound"] == {
        "total": 1200, "ok": 1000, "wrong": 0, "empty": 200, "nodata": 200, "nxdomain": 0, "servfail": 0,
        "timeout": 0, "other": 0,
    }
    assert report["probes"]["by_resolver"]["bind"]["nxdomain"] == 1
    assert report["faults"] == [
        {"id": "f1", "kind": "partition", "target": "auth1", "start": T0 + 18, "end": T0 + 30,
         "start_s": 18.0, "end_s": 30.0},
        {"id": "f2", "kind": "pause", "target": "enactor-a", "start": T0 + 50, "end": None,
         "start_s": 50.0, "end_s": None},
    ]
    assert report["truncated_lines"] == 1 and report["extra"] == {"lab": "t"}
    json.dumps(report, allow_nan=False)


def test_build_report_refuses_an_unknown_verdict() -> None:
    with pytest.raises(ValueError, match="verdict must be one of pass, fail, interrupted"):
        build_report("race", 1, "passed", [], [], [], None)


def test_junit_has_one_testcase_per_check_and_a_failure_with_the_detail(tmp_path: Path) -> None:
    report = build_report("race", 42, "fail", RESULTS, [], [], None)
    write_junit(report, tmp_path / "junit.xml")
    root = ET.parse(tmp_path / "junit.xml").getroot()
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "race" and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["never_empty", "availability(min=0.5)"]
    assert cases[0].find("failure").text == "600 of 2401 probes got an empty answer"
    assert cases[1].find("failure") is None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["verdict"] == "fail" and properties["seed"] == "42"


def test_timeline_is_a_png_with_probes(tmp_path: Path) -> None:
    probes, events = synthetic_run()
    plot_timeline(probes, events, tmp_path / "timeline.png", "race (seed 42)")
    assert (tmp_path / "timeline.png").read_bytes()[:8] == PNG_MAGIC


def test_timeline_is_a_png_without_probes(tmp_path: Path) -> None:
    _, events = synthetic_run()
    plot_timeline([], events, tmp_path / "with-faults.png", "killed early")
    plot_timeline([], [], tmp_path / "nothing.png", "nothing recorded")
    assert (tmp_path / "with-faults.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "nothing.png").read_bytes()[:8] == PNG_MAGIC


def test_render_terminal_shows_checks_figures_and_files(tmp_path: Path) -> None:
    report = build_report("race", 42, "fail", RESULTS, *synthetic_run(), None) | {"files": {"junit": "junit.xml"}}
    out = io.StringIO()
    render_terminal(report, tmp_path, Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "race  seed 42\nFAIL" in text
    assert "✗ │ never_empty" in text and "✓ │ availability(min=0.5)" in text
    assert "probes 2401  ok 83.3%  empty 201  timeouts 200  faults 2" in text
    assert str(tmp_path / "junit.xml") in text


def test_write_all_judges_the_run_dir_and_writes_every_file(tmp_path: Path) -> None:
    probes, events = synthetic_run()
    write_records(tmp_path, probes, events, tail='{"t": 1700000060.0, "client": "cli')
    specs = [
        {"check": "never_empty", "resolvers": ["unbound"]},
        {"check": "availability", "min": 0.5},
        {"check": "expect_rcode", "rcode": "TIMEOUT", "resolvers": ["bind"]},
    ]
    report = write_all(tmp_path, "race", 42, None, specs, extra={"run_id": "r1"})
    assert report["verdict"] == "fail"
    assert [check["ok"] for check in report["checks"]] == [False, True, True]
    assert report["truncated_lines"] == 1 and report["extra"] == {"run_id": "r1"}
    assert json.loads((tmp_path / "report.json").read_text()) == report
    assert len(list(ET.parse(tmp_path / "junit.xml").getroot().iter("testcase"))) == 3
    assert (tmp_path / "timeline.png").read_bytes()[:8] == PNG_MAGIC
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "events.jsonl", "junit.xml", "probes.jsonl", "report.html", "report.json", "timeline.png",
    ]
    assert report["files"]["html"] == "report.html"


def test_write_all_verdicts(tmp_path: Path) -> None:
    write_records(tmp_path, *synthetic_run())
    holds = [{"check": "availability", "min": 0.5}]
    assert write_all(tmp_path, "race", 1, None, holds)["verdict"] == "pass"
    assert write_all(tmp_path, "race", 1, None, holds, interrupted=True)["verdict"] == "interrupted"
    assert write_all(tmp_path, "race", 1, "fail", holds)["verdict"] == "fail"


def test_write_all_rejects_invalid_checks_before_writing(tmp_path: Path) -> None:
    write_records(tmp_path, *synthetic_run())
    with pytest.raises(ValueError, match="unknown check 'never_emtpy'"):
        write_all(tmp_path, "race", 1, None, [{"check": "never_emtpy"}])
    assert not (tmp_path / "report.json").exists()
