"""The four DNSSEC incident playbooks through `dnslab run`, each as it happened (exit 1, the symptom through
every validating resolver) and with its mitigation (exit 0). All eight runs share one signed lab; each
playbook's setup restarts the resolvers, so no run inherits another's cached bogus state. They belong to the
incident library: `make test-library` (marker `library`), which CI runs after `make test`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import REPO, run_playbook

RESOLVERS = {"unbound", "bind-resolver", "knot-resolver", "pdns-recursor"}
pytestmark = pytest.mark.library

# playbook -> (the --set that switches the mitigation on, the rcode every resolver shows as it happened)
PLAYBOOKS = {
    "cloudflare-2023-expired-rrsig": ("steps.3.action.params.margin=60", "SERVFAIL"),
    "nz-2023-ksk-rollover": ("steps.2.fault.params.double_signature=true", "SERVFAIL"),
    "se-2022-bad-signatures": ("steps.2.fault.params.verify=true", "SERVFAIL"),
    "slack-2021-dnssec-denial": ("steps.2.fault.params.negative_ttl=2", "NXDOMAIN"),
}


def run(lab: dict, playbook: str, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    done, report, _ = run_playbook(REPO / "playbooks" / f"{playbook}.yml", lab["lab"], out, *extra)
    return done, report


@pytest.mark.parametrize("playbook", sorted(PLAYBOOKS))
def test_as_it_happened_every_validating_resolver_shows_the_symptom(signed_lab, tmp_path, playbook):
    _, rcode = PLAYBOOKS[playbook]
    done, report = run(signed_lab, playbook, tmp_path / "incident")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert not report["checks"][0]["ok"], report["checks"]
    seen = report["resolvers"]
    assert set(seen) == RESOLVERS
    for resolver, outcome in seen.items():
        assert outcome["rcodes"].get(rcode, 0) > 0, (resolver, outcome)
        assert outcome["first_failure_s"] is not None, (resolver, outcome)
    if rcode == "NXDOMAIN":  # a wrong denial validates: the resolvers believe it
        probes = [json.loads(line) for line in (tmp_path / "incident" / "probes.jsonl").read_text().splitlines()]
        assert all(p["ad"] for p in probes if p["rcode"] == "NXDOMAIN")


@pytest.mark.parametrize("playbook", sorted(PLAYBOOKS))
def test_with_the_mitigation_the_checks_hold(signed_lab, tmp_path, playbook):
    switch, _ = PLAYBOOKS[playbook]
    done, report = run(signed_lab, playbook, tmp_path / "mitigated", "--set", switch)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert all(c["ok"] for c in report["checks"]), report["checks"]
