"""A run under failure through the real CLI: 50 % packet loss loses no evidence (every query sent is a line,
the lost ones as timeouts), and a container killed by hand under a run (`docker kill`, not a fault of the run)
ends it within seconds as node_lost naming the node — never a hang.

One minimal lab is shared; a test that kills a container brings the lab back (`lifecycle.up` restarts it).
"""

from __future__ import annotations

import json
import time

import pytest

from lab import lifecycle, runtime
from tests.integration.conftest import REPO
from tests.integration.faultkit import CLEAN, context, leftovers
from tests.integration.test_playbook_run import assert_every_probe_recorded
from tests.support.cli import dnslab, read_jsonl, start_run

LOSSY = REPO / "tests" / "data" / "lossy-run.yml"
MINIMAL = REPO / "compose" / "minimal.yml"


def test_half_the_packets_lost_and_every_probe_still_recorded(minimal_lab, rt, tmp_path):
    run_dir = tmp_path / "run"
    result = dnslab("run", str(LOSSY), "--name", minimal_lab["lab"], "--out", str(run_dir))
    assert result.returncode == 1, result.stderr[-3000:]  # the expected failure, nothing else
    report = json.loads((run_dir / "report.json").read_text())
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "the name never goes empty": True, "expected failure: 99 % of probes are answered": False}
    probes = assert_every_probe_recorded(run_dir, ("client1",))

    events = read_jsonl(run_dir / "events.jsonl")
    start = next(e["t"] for e in events if e["event"] == "fault_injected" and e["kind"] == "loss")
    end = next(e["t"] for e in events if e["event"] == "fault_cleared" and e["kind"] == "loss")
    # A probe sent shortly before the clear may still time out after it: judge whole seconds inside.
    lossy = [p for p in probes if start + 1 <= p["t"] <= end - 1]
    # The nft drop of an outgoing query makes sendto() fail at once (EPERM): that query is a line with
    # error "send failed: ..."; a dropped answer is a line with error "timeout". Either way: a line.
    timeouts = [p for p in lossy if p["error"] == "timeout"]
    refused = [p for p in lossy if (p["error"] or "").startswith("send failed")]
    assert timeouts and all(p["rcode"] is None and p["latency_ms"] is None for p in timeouts + refused)
    share = (len(timeouts) + len(refused)) / len(lossy)
    assert len(lossy) >= 40 and 0.5 <= share <= 0.95, (len(lossy), share)  # 1 - 0.5 * 0.5 = 75 % expected
    # and it answers again after the clear (by send time: a query lost just before the clear is written last,
    # when it times out)
    assert all(p["error"] is None for p in sorted(probes, key=lambda p: p["t"])[-3:])
    assert leftovers(context(rt, minimal_lab)) == CLEAN
    print(f"[figures] 50 % loss: sent {len(probes)} = written {len(probes)}; in the loss window "
          f"{len(lossy)} probes: {len(refused)} send failed, {len(timeouts)} timed out ({share:.0%} lost), "
          f"each a line")


@pytest.mark.parametrize("node", ["sec-nsd", "client1"])
def test_a_container_killed_under_the_run_ends_it_as_node_lost(minimal_lab, rt, tmp_path, node):
    lab = minimal_lab["lab"]
    run_dir = tmp_path / "run"
    playbook = tmp_path / "steady.yml"
    playbook.write_text(f"""\
name: steady
topology: {MINIMAL}
probes: {{rate: 5}}
steps:
  - wait: 60s
checks:
  - check: never_empty
""")
    process = start_run(playbook, lab, run_dir)
    try:
        deadline = time.monotonic() + 30
        while not (run_dir / "probes.jsonl").exists() or len((run_dir / "probes.jsonl").read_text()) < 500:
            assert time.monotonic() < deadline and process.poll() is None, "no probes recorded"
            time.sleep(0.2)
        killed = time.monotonic()
        rt.kill(runtime.container_name(lab, node))
        _, stderr = process.communicate(timeout=60)  # a hang would fail here, not stall the suite
        took = time.monotonic() - killed
    finally:
        if process.poll() is None:
            process.kill()
        lifecycle.up(MINIMAL, lab, rt=rt)  # the killed container starts again for the next test
    assert took < 20, took  # the 60 s wait was cut short
    assert process.returncode == 3, stderr[-3000:]
    assert f"node {node} was lost during the run (container exited)" in stderr
    lost = [e for e in read_jsonl(run_dir / "events.jsonl") if e["event"] == "node_lost"]
    assert lost == [{**lost[0], "node": node, "state": "exited"}]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "fail" and node in report["extra"]["aborted"]["error"]
    assert report["extra"]["nodes_lost"][0]["node"] == node
    assert report["probes"]["total"] == len(read_jsonl(run_dir / "probes.jsonl")) > 0
    print(f"[figures] docker kill {node}: exit 3 node_lost after {took:.1f}s")
