"""Lab lifecycle: idempotent up, two labs side by side, and nothing labelled left after down, also after
the orchestrator was killed with SIGKILL in the middle of `up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from lab import lifecycle
from tests.integration.conftest import REPO, labelled, lab_name
from tests.support.cli import dnslab

MINIMAL = REPO / "compose" / "minimal.yml"


def test_up_is_idempotent_and_two_labs_run_side_by_side(rt, lab_image):
    first, second = lab_name("side-a"), lab_name("side-b")
    try:
        a = lifecycle.up(MINIMAL, first, rt=rt)
        ids = sorted(c.id for c in rt.containers(first))
        again = lifecycle.up(MINIMAL, first, rt=rt)
        assert sorted(c.id for c in rt.containers(first)) == ids
        assert again["slot"] == a["slot"]

        b = lifecycle.up(MINIMAL, second, rt=rt)
        assert b["slot"] != a["slot"]  # same topology, moved to free address space
        for lab in (first, second):
            results = lifecycle.dig(lab, "dynamodb.us-east-1.cloud.test.", rt=rt)
            assert all(r["rcode"] == "NOERROR" and r["answers"] for r in results), results
    finally:
        lifecycle.down(first, rt=rt)
        lifecycle.down(second, rt=rt)
    assert labelled(rt, first) == labelled(rt, second) == \
        {"containers": 0, "networks": 0, "volumes": 0}


def test_down_after_sigkill_during_up_leaves_nothing(rt, lab_image):
    name = lab_name("killed")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lab", "up", "--topology", str(REPO / "compose" / "default.yml"),
                             "--name", name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(rt.containers(name)) < 3:
            time.sleep(0.05)
        assert rt.containers(name), "up never created a container"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert labelled(rt, name)["containers"] > 0  # the killed orchestrator left things behind
    finally:
        if proc.poll() is None:
            proc.kill()
        done = dnslab("down", "--name", name, timeout=120)
    assert done.returncode == 0, done.stderr
    assert labelled(rt, name) == {"containers": 0, "networks": 0, "volumes": 0}


def test_cli_up_with_missing_docker_exits_3_with_one_line(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    done = dnslab("status", env=env, timeout=60)
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot reach the Docker daemon"), done.stderr
