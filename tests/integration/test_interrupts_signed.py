"""Ctrl-C during a DNSSEC fault on the signed lab: the rollback puts back what every server of the zone and of
its parent loads (a KSK rollover re-signs the child and swaps the parent's DS), also when a second Ctrl-C
arrives meanwhile, and every validating resolver validates again."""

from __future__ import annotations

import json
import random

from lab import faults
from lab.faults import FaultContext
from tests.integration.conftest import REPO
from tests.integration.test_faults_dnssec import WWW, rendered_files, until_every, zone_files
from tests.integration.test_interrupts import interrupt_twice, start_run

ROLLOVER_RUN = """
name: rollover-interrupted
topology: {topology}
probes: {{names: [www.shop.test.], rate: 4, dnssec: true}}
steps:
  - wait: {{probes: ok, count: 3, every_resolver: true}}
    timeout: 30s
  - fault: {{kind: ksk-rollover, target: sec-knot, params: {{zone: shop.test.}}}}
  - wait: 60s
checks:
  - check: never_empty
"""


def test_ctrl_c_rolls_back_a_dnssec_fault_in_the_zone_and_its_parent(signed_lab, rt, tmp_path):
    ctx = FaultContext(rt, signed_lab, random.Random(8))
    published = rendered_files(ctx)
    assert zone_files(ctx) == published
    playbook = tmp_path / "rollover.yml"
    playbook.write_text(ROLLOVER_RUN.format(topology=REPO / "compose" / "signed.yml"))
    run_dir = tmp_path / "run"
    process = start_run(signed_lab["lab"], run_dir, playbook=playbook)
    try:
        stderr = interrupt_twice(run_dir, process, step=3)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-3000:]
    assert "rolling back and writing the report — one moment" in stderr and "Traceback" not in stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "interrupted"
    assert [(f["kind"], f["end"] is not None) for f in report["faults"]] == [("ksk-rollover", True)]
    assert faults.active(ctx) == []
    assert zone_files(ctx) == published  # shop.test. and test. (its DS) as `up` published them
    # Caches may hold the rolled key's bogus state for a while; the published zone validates again.
    faults.clear(ctx, faults.inject(ctx, "restart", "role:resolver")["id"])
    until_every(rt, signed_lab, WWW, lambda r: r["rcode"] == "NOERROR" and r["ad"], timeout=60)
