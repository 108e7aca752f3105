"""Interrupting `dnslab run` through the real CLI against a real lab: Ctrl-C and SIGTERM roll every kind of fault
back and keep every probe; after SIGKILL the records still make a report, `fault clear --all` and `down` leave
nothing, and the next run works.

The run is tests/data/lossy-run.yml on compose/minimal.yml: a paused primary (process fault), a dnsdist sidecar
delaying the secondary (dns-answer fault) and an nft table dropping half of the client's packets (network
fault) are all in force when the signal arrives; zone-data faults get a run of their own, interrupted twice
(DNSSEC faults: test_interrupts_signed.py). One minimal lab is shared; the SIGKILL test is last, as it takes
the lab down itself.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lab import faults, state
from lab.faults import zonedata
from tests.integration.conftest import REPO, labelled
from tests.integration.faultkit import CLEAN, context, direct, leftovers, until
from tests.integration.test_playbook_run import assert_every_probe_recorded
from tests.support import cli
from tests.support.cli import dnslab, read_jsonl

LOSSY = REPO / "tests" / "data" / "lossy-run.yml"
LONG_WAIT = ("--set", "steps.6.wait=60s")  # the step during which the three faults are in force
FAULT_KINDS = ["pause", "delay", "loss"]


def start_run(lab: str, run_dir: Path, *args: str, playbook: Path = LOSSY) -> subprocess.Popen:
    return cli.start_run(playbook, lab, run_dir, *args)


def wait_until_faults_are_in_force(run_dir: Path, process: subprocess.Popen, timeout: float = 90) -> list[dict]:
    """Until the run is in step 6 (three faults injected, timeouts already recorded); the events so far."""
    events_file = run_dir / "events.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        if events_file.exists():
            events = read_jsonl(events_file)
            if any(e["event"] == "step_started" and e["index"] == 6 for e in events):
                return events
        time.sleep(0.2)
    pytest.fail("the run never reached the step with its faults in force")


def running_probers(rt, description: dict) -> list[str]:
    """The clients in which a prober process still runs (read from /proc: the image has no pgrep; the
    bracketed pattern does not match this shell's own command line)."""
    script = "for p in /proc/[0-9]*; do grep -q 'lab[.]agents[.]prober' $p/cmdline 2>/dev/null && echo $p; done"
    return [node for node, spec in description["nodes"].items() if spec["role"] == "client"
            and rt.exec(spec["container"], ["sh", "-c", script]).output.strip()]


def assert_timeouts_are_lines(probes: list[dict]) -> list[dict]:
    """Lost queries are recorded, not dropped: a line with error "timeout", no rcode, no latency."""
    timeouts = [p for p in probes if p["error"] == "timeout"]
    assert len(timeouts) >= 5, f"{len(timeouts)} timeouts in {len(probes)} probes"
    assert all(p["rcode"] is None and p["latency_ms"] is None and p["answers"] == [] for p in timeouts)
    return timeouts


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interrupt_rolls_back_every_kind_of_fault_and_keeps_every_probe(minimal_lab, rt, tmp_path,
                                                                           signum):
    run_dir = tmp_path / "run"
    process = start_run(minimal_lab["lab"], run_dir, *LONG_WAIT)
    try:
        events = wait_until_faults_are_in_force(run_dir, process)
        assert [e["kind"] for e in events if e["event"] == "fault_injected"] == FAULT_KINDS
        time.sleep(1)
        signalled = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)  # no hang: rollback, drain and report are bounded
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-3000:]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "interrupted"
    assert sorted(f["kind"] for f in report["faults"]) == sorted(FAULT_KINDS)
    assert all(f["end"] is not None for f in report["faults"])
    probes = assert_every_probe_recorded(run_dir, ("client1",))  # sent == written, also under loss
    assert report["probes"]["total"] == len(probes)
    timeouts = assert_timeouts_are_lines(probes)
    events = read_jsonl(run_dir / "events.jsonl")
    assert [e["step"] for e in events if e["event"] == "interrupted"] == [6]
    assert events[-1]["event"] == "run_finished" and events[-1]["verdict"] == "interrupted"

    ctx = context(rt, minimal_lab)
    assert faults.active(ctx) == []
    assert leftovers(ctx) == CLEAN  # no nft table in any namespace, no sidecar, no paused container
    sent = next(e["sent"] for e in events if e["event"] == "prober_summary")
    print(f"[figures] {signal.Signals(signum).name}: exit 130 {took:.1f}s after the signal; "
          f"sent {sent} = written {len(probes)}, {len(timeouts)} timeouts")


ZONE_DATA_RUN = """
name: zone-data-interrupted
topology: {topology}
probes: {{rate: 5}}
steps:
  - wait: {{probes: ok, count: 3, every_resolver: true}}
    timeout: 30s
  - fault: {{kind: empty-rrset, target: primary, params: {{name: dynamodb.us-east-1.cloud.test., type: A}}}}
  - fault: {{kind: lame-delegation, target: root, params: {{zone: cloud.test.}}}}
  - wait: 60s
checks:
  - check: never_empty
"""


