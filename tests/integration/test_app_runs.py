"""What applications see, wired into `dnslab run`: a lab with service and app nodes (tests/data/apps-minimal.yml),
the resolver paused for a few seconds. The run's apps.jsonl holds every app's attempts, samples.jsonl the
servers' counters, report.json and the terminal say per model when DNS and the app were back, report.html has
the Applications section and timeline.png the app lanes. One lab for the module (9 containers, about a minute).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from lab import appfigures as apps, lifecycle
from lab.report.timeline import plot_timeline
from tests.integration.conftest import REPO, lab_name
from tests.support.cli import read_jsonl, run_playbook

TOPOLOGY = REPO / "tests" / "data" / "apps-minimal.yml"
OUTAGE = 6  # seconds unbound is paused: longer than the jvm cache's positive time (3 s)

PLAYBOOK = f"""\
name: apps-run
topology: {TOPOLOGY}
probes: {{rate: 4, timeout: 1s}}
steps:
  - wait: {{probes: ok, count: 3, every_resolver: true}}
    timeout: 30s
  - wait: 4s
  - fault: {{kind: pause, target: unbound, as: outage}}
  - wait: {OUTAGE}s
  - clear: [outage]
  - wait: {{probes: ok, count: 3, every_resolver: true}}
    timeout: 20s
  - wait: 4s
checks:
  - name: every model is back within 8 s of DNS
    check: app_recovers_within
    per: model
    seconds: 8
  - name: the glibc app fails while the resolver is paused
    check: app_availability
    apps: [app-glibc]
    min: 0.99
"""


@pytest.fixture(scope="module")
def apps_lab(rt, lab_image):
    name = lab_name("app-runs")
    try:
        yield lifecycle.up(TOPOLOGY, name, rt=rt)
    finally:
        lifecycle.down(name, rt=rt)


@pytest.fixture(scope="module")
def ran(apps_lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("apps-run")
    playbook = out.parent / "apps-run.yml"
    playbook.write_text(PLAYBOOK)
    done, report, events = run_playbook(playbook, apps_lab["lab"], out)
    return {"done": done, "report": report, "events": events, "out": out}


def _png_height(path: Path) -> int:
    return struct.unpack(">II", path.read_bytes()[16:24])[1]


def test_the_run_records_every_app_attempt_and_the_servers_counters(ran):
    done, report, out = ran["done"], ran["report"], ran["out"]
    assert done.returncode == 1, done.stderr[-3000:]  # the availability check is meant to fail
    attempts = apps.attempts(read_jsonl(out / "apps.jsonl"))
    assert {a["app"] for a in attempts} == {"app-glibc", "app-jvm"}
    assert {a["instance"] for a in attempts if apps.succeeded(a)} == {"svc-1", "svc-2"}  # real services answered
    paused = next(e["t"] for e in ran["events"] if e["event"] == "fault_injected")
    cleared = next(e["t"] for e in ran["events"] if e["event"] == "fault_cleared")
    glibc_outage = [a for a in attempts if a["app"] == "app-glibc" and paused + 0.5 < a["t"] < cleared - 1.5]
    assert glibc_outage and all(a["resolution"] == "timeout" for a in glibc_outage), glibc_outage
    # The jvm app answers from its caches: a cached address (ok) or a cached failure (at once), and asks
    # glibc only when an entry ran out — once per negative time (2 s) at most while the resolver is paused.
    jvm = [a for a in attempts if a["app"] == "app-jvm" and paused <= a["t"] < cleared]
    asked = [a for a in jvm if a["source"] == "system"]
    assert len(asked) <= OUTAGE / 2 + 1 < len(jvm), [(a["source"], a["resolution"]) for a in jvm]
    assert all(a["resolve_s"] == 0 and apps.succeeded(a) == (a["source"] == "cache") for a in jvm if a not in asked)
    samples = read_jsonl(out / "samples.jsonl")
    assert {s["server"] for s in samples} >= {"unbound", "root", "primary", "sec-nsd"}
    assert report["extra"]["apps"]["agents"]["app-glibc"]["finished"] is True  # stopped cleanly at the end


def test_the_report_says_per_model_when_dns_and_the_app_were_back(ran):
    report, stdout = ran["report"], ran["done"].stdout
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["every model is back within 8 s of DNS"]["ok"], checks["every model is back within 8 s of DNS"]
    assert not checks["the glibc app fails while the resolver is paused"]["ok"]
    [outage] = report["apps"]["outages"]
    assert set(outage["models"]) == {"glibc", "jvm"}
    for model, figures in outage["models"].items():
        assert figures["app_back_s"] is not None and figures["app_back_s"] >= outage["dns_back_s"], (model, figures)
        assert f"app back at +{figures['app_back_s']:.1f} s" in stdout
    assert f"DNS back at +{outage['dns_back_s']:.1f} s" in stdout
    assert "Applications" in (ran["out"] / "report.html").read_text()


def test_the_timeline_has_a_lane_per_app(ran, tmp_path):
    out = ran["out"]
    without = tmp_path / "without-apps.png"
    probes, events = read_jsonl(out / "probes.jsonl"), read_jsonl(out / "events.jsonl")
    plot_timeline(probes, events, without, "no apps")
    # Two lanes and their gap: the same picture is taller by exactly the app lanes.
    assert _png_height(out / "timeline.png") - _png_height(without) >= 2 * 0.3 * 100
