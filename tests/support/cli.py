"""Running `dnslab` as a subprocess, the way a user or CI does: the one helper every test that runs the CLI
uses (as `python -m lab`, so the tests run the checkout's code whatever is installed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMAND = (sys.executable, "-m", "lab")
RUN_TIMEOUT = 300  # seconds a playbook run may take before the test calls it stuck


def dnslab(*args: str, timeout: float = 240, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """`dnslab ARGS` to its end: exit code, stdout and stderr as text."""
    return subprocess.run([*COMMAND, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def start(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.Popen:
    """`dnslab ARGS` in the background (stdout and stderr piped, text), for a test that signals or kills it."""
    return subprocess.Popen([*COMMAND, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def run_args(playbook: str | Path, lab: str, out: Path, *extra: str) -> list[str]:
    return ["run", str(playbook), "--name", lab, "--out", str(out), *extra]


def run_playbook(playbook: str | Path, lab: str, out: Path, *extra: str,
                 timeout: float = RUN_TIMEOUT) -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
    """`dnslab run PLAYBOOK --name LAB --out OUT EXTRA...`: the finished process, report.json and the events of
    events.jsonl ({} and [] when the run wrote none, e.g. invalid input)."""
    done = dnslab(*run_args(playbook, lab, out, *extra), timeout=timeout)
    return done, read_json(out / "report.json", {}), read_jsonl(out / "events.jsonl")


def start_run(playbook: str | Path, lab: str, out: Path, *extra: str) -> subprocess.Popen:
    """`dnslab run ...` in the background, for tests that interrupt or kill a run."""
    return start(*run_args(playbook, lab, out, *extra))


def read_json(path: Path, default=None):
    return json.loads(path.read_text()) if path.exists() else default


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines file ([] when there is none)."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
