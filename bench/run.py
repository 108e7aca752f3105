"""`make bench`: measure the lab against baselines measured in the same run, side by side.

Benchmarks, not tests: they print and save figures (bench/results.json) and never fail on a number.
Each figure is the median of N runs with its min–max, next to its baseline and the ratio.

    python bench/run.py [--runs 5] [--only up,image,scale,...] [--out bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import export, image, lifecycle, runtime  # noqa: E402
from bench import scale  # noqa: E402

console = Console(stderr=True)
PREFIX = f"bench{os.getpid()}"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summary(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "runs": len(samples),
            "samples": samples}


def figure(name: str, unit: str, ours: list[float], baseline: list[float] | None, baseline_name: str | None,
           note: str = "") -> dict:
    result = {"name": name, "unit": unit, "dnslab": summary(ours), "note": note}
    if baseline:
        result["baseline"] = {"name": baseline_name, **summary(baseline)}
        result["ratio"] = result["dnslab"]["median"] / result["baseline"]["median"]
    return result


def compose(*args: str, cwd: Path) -> None:
    subprocess.run(["docker-compose", "-p", cwd.name, *args], cwd=cwd, check=True, capture_output=True, timeout=300)


def bench_up_down(client, runs: int, topology: Path, label: str) -> list[dict]:
    """dnslab up (warm image) and down against docker-compose up -d / down of the exported same lab."""
    lab = f"{PREFIX}-{label}"
    ups, downs, c_ups, c_downs = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="dnslab-bench-") as tmp:
        project = Path(tmp) / f"{lab}c"
        for i in range(runs):
            console.print(f"[{label}] run {i + 1}/{runs}: dnslab up/down")
            ups.append(timed(lambda: lifecycle.up(topology, lab, client=client)))
            if i == 0:
                export.export_compose(lab, project)
            downs.append(timed(lambda: runtime.remove_lab(client, lab)))
            console.print(f"[{label}] run {i + 1}/{runs}: docker-compose up/down")
            # Baseline: the same containers started by compose, without dnslab's readiness wait.
            c_ups.append(timed(lambda: compose("up", "-d", cwd=project)))
            c_downs.append(timed(lambda: compose("down", "-t", "0", cwd=project)))
        lifecycle.down(lab, client=client)
    return [
        figure(f"{label}: lab up (warm image, until every server answers)", "s", ups, c_ups,
               "docker-compose up -d (no readiness wait)"),
        figure(f"{label}: lab down", "s", downs, c_downs, "docker-compose down -t 0"),
    ]


def bench_image(client, runs: int) -> list[dict]:
    """Cold build (no image present) and warm (image present) — from mmdebstrap to ready."""
    tag = image.image_tag()
    in_use = [c.name for c in client.containers.list(all=True) if c.image.tags and tag in c.image.tags]
    if in_use:
        console.print(f"[image] skipping cold builds: containers use {tag} ({', '.join(in_use[:3])}...)")
        cold = []
    else:
        cold = []
        for i in range(runs):
            console.print(f"[image] cold build {i + 1}/{runs}")
            client.images.remove(tag, force=True)
            cold.append(timed(lambda: image.ensure(client)))
    warm = [timed(lambda: image.ensure(client)) for _ in range(runs)]
    size = client.images.get(tag).attrs["Size"] / 2**20
    results = [figure("image: warm check (image present)", "s", warm, None, None)]
    if cold:
        results.insert(0, figure("image: cold build (mmdebstrap + import)", "s", cold, warm,
                                 "warm check", note=f"image size {size:.0f} MiB"))
    return results


def bench_scale(client, runs: int) -> list[dict]:
    """A generated topology with 50 resolvers and clients: up and down times, memory per container."""
    with tempfile.TemporaryDirectory(prefix="dnslab-scale-") as tmp:
        path = Path(tmp) / "scale.yml"
        path.write_text(scale.topology_text(resolvers=25, clients=25))
        results = bench_up_down(client, runs, path, "scale-50")
        lab = f"{PREFIX}-scale-mem"
        try:
            lifecycle.up(path, lab, client=client)
            usage = scale.memory_per_container(client, lab)
        finally:
            lifecycle.down(lab, client=client)
    for role, samples in sorted(usage.items()):
        results.append(figure(f"scale-50: memory per {role} container", "MiB", samples, None, None))
    return results


BENCHES = {
    "up": lambda client, runs: bench_up_down(client, runs, REPO / "compose" / "default.yml", "default"),
    "image": bench_image,
    "scale": bench_scale,
}


def render(results: list[dict]) -> None:
    table = Table(title="dnslab benchmarks (median of runs, min–max)")
    for column in ("figure", "dnslab", "baseline", "ratio"):
        table.add_column(column)
    for r in results:
        ours = r["dnslab"]
        cell = f"{ours['median']:.3g} {r['unit']} ({ours['min']:.3g}–{ours['max']:.3g}, n={ours['runs']})"
        base = r.get("baseline")
        base_cell = (f"{base['median']:.3g} {r['unit']} ({base['min']:.3g}–{base['max']:.3g}) {base['name']}"
                     if base else "")
        table.add_row(r["name"] + (f" [{r['note']}]" if r["note"] else ""), cell, base_cell,
                      f"{r['ratio']:.2f}×" if "ratio" in r else "")
    Console(width=200).print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated: {', '.join(BENCHES)}")
    parser.add_argument("--out", default=str(REPO / "bench" / "results.json"))
    args = parser.parse_args()
    os.environ.setdefault("DNSLAB_HOME", tempfile.mkdtemp(prefix="dnslab-bench-home-"))
    client = runtime.connect()
    image.ensure(client, progress=lambda line: console.print(f"[image] {line}"))
    results = []
    try:
        for name in args.only.split(","):
            results += BENCHES[name.strip()](client, args.runs)
    finally:
        for lab in runtime.labs(client):
            if lab.startswith(PREFIX):
                runtime.remove_lab(client, lab)
    document = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": {"cpus": os.cpu_count(),
                "python": platform.python_version()}, "runs": args.runs, "results": results}
    Path(args.out).write_text(json.dumps(document, indent=2))
    render(results)
    console.print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
