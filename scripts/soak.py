"""Soak `dnslab run`: run a long playbook and sample, every few seconds, the orchestrator's memory, threads and
open files and the run directory's size and record counts; write a CSV and a summary that says whether they
grow only as the records do.

    .venv/bin/python scripts/soak.py [--minutes 20] [--every 10] [--playbook playbooks/soak-20min.yml]

`make soak` runs it (SOAK_MINUTES=N for a shorter soak: every plain wait and fault duration of the playbook is
scaled by N/20 with --set). Output in runs/soak-<time>/: run/ (the RUN_DIR), soak.csv, summary.json. The lab
is named soak-<pid>; the run brings it up and takes it down again. Not part of `make test`.

The wrap-up (from the probers' closing lines to the end: rollback, judging, the report files) is sampled every
second, and its peak memory is the run's peak RSS — as the kernel counted it when the process ended (wait4's
ru_maxrss) or the last VmHWM sampled, the larger — against the peak before the wrap-up began (VmHWM):
`wrap_up_peak_rss_mb`, `wrap_up_rss_growth_mb`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "playbooks" / "soak-20min.yml"
PLAYBOOK_MINUTES = 20.0  # what the playbook's waits add up to
FIELDS = ("elapsed_s", "phase", "rss_mb", "hwm_mb", "threads", "open_fds", "run_dir_mb", "probe_lines",
          "event_lines")
WRAP_UP = b'"prober_summary"'  # the first prober's closing line: probing is over, rollback and report follow
WRAP_UP_EVERY = 1.0  # seconds between samples once the wrap-up began: it lasts seconds, not minutes


def scaled_sets(playbook: Path, factor: float) -> list[str]:
    """--set options that scale every plain wait and fault duration of the playbook by `factor`."""
    from lab.duration import parse_duration  # noqa: PLC0415 - the repo's own notation

    sets = []
    for number, step in enumerate(yaml.safe_load(playbook.read_text())["steps"], start=1):
        if isinstance(step.get("wait"), (str, int, float)):
            sets.append(f"steps.{number}.wait={parse_duration(str(step['wait'])) * factor:.1f}s")
        fault = step.get("fault")
        if isinstance(fault, dict) and fault.get("duration"):
            sets.append(f"steps.{number}.fault.duration={parse_duration(str(fault['duration'])) * factor:.1f}s")
    return sets


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (kB) and Threads of a live process, from /proc."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                found[key] = int(value.split()[0])
    return found


class LineCounter:
    """Counts the lines of a growing file, reading only what was appended since the last look; `seen` says
    whether `marker` has appeared in it."""

    def __init__(self, path: Path, marker: bytes | None = None):
        self.path, self.offset, self.lines, self.marker, self.seen = path, 0, 0, marker, False

    def count(self) -> int:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return self.lines
        self.offset += len(chunk)
        self.lines += chunk.count(b"\n")
        self.seen = self.seen or bool(self.marker and self.marker in chunk)
        return self.lines


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def sample(pid: int, started: float, run_dir: Path, probes: LineCounter, events: LineCounter) -> dict | None:
    try:
        status = proc_status(pid)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None  # it has just ended
    lines = events.count()
    return {"elapsed_s": round(time.monotonic() - started, 1), "phase": "wrap-up" if events.seen else "probing",
            "rss_mb": round(status["VmRSS"] / 1024, 1),
            "hwm_mb": round(status["VmHWM"] / 1024, 1), "threads": status["Threads"], "open_fds": fds,
            "run_dir_mb": round(directory_bytes(run_dir) / 2**20, 3), "probe_lines": probes.count(),
            "event_lines": lines}


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ys over xs (None with fewer than 3 points or no spread)."""
    if len(xs) < 3:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return None if spread == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / spread