def interrupt_twice(run_dir: Path, process: subprocess.Popen, step: int) -> str:
    """Ctrl-C once the run is in `step`, and again the moment it starts rolling back; its stderr."""
    events_file = run_dir / "events.jsonl"
    deadline = time.monotonic() + 120

    def seen(event: str, **fields) -> bool:
        return events_file.exists() and any(e["event"] == event and all(e.get(k) == v for k, v in fields.items())
                                            for e in read_jsonl(events_file))
    while not seen("step_started", index=step):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
        time.sleep(0.1)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    while not seen("interrupted"):  # written when the first one arrives; the rollback starts right after
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1][-3000:]
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return stderr


def test_ctrl_c_rolls_back_zone_data_faults_and_a_second_one_is_held_off(minimal_lab, rt, tmp_path):
    """Both kinds of zone-data change come back on Ctrl-C — an RRset deleted through the primary (RFC 2136)
    and a delegation edited in a static zone file — also when a second Ctrl-C arrives during the rollback:
    it is held off (and said so), not allowed to cut the rollback short."""
    playbook = tmp_path / "zone-data.yml"
    playbook.write_text(ZONE_DATA_RUN.format(topology=REPO / "compose" / "minimal.yml"))
    ctx = context(rt, minimal_lab)
    name = "dynamodb.us-east-1.cloud.test."
    before = zonedata.read(ctx, "primary", "cloud.test."), zonedata.served(ctx, "root", "test.")
    run_dir = tmp_path / "run"
    process = start_run(minimal_lab["lab"], run_dir, playbook=playbook)
    try:
        stderr = interrupt_twice(run_dir, process, step=4)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-3000:]
    assert "interrupted — rolling back every fault" in stderr  # the first Ctrl-C, echoed
    assert "rolling back and writing the report — one moment" in stderr  # the second Ctrl-C, held off
    assert "Traceback" not in stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "interrupted"
    assert sorted(f["kind"] for f in report["faults"]) == ["empty-rrset", "lame-delegation"]
    assert all(f["end"] is not None for f in report["faults"])
    events = read_jsonl(run_dir / "events.jsonl")
    assert [e["step"] for e in events if e["event"] == "interrupted"] == [4]
    assert events[-1]["event"] == "run_finished" and events[-1]["verdict"] == "interrupted"
    assert faults.active(ctx) == [] and leftovers(ctx) == CLEAN
    # The data is back: the RRset on the primary (and so on its secondary), the delegation byte for byte.
    after = zonedata.read(ctx, "primary", "cloud.test."), zonedata.served(ctx, "root", "test.")
    assert [r for r in after[0] if r[1] != "SOA"] == [r for r in before[0] if r[1] != "SOA"]
    assert after[1] == before[1] == zonedata.rendered(ctx, "root", "test.")
    assert sorted(direct(rt, minimal_lab, "sec-nsd", name)["answers"]) == ["192.0.2.10", "192.0.2.11"]


def test_after_sigkill_the_records_make_a_report_and_clear_down_and_the_next_run_work(minimal_lab, rt,
                                                                                       tmp_path):
    lab = minimal_lab["lab"]
    run_dir = tmp_path / "killed"
    process = start_run(lab, run_dir, *LONG_WAIT)
    try:
        wait_until_faults_are_in_force(run_dir, process)
        time.sleep(1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert not (run_dir / "report.json").exists()
    ctx = context(rt, state.load_description(lab))
    assert leftovers(ctx) != CLEAN and len(faults.active(ctx)) == 3  # nothing rolled back: the faults are left
    # The probers stop by themselves: the engine closes their exec's stdin when the orchestrator dies.
    until(lambda: running_probers(rt, ctx.description), lambda found: found == [], timeout=30)

    # The records a killed run wrote still make a report: judged as interrupted, every line it has.
    again = dnslab("report", str(run_dir), timeout=120)
    assert again.returncode == 130, again.stderr[-3000:]
    report = json.loads((run_dir / "report.json").read_text())
    lines = read_jsonl(run_dir / "probes.jsonl")  # every line whole: one write per line
    assert report["verdict"] == "interrupted" and report["probes"]["total"] == len(lines) > 0
    assert_timeouts_are_lines(lines)
    assert "interrupted" in again.stdout.lower()

    cleared = dnslab("fault", "clear", "--all", "--name", lab, timeout=120)
    assert cleared.returncode == 0, cleared.stderr[-3000:]
    assert faults.active(ctx) == [] and leftovers(ctx) == CLEAN

    down = dnslab("down", "--name", lab, timeout=120)
    assert down.returncode == 0, down.stderr[-3000:]
    assert labelled(rt, lab) == {"containers": 0, "networks": 0, "volumes": 0}

    # The next run brings the lab up again by itself, passes, and takes it down again.
    quick = tmp_path / "quick.yml"
    quick.write_text(f"""\
name: after-a-kill
topology: {REPO / 'compose' / 'minimal.yml'}
probes: {{rate: 5}}
steps:
  - wait: {{probes: ok, count: 3, every_resolver: true}}
    timeout: 30s
  - wait: 2s
checks:
  - check: never_empty
  - {{check: availability, min: 0.9}}
""")
    next_run = dnslab("run", str(quick), "--name", lab, "--out", str(tmp_path / "next"), timeout=240)
    assert next_run.returncode == 0, next_run.stderr[-3000:]
    assert json.loads((tmp_path / "next" / "report.json").read_text())["verdict"] == "pass"
    assert labelled(rt, lab) == {"containers": 0, "networks": 0, "volumes": 0}
    print(f"[figures] SIGKILL: report re-judged {len(lines)} probe lines; clear --all, down, next run exit 0")
