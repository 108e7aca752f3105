"""report.html and matrix.html of synthetic runs: every part is there, nothing comes from the network,
names are escaped, and the timeline SVG shows what the probes saw. (A real browser loads a real run's
page in tests/integration/test_html_report.py.)"""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET

from lab import bundle, matrix
from lab.checks import CheckResult
from lab.playbook import overrides
from lab.report import build_report, html, timeline_svg, write_all
from lab.yamlsrc import load as load_yaml
from tests.support.records import NAME, T0, probe
from tests.unit.test_report import synthetic_run, write_records

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script>'


def view_of(results, events_extra=(), **report_extra) -> html.RunView:
    probes, events = synthetic_run()
    events = sorted([*events, *events_extra], key=lambda e: e["t"])
    report = build_report("race", 42, "fail", results, probes, events, {"lab": "t1"}) | report_extra
    return html.RunView(report, probes, events)


def assert_self_contained(page: str) -> None:
    """No script, no stylesheet or image from elsewhere: the page opens without a network."""
    assert "<script" not in page.lower()
    assert not re.search(r'(src|href)="(https?:)?//', page), re.findall(r'(?:src|href)="[^"]+"', page)
    assert "@import" not in page and "url(" not in page


def test_the_page_has_the_verdict_every_check_the_timeline_and_every_fault():
    results = [CheckResult("the name never goes empty", False, "600 of 2401 probes got an empty answer", {}),
               CheckResult("availability holds", True, "74.9% ok of 2401 probes", {})]
    page = html.render_run(view_of(results))
    assert_self_contained(page)
    assert '<span class="badge fail" id="verdict-badge">FAIL</span>' in page
    assert "1 of 2 checks failed: the name never goes empty." in page
    for result in results:
        assert result.name in page and result.detail in page
    assert page.count("<svg") == 1 and "partition → auth1" in page and "pause → enactor-a" in page
    assert "never cleared" in page  # f2 is never cleared in the synthetic run
    for section in ("verdict", "checks", "timeline", "resolvers", "faults", "events"):
        assert f'<section id="{section}">' in page


def test_names_and_fields_from_the_records_are_escaped():
    evil_event = {"t": T0 + 5, "source": "enactor-a", "event": "stuck", "reason": EVIL}
    page = html.render_run(view_of([CheckResult(EVIL, False, EVIL, {})], [evil_event]))
    assert EVIL not in page and "&lt;script&gt;" in page
    assert_self_contained(page)


def test_an_interrupted_run_marks_its_checks_partial():
    view = view_of([CheckResult("holds", True, "ok", {})])
    view = html.RunView(view.report | {"verdict": "interrupted"}, view.probes, view.events)
    page = html.render_run(view)
    assert "INTERRUPTED" in page and "judged partial evidence" in page and 'class="mark partial"' in page


def test_an_explanation_in_the_report_is_shown_with_the_verdict():
    explanation = {"what_happened": "NODATA through all 4 resolvers", "what_to_try": "--set enactor.strategy=guarded"}
    page = html.render_run(view_of([CheckResult("x", False, "d", {})], explanation=explanation))
    assert "what happened:</strong> NODATA through all 4 resolvers" in page
    assert "what to try:</strong> --set enactor.strategy=guarded" in page


def test_setup_steps_are_told_from_the_steps():
    def step(t, index, text):
        return [{"t": T0 + t, "source": "runner", "event": "step_started", "index": index, "step": text},
                {"t": T0 + t + 1, "source": "runner", "event": "step_finished", "index": index, "step": text,
                 "ok": True, "error": None}]
    steps = [*step(0, 1, "pipeline_reset"), *step(1, 2, "wait 6s"), *step(8, 1, "wait for probes"),
             *step(9, 2, "pause")]
    rows = html._steps(view_of([], steps))["rows"]
    assert [(r["phase"], r["index"], r["length_s"]) for r in rows] == [
        ("setup", 1, 1.0), ("setup", 2, 1.0), ("step", 1, 1.0), ("step", 2, 1.0)]


def test_sections_can_be_added_and_a_section_without_data_is_left_out():
    added = html.Section("apps", "Applications", "checks.html.j2",
                         lambda view: {"checks": [{"name": "app kept working", "ok": True, "detail": "d"}],
                                       "partial": False})
    hidden = html.Section("servers", "Servers", "checks.html.j2", lambda view: None)
    page = html.render_run(view_of([]), [*html.SECTIONS, added, hidden])
    assert '<section id="apps">' in page and "app kept working" in page and 'id="servers"' not in page


def test_a_library_playbook_says_it_reproduced_its_incident_and_what_to_try(tmp_path):
    race = load_yaml(bundle.PLAYBOOKS / "aws-2025-dynamodb-enactor-race.yml")
    incident = html.incident_of(race)
    assert incident["incident"] == "AWS us-east-1 (DynamoDB)" and incident["mitigated_now"] is False
    guarded = overrides.apply_all(copy.deepcopy(race), ["enactor.strategy=guarded"])
    assert html.incident_of(guarded)["mitigated_now"] is True
    view = view_of([CheckResult("never empty", False, "d", {})])
    page = html.render_run(html.RunView(view.report | {"playbook": "aws-2025-dynamodb-enactor-race"}, view.probes,
                                        view.events, incident))
    assert "As written this reproduces the incident." in page
    assert "dnslab run aws-2025-dynamodb-enactor-race --set enactor.strategy=guarded" in page
    assert html.incident_of(load_yaml(bundle.PLAYBOOKS / "soak-20min.yml")) is None


