"""The October 2025 race, end to end through `dnslab run`: real planner and enactors race on a real lab.

Naive (the design that failed): exit 1, never_empty fails with empty answers through every resolver, the
enactors get stuck until `repair`. Guarded (the fix): exit 0, no empty answer, the stale writes refused.
The endpoints are dual-stack (enactors.yml's pool holds IPv6 addresses): naive empties the A and the AAAA
set, guarded neither (never_empty judged per type). Both runs share one lab (the playbook's first step
resets the pipeline)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "aws-2025-dynamodb-enactor-race.yml"
RESOLVERS = {"unbound", "bind-resolver", "knot-resolver", "pdns-recursor"}


@pytest.fixture(scope="module")
def race_lab(enactors_lab):
    return enactors_lab


def run(lab: dict, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
    return run_playbook(PLAYBOOK, lab["lab"], out, *extra)


def test_naive_enactors_empty_the_endpoint_until_repair(race_lab, tmp_path):
    done, report, events = run(race_lab, tmp_path / "naive")
    assert done.returncode == 1, done.stderr[-3000:]
    checks = {c["name"]: c for c in report["checks"]}
    assert not checks["the DynamoDB endpoints never go empty"]["ok"]
    assert report["probes"]["empty_answers"] > 0
    by_type = checks["the DynamoDB endpoints never go empty"]["data"]["by_type"]
    print(f"naive: empty answers by type {by_type}")  # the figures, with -s
    assert by_type.get("A", 0) > 0 and by_type.get("AAAA", 0) > 0, by_type  # both address sets went empty
    empty_by_resolver = {r: v["empty"] for r, v in report["probes"]["by_resolver"].items()}
    assert set(empty_by_resolver) == RESOLVERS and all(n > 0 for n in empty_by_resolver.values()), empty_by_resolver
    # The report says what each resolver returned for the empty name.
    detail = checks["the DynamoDB endpoints never go empty"]["detail"]
    assert "NODATA" in detail or "NXDOMAIN" in detail
    kinds = [e["event"] for e in events]
    assert "cleanup_deleted" in kinds
    # The enactors were stuck before the operator's repair step, not merely slow.
    repair = next(i for i, e in enumerate(events) if e["event"] == "step_started" and "repair" in json.dumps(e))
    assert "stuck" in kinds[:repair]


def test_guarded_enactors_refuse_the_stale_writes_and_never_empty(race_lab, tmp_path):
    done, report, events = run(race_lab, tmp_path / "guarded", "--set", "enactor.strategy=guarded")
    assert done.returncode == 0, done.stderr[-3000:]
    assert report["verdict"] == "pass"
    assert report["probes"]["empty_answers"] == 0
    assert all(c["ok"] for c in report["checks"]), report["checks"]
    never_empty = next(c for c in report["checks"] if c["check"] == "never_empty")
    assert never_empty["data"]["by_type"] == {}
    # The AAAA sets were asked for and answered, not merely absent from the judgement.
    probes = [json.loads(line) for line in (tmp_path / "guarded" / "probes.jsonl").read_text().splitlines()]
    assert any(p["type"] == "AAAA" and p["answers"] and all(":" in a for a in p["answers"]) for p in probes)
    refused = [e for e in events if e["event"] == "refused"]
    assert refused and {e["reason"] for e in refused} >= {"stale"}
    assert {e["source"] for e in refused} >= {"enactor-a"}
