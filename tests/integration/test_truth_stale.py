"""Stale answers from real resolvers: with serve-stale on (RFC 8767), every public server of cloud.test. cut
off from the resolvers, and the record changed on the hidden primary meanwhile (its secondaries still get it),
the resolvers keep answering the old address past its TTL — data no authoritative server holds any more.
The truth calls exactly those answers stale; the old address before the change, and the new one after the
clear, are held. The run brings its own lab up (another topology: serve-stale in the resolvers' configs)
and takes it down again."""

from __future__ import annotations

import json
import subprocess
import sys

from lab import records
from tests.integration.conftest import REPO, lab_name

OLD, NEW = "198.51.100.1", "198.51.100.9"

STALE_RUN = f"""
name: stale-after-a-change
topology:
  file: {REPO / "compose" / "default.yml"}
  overrides: {{options: {{resolver: {{serve_stale: true}}}}}}
probes: {{names: [api.cloud.test.], rate: 4, timeout: 4s}}
steps:
  - wait: {{probes: ok, count: 3, every_resolver: true}}
    timeout: 30s
  - fault: {{kind: partition, target: sec-knot, params: {{from: ["role:resolver"]}}}}
  - fault: {{kind: partition, target: sec-nsd, params: {{from: ["role:resolver"]}}}}
  - action: {{name: zone_update, params: {{zone: cloud.test., ops: [[replace, api, 5, A, [{NEW}]]]}}}}
  - wait: 20s
  - clear: all
  - wait: 10s
checks:
  - check: answers_valid
  - {{check: expect_answers, answers: [{NEW}]}}
"""


def test_serve_stale_answers_after_the_record_changed_are_stale(rt, lab_image, tmp_path):
    playbook = tmp_path / "stale.yml"
    playbook.write_text(STALE_RUN)
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "lab", "run", str(playbook), "--name", lab_name("stale"),
                           "--out", str(run_dir)], cwd=REPO, capture_output=True, text=True, timeout=400)
    assert (run_dir / "report.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((run_dir / "report.json").read_text())
    checks = {c["check"]: c for c in report["checks"]}
    assert done.returncode == 1 and not checks["answers_valid"]["ok"], report["checks"]
    assert checks["expect_answers"]["ok"], checks["expect_answers"]["detail"]  # the change came through
    found = records.read_run(run_dir)
    changed = next(e["t"] for e in found.events if e.get("event") == "action_done")
    wrong = [p for p in found.probes if records.is_wrong(p)]
    # Every wrong answer is the old address, served stale after the change outlived its TTL, by a resolver
    # the outage kept from the new one.
    assert wrong and all(p["truth"] == "stale" and p["answers"] == [OLD] and p["t"] > changed for p in wrong)
    assert checks["answers_valid"]["data"]["stale"] == len(wrong)
    assert all(p["truth"] == "held" for p in found.probes if p["answers"] == [OLD] and p["t"] < changed)
    assert all(p["truth"] == "held" for p in found.probes if p["answers"] == [NEW])
    print(f"[figures] stale: {len(wrong)} stale answers, by resolver "
          + ", ".join(f"{r} {v['wrong']}" for r, v in report["resolvers"].items()))
