"""The 2025 race playbook end to end on a warm lab, both enactor strategies, through `dnslab run`.

The lab (compose/enactors.yml) comes up once; every run is `dnslab run PLAYBOOK --name LAB --out TMP`
in a subprocess, as a user types it, so the figure includes the CLI's start, the runner's own `up`
check of the running lab, the probes, the steps and the report. Baseline: the playbook's fixed waits
(setup and steps), the floor no run can go below; the run's wall time over that floor is the lab's own
overhead plus the conditions it waits for.
"""

from __future__ import annotations

import collections
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import PREFIX, console, figure
from lab import lifecycle
from lab.playbook import document

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "playbooks" / "aws-2025-dynamodb-enactor-race.yml"
STRATEGIES = {"naive": (), "guarded": ("--set", "enactor.strategy=guarded")}
EXPECTED_EXIT = {"naive": 1, "guarded": 0}
RUN_TIMEOUT = 300


def fixed_waits(path: Path = PLAYBOOK) -> float:
    """Seconds of plain `wait: DURATION` steps in setup and steps: what every run waits at least."""
    playbook = document.load(path)
    return sum(step.spec["seconds"] for step in (*playbook.setup, *playbook.steps) if step.kind == "sleep")


def run_once(lab: str, out: Path, extra: tuple[str, ...]) -> tuple[float, int, dict]:
    """(wall seconds, exit code, report.json) of one `dnslab run`."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lab", "run", str(PLAYBOOK), "--name", lab, "--out", str(out),
                           *extra], cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    wall = time.perf_counter() - start
    report_path = out / "report.json"
    if not report_path.exists():
        tail = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise RuntimeError(f"dnslab run wrote no report (exit {done.returncode}): {tail}")
    return wall, done.returncode, json.loads(report_path.read_text())


def bench(rt, runs: int) -> list[dict]:
    lab = f"{PREFIX}-race"
    floor = fixed_waits()
    walls: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    empties: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    exits: dict[str, collections.Counter] = {s: collections.Counter() for s in STRATEGIES}
    verdicts: dict[str, collections.Counter] = {s: collections.Counter() for s in STRATEGIES}
    try:
        console.print("[race] bringing compose/enactors.yml up (warm lab for every run)")
        lifecycle.up(REPO / "compose" / "enactors.yml", lab, rt=rt)
        with tempfile.TemporaryDirectory(prefix="dnslab-bench-race-") as tmp:
            for i in range(runs):
                for strategy, extra in STRATEGIES.items():  # interleaved: drift on the machine hits both alike
                    wall, code, report = run_once(lab, Path(tmp) / f"{strategy}-{i}", extra)
                    walls[strategy].append(wall)
                    empties[strategy].append(report["probes"]["empty_answers"])
                    exits[strategy][code] += 1
                    verdicts[strategy][report["verdict"]] += 1
                    console.print(f"[race] run {i + 1}/{runs} {strategy}: {wall:.1f} s, exit {code}, "
                                  f"verdict {report['verdict']}, {report['probes']['empty_answers']} empty answers")
    finally:
        lifecycle.down(lab, rt=rt)
    results = []
    for strategy in STRATEGIES:
        seen = ", ".join(f"exit {code}×{n}" for code, n in sorted(exits[strategy].items()))
        verdict = ", ".join(f"{v}×{n}" for v, n in sorted(verdicts[strategy].items()))
        expected = "as expected" if set(exits[strategy]) == {EXPECTED_EXIT[strategy]} else \
            f"EXPECTED exit {EXPECTED_EXIT[strategy]}"
        other = "naive" if strategy == "guarded" else "guarded"
        results.append(figure(
            f"race {strategy}: dnslab run end to end (warm lab)", "s", walls[strategy], [floor],
            "sum of the playbook's fixed waits (floor)",
            note=f"{seen} ({expected}); verdict {verdict}",
            exit_codes={str(k): v for k, v in exits[strategy].items()}, verdicts=dict(verdicts[strategy]),
            **({f"ratio_to_{other}": statistics.median(walls[strategy]) / statistics.median(walls[other])}
               if strategy == "guarded" else {})))
        results.append(figure(f"race {strategy}: empty answers seen by clients per run", "answers",
                              empties[strategy], None, None))
    return results