def summarize(rows: list[dict], run_dir: Path, exit_code: int, minutes: float, wall: float,
              max_rss_kb: int | None = None) -> dict:
    """The figures of a soak; `max_rss_kb`: the run's peak RSS over its whole life (wait4's ru_maxrss)."""
    probing = [r for r in rows if r["probe_lines"] > 0 and r["phase"] == "probing"]
    wrap_up = [r for r in rows if r["phase"] == "wrap-up"]
    size = directory_bytes(run_dir)
    lines = LineCounter(run_dir / "probes.jsonl").count()
    records = run_dir / "probes.jsonl"
    per_line = records.stat().st_size / lines if lines and records.exists() else None
    growth = slope([r["probe_lines"] / 1000 for r in probing], [r["rss_mb"] for r in probing])
    return {
        "minutes_asked": minutes, "wall_s": round(wall, 1), "exit_code": exit_code, "samples": len(rows),
        "probe_lines": lines, "event_lines": LineCounter(run_dir / "events.jsonl").count(),
        "run_dir_mb": round(size / 2**20, 3),
        "run_dir_mb_per_1000_probe_lines": round(size / 2**20 / lines * 1000, 4) if lines else None,
        "probes_jsonl_bytes_per_line": round(per_line, 1) if per_line else None,
        "rss_mb_start": probing[0]["rss_mb"] if probing else None,
        "rss_mb_end": probing[-1]["rss_mb"] if probing else None,
        "rss_mb_max": max(r["rss_mb"] for r in rows) if rows else None,
        "rss_mb_wrap_up_max": max(r["rss_mb"] for r in wrap_up) if wrap_up else None,
        "hwm_mb": rows[-1]["hwm_mb"] if rows else None,
        **wrap_up_peak(rows, max_rss_kb),
        "rss_mb_per_1000_probe_lines_while_probing": round(growth, 3) if growth is not None else None,
        "threads_start_end": [probing[0]["threads"], probing[-1]["threads"]] if probing else None,
        "open_fds_start_end": [probing[0]["open_fds"], probing[-1]["open_fds"]] if probing else None,
    }


def wrap_up_peak(rows: list[dict], max_rss_kb: int | None) -> dict:
    """The wrap-up's peak RSS (the run's, when it came after probing) and how far above the peak before it."""
    before = [r["hwm_mb"] for r in rows if r["phase"] == "probing"]
    seen = [r["hwm_mb"] for r in rows] + ([] if max_rss_kb is None else [round(max_rss_kb / 1024, 1)])
    peak = max(seen) if seen else None
    return {"wrap_up_peak_rss_mb": peak,
            "wrap_up_rss_growth_mb": round(peak - before[-1], 1) if peak is not None and before else None}


def reap(pid: int, block: bool) -> tuple[int, int] | None:
    """(exit code, peak RSS in kB) of the child once it ended; None while it runs (block=False)."""
    done, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
    return None if done == 0 else (os.waitstatus_to_exitcode(status), usage.ru_maxrss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES") or PLAYBOOK_MINUTES))
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--playbook", type=Path, default=PLAYBOOK)
    parser.add_argument("--out", type=Path, help="output directory (default runs/soak-<time>/)")
    args = parser.parse_args(argv)
    if not 0.5 <= args.minutes <= 240:
        parser.error("--minutes must be between 0.5 and 240")

    out = args.out or REPO / "runs" / f"soak-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=False)
    run_dir = out / "run"
    sets = scaled_sets(args.playbook, args.minutes / PLAYBOOK_MINUTES) if args.minutes != PLAYBOOK_MINUTES else []
    lab = f"soak-{os.getpid()}"
    command = [sys.executable, "-m", "lab", "run", str(args.playbook), "--name", lab, "--out", str(run_dir),
               *[part for option in sets for part in ("--set", option)]]
    print(f"soak: {args.minutes:g} min of {args.playbook.name} in lab {lab}, a sample every {args.every:g}s -> {out}",
          flush=True)
    started = time.monotonic()
    probes, events = LineCounter(run_dir / "probes.jsonl"), LineCounter(run_dir / "events.jsonl", WRAP_UP)
    log = open(out / "dnslab-run.log", "w")
    process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    rows: list[dict] = []
    ended = None  # reaped with wait4 ourselves (not Popen.wait): its rusage holds the run's peak RSS
    with open(out / "soak.csv", "w", newline="") as table:
        writer = csv.DictWriter(table, FIELDS)
        writer.writeheader()
        try:
            while (ended := reap(process.pid, block=False)) is None:
                row = sample(process.pid, started, run_dir, probes, events)
                if row:
                    rows.append(row)
                    writer.writerow(row)
                    table.flush()
                    print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
                deadline = time.monotonic() + (WRAP_UP_EVERY if events.seen else args.every)
                while time.monotonic() < deadline and (ended := reap(process.pid, block=False)) is None:
                    time.sleep(0.2)
                if ended is not None:
                    break
        except KeyboardInterrupt:  # pass Ctrl-C on: the run rolls back and reports, then we summarize
            ended = reap(process.pid, block=True)
    log.close()
    code, max_rss_kb = ended
    summary = summarize(rows, run_dir, code, args.minutes, time.monotonic() - started, max_rss_kb)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"soak: wrap-up peak RSS {summary['wrap_up_peak_rss_mb']} MB ({summary['wrap_up_rss_growth_mb']:+} MB over "
          f"the peak while probing) for {summary['probe_lines']} probe lines" if summary["wrap_up_rss_growth_mb"]
          is not None else "soak: no wrap-up peak (the run ended before probing)", flush=True)
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    sys.exit(main())