def test_write_all_writes_report_html_and_report_html_alone_rewrites_it(tmp_path):
    probes, events = synthetic_run()
    write_records(tmp_path, probes, events)
    (tmp_path / "playbook.yml").write_text((bundle.PLAYBOOKS / "aws-2025-dynamodb-enactor-race.yml").read_text())
    write_all(tmp_path, "race", 42, None, [{"check": "never_empty"}])
    first = (tmp_path / "report.html").read_text()
    assert "never_empty" in first and "As written this reproduces the incident." in first
    assert '<a href="timeline.png">' in first and '<a href="report.json">' in first
    (tmp_path / "report.html").unlink()
    assert html.write_run(tmp_path) == tmp_path / "report.html"
    assert (tmp_path / "report.html").read_text() == first


def test_the_timeline_svg_merges_equal_answers_and_keeps_one_failure_visible():
    probes = [probe(t / 4, "unbound") for t in range(400)]
    probes[200] = probe(50, "unbound", "SERVFAIL")
    svg = ET.fromstring(timeline_svg.timeline_svg(probes, [], T0, 100))
    bars = [r for r in svg.iter(SVG + "rect") if "probe" in r.get("class", "")]
    # One ok bar under the failure (painted over it): a bar per stretch of probing, not one per problem.
    assert [b.get("class") for b in bars] == ["probe ok", "probe servfail"]
    assert bars[0].find(SVG + "title").text == "unbound · client1: ok ×399, 0.0–100.0 s"
    failure = bars[-1]
    assert float(failure.get("width")) >= timeline_svg.PROBLEM_MIN_PX
    assert failure.find(SVG + "title").text == "unbound · client1: SERVFAIL ×1, 50.0–50.2 s"
    paused = [p for p in probes if not 60 <= p["t"] - T0 < 70]  # a pause in probing stays blank
    svg = ET.fromstring(timeline_svg.timeline_svg(paused, [], T0, 100))
    bars = [r.find(SVG + "title").text for r in svg.iter(SVG + "rect") if "probe" in r.get("class", "")]
    assert bars == ["unbound · client1: ok ×239, 0.0–60.2 s", "unbound · client1: ok ×120, 70.0–100.0 s",
                    "unbound · client1: SERVFAIL ×1, 50.0–50.2 s"]
    assert svg.find(SVG + "title").text.startswith("What every resolver answered")


def test_the_timeline_svg_lanes_are_questions_when_a_run_asks_several():
    probes = [probe(1, "unbound") | {"type": t} for t in ("A", "TXT")]
    lanes = timeline_svg.lanes(probes)
    assert list(lanes["unbound"]) == [f"{NAME.rstrip('.')} A", f"{NAME.rstrip('.')} TXT"]
    other = probe(1, "unbound") | {"name": "dynamodb-fips.us-east-1.cloud.test."}
    assert list(timeline_svg.lanes([probes[0], other])["unbound"]) == ["dynamodb A", "dynamodb-fips A"]


def test_agent_events_and_actions_are_drawn_and_counted_in_the_legend():
    events = [{"t": T0 + 10, "source": "enactor-a", "event": "refused", "reason": "stale"},
              {"t": T0 + 12, "source": "enactor-b", "event": "stuck", "reason": "plan gone"},
              {"t": T0 + 20, "source": "runner", "event": "action_done", "action": "repair", "result": {}}]
    svg = timeline_svg.timeline_svg([probe(1, "unbound")], events, T0, 30)
    assert "enactor-a: refused reason=stale at 10.0 s" in svg and "action repair (20.0 s)" in svg
    legend = {label: count for _, label, count in timeline_svg.legend([probe(1, "unbound")], events)}
    assert legend == {"ok": 1, "refused": 1, "stuck": 1}  # no zero counts


def test_matrix_html_has_the_table_the_heatmap_and_a_link_per_run(tmp_path):
    from tests.unit.test_matrix import outage_run  # noqa: PLC0415

    run_dir = tmp_path / "runs" / "facebook-as-written"
    run_dir.mkdir(parents=True)
    (run_dir / "report.html").write_text("<html></html>")
    built = matrix.build([outage_run(), outage_run("mitigated", 0)], 82.0)
    built["rows"][0]["run_dir"] = str(run_dir)
    heatmap = tmp_path / "heatmap.png"
    heatmap.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    page = html.write_matrix(tmp_path, built, heatmap).read_text()
    assert_self_contained(page)
    assert '<a href="runs/facebook-as-written/report.html">facebook</a>' in page
    assert page.count("report.html") == 2  # one run has a page; the other's run directory has none (+ the note)
    assert 'src="data:image/png;base64,' in page and "Unbound" in page and "PowerDNS Recursor" in page
    assert "reproduced" in page and "48%" in page
    json.dumps(built)  # the table came from matrix.json's data, untouched
