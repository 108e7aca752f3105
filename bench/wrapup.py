"""The wrap-up's memory: judging and drawing a run (lab.report.write_all, what `dnslab run` does after its
steps and `dnslab report` does again) on made-up records the size of the 20-minute soak and ten times that,
no lab needed. Each size is measured in a fresh process of its own, two ways: the peak of Python's own
allocations (tracemalloc, numpy's included) and the growth of the process's peak RSS (ru_maxrss; what the
machine sees, matplotlib's and the allocator's own included), each minus the process before the wrap-up.

    python -m bench.wrapup [--count 38600] [--scale 10]     # prints both sizes as JSON
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOAK_PROBES = 38_600  # probe lines of the 20-minute soak (README, Reliability)


def wrap_up(run_dir: Path, traced: bool) -> dict:
    """Judge and draw RUN_DIR in this process; the peak memory it took, in MB."""
    from lab import report as lab_report
    from lab.report import html, timeline  # noqa: F401 - imported before measuring: matplotlib's import is no wrap-up
    from tests.support import synthetic

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    lab_report.write_all(run_dir, "synthetic", 1, None, synthetic.CHECK_SPECS)
    seconds = time.perf_counter() - started
    if traced:  # tracemalloc slows every allocation down: its run's time is no figure of the wrap-up's
        return {"tracemalloc_peak_mb": round(tracemalloc.get_traced_memory()[1] / 1e6, 1),
                "traced_seconds": round(seconds, 2)}
    return {"seconds": round(seconds, 2),
            "maxrss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, 1)}


def measure(count: int) -> dict:
    """Both figures for a run of `count` probes, each in a fresh process."""
    from tests.support import synthetic

    with tempfile.TemporaryDirectory(prefix="dnslab-wrapup-") as tmp:
        run_dir = synthetic.write_run(Path(tmp), count)
        figures = {"probes": count, "probes_mb": round((run_dir / "probes.jsonl").stat().st_size / 1e6, 1)}
        for traced in (False, True):
            done = subprocess.run([sys.executable, "-m", "bench.wrapup", "--one", str(run_dir)]
                                  + (["--traced"] if traced else []), cwd=REPO, capture_output=True, text=True,
                                  check=True)
            figures |= json.loads(done.stdout)
    return figures


def bench(rt, runs: int) -> list[dict]:
    """`make bench` rows: peak memory of the wrap-up at ten times the soak's probes, against the soak's size."""
    from bench.figures import figure

    small = [measure(SOAK_PROBES) for _ in range(runs)]
    large = [measure(SOAK_PROBES * 10) for _ in range(runs)]
    rows = []
    for key, how in (("maxrss_growth_mb", "peak RSS growth"), ("tracemalloc_peak_mb", "tracemalloc peak")):
        rows.append(figure(f"wrap-up of {SOAK_PROBES * 10:,} probes: {how}", "MB", [f[key] for f in large],
                           [f[key] for f in small], f"{SOAK_PROBES:,} probes (the 20-minute soak)"))
    rows.append(figure(f"wrap-up of {SOAK_PROBES * 10:,} probes: time", "s", [f["seconds"] for f in large],
                       [f["seconds"] for f in small], f"{SOAK_PROBES:,} probes"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=SOAK_PROBES)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--one", metavar="RUN_DIR", help=argparse.SUPPRESS)  # the measuring child
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(wrap_up(Path(args.one), args.traced)))
        return 0
    print(json.dumps([measure(args.count), measure(args.count * args.scale)], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
