"""The spoof playbook's mitigation on the signed lab: sec-nsd tells the same lie, and every validating
resolver refuses it (the unsigned answer is bogus), so no client ever gets the made-up address."""

from __future__ import annotations

import json
import subprocess
import sys

from lab import faults, records
from tests.integration.conftest import REPO
from tests.integration.faultkit import context, direct

SPOOF_PLAYBOOK = REPO / "playbooks" / "spoof-secondary.yml"
SPOOFED = "192.0.2.66"


def test_validating_resolvers_keep_the_spoofed_address_out(signed_lab, rt, tmp_path):
    run_dir = tmp_path / "signed"
    done = subprocess.run([sys.executable, "-m", "lab", "run", str(SPOOF_PLAYBOOK), "--name", signed_lab["lab"],
                           "--out", str(run_dir), "--set", "topology.file=../compose/signed.yml"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((run_dir / "report.json").read_text())
    assert {c["check"]: c["ok"] for c in report["checks"]} == {"answers_valid": True, "forbid_answers": True}
    probes = records.read_run(run_dir).probes
    assert not any(SPOOFED in p["answers"] for p in probes)
    answered = [p for p in probes if p["rcode"] == "NOERROR"]
    # Every answer clients got was validated and judged right. (A resolver that refused the lie may answer
    # SERVFAIL for a while instead: PowerDNS Recursor did for 30 s, past the clear; those are not judged.)
    assert answered and all(p["ad"] and p["truth"] == "held" for p in answered)

    # The lie was there to refuse: the same fault makes sec-nsd itself answer the made-up address, unsigned.
    ctx = context(rt, signed_lab)
    record = faults.inject(ctx, "spoof", "sec-nsd", {"address": SPOOFED, "names": ["api.cloud.test."]})
    try:
        told = direct(rt, signed_lab, "sec-nsd", "api.cloud.test.")
        assert told["answers"] == [SPOOFED], told
    finally:
        faults.clear(ctx, record["id"])
