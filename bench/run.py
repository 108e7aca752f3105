"""`make bench`: measure the lab against baselines measured in the same run, side by side.

Benchmarks, not tests: they print and save figures (bench/results.json) and never fail on a number.
Each figure is the median of N runs with its min–max, next to its baseline and the ratio.

    python bench/run.py [--runs 5] [--only up,image,scale,...] [--out bench/results.json]
    python bench/run.py --only cold --runs 3     # a fresh clone's make lab-up, cold and warm caches (opt-in)
    python bench/run.py --only faults-hosts --runs 3   # the zone faults across scripts/swarm-sim's engines (opt-in)
    python bench/run.py --markdown bench/results.json     # the saved table, as Markdown
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
from rich.console import Console
from rich.markup import escape
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import cold, faults, hostfaults, multihost, probes, race, scale, wrapup
from bench.figures import PREFIX, console, figure, skipped, timed
from lab import composeproject, image, lifecycle, runtime


def compose_command() -> list[str]:
    """`docker compose` (the plugin) when Docker has it, else the standalone docker-compose."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise SystemExit("bench: neither `docker compose` nor docker-compose is installed (the baseline of `up`)")


def compose(*args: str, cwd: Path) -> None:
    argv = [*compose_command(), "-p", cwd.name, *args]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {tail}")


def bench_up_down(rt, runs: int, topology: Path, label: str) -> list[dict]:
    """dnslab up (warm image) and down against docker-compose up -d / down of the exported same lab."""
    lab = f"{PREFIX}-{label}"
    ups, downs, c_ups, c_downs = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="dnslab-bench-") as tmp:
        project = Path(tmp) / f"{lab}c"
        for i in range(runs):
            console.print(f"[{label}] run {i + 1}/{runs}: dnslab up/down")
            ups.append(timed(lambda: lifecycle.up(topology, lab, rt=rt)))
            if i == 0:
                composeproject.export_compose(lab, project)
            downs.append(timed(lambda: rt.remove_lab(lab)))
            console.print(f"[{label}] run {i + 1}/{runs}: docker-compose up/down")
            # Baseline: the same containers started by compose, without dnslab's readiness wait.
            c_ups.append(timed(lambda: compose("up", "-d", cwd=project)))
            c_downs.append(timed(lambda: compose("down", "-t", "0", cwd=project)))
            console.print(f"[{label}] run {i + 1}/{runs}: up {ups[-1]:.2f} s, down {downs[-1]:.2f} s; "
                          f"compose up {c_ups[-1]:.2f} s, down {c_downs[-1]:.2f} s")
        lifecycle.down(lab, rt=rt)
    return [
        figure(f"{label}: lab up (warm image, until every server answers)", "s", ups, c_ups,
               f"{' '.join(compose_command())} up -d (no readiness wait)"),
        figure(f"{label}: lab down", "s", downs, c_downs, f"{' '.join(compose_command())} down -t 0"),
    ]


def bench_image(rt, runs: int) -> list[dict]:
    """Cold build (no image present: mmdebstrap, import, tag) and warm (image present) — until ensure() returns
    the tag a lab can start from. A cold build removes the image first, so it runs only when no container
    (of any lab: other people's tests share this machine) uses the image; otherwise it is skipped, and says so."""
    tag = image.image_tag()
    warm = [timed(lambda: image.ensure(rt)) for _ in range(runs)]
    results = [figure("image: warm check (image present)", "s", warm, None, None)]
    cold_name = "image: cold build (mmdebstrap + import, no image present, no .deb cache)"
    engine = docker.from_env()  # the image bench removes and inspects images: the engine's own SDK
    image_id = engine.images.get(tag).id
    users = sorted({c.labels.get(runtime.LAB) or c.name for c in engine.containers.list(all=True)
                    if c.attrs.get("Image") == image_id})
    if users:
        return [skipped(cold_name, f"containers of {len(users)} lab(s) use {tag} ({', '.join(users[:4])}); "
                                   "run `bench/run.py --only image` when nothing does"), *results]
    cold = []
    for i in range(runs):
        engine.images.remove(tag, force=True)
        with tempfile.TemporaryDirectory(prefix="dnslab-bench-cache-") as empty:  # a cold build downloads everything
            os.environ["DNSLAB_CACHE"] = empty
            try:
                cold.append(timed(lambda: image.ensure(rt, builder="mmdebstrap")))
            finally:
                del os.environ["DNSLAB_CACHE"]
        console.print(f"[image] cold build {i + 1}/{runs}: {cold[-1]:.1f} s")
    size = engine.images.get(tag).attrs["Size"] / 2**20
    return [figure(cold_name, "s", cold, warm, "warm check (image present)", note=f"image size {size:.0f} MiB"),
            *results]


def bench_scale(rt, runs: int) -> list[dict]:
    """A generated topology with 50 resolvers and clients: up and down times, memory per container."""
    with tempfile.TemporaryDirectory(prefix="dnslab-scale-") as tmp:
        path = Path(tmp) / "scale.yml"
        path.write_text(scale.topology_text(resolvers=25, clients=25))
        results = bench_up_down(rt, runs, path, "scale-50")
        lab = f"{PREFIX}-scale-mem"
        try:
            lifecycle.up(path, lab, rt=rt)
            usage = scale.memory_per_container(lab)
        finally:
            lifecycle.down(lab, rt=rt)
    for role, samples in sorted(usage.items()):
        results.append(figure(f"scale-50: memory per {role} container", "MiB", samples, None, None))
    return results


BENCHES = {
    "up": lambda rt, runs: bench_up_down(rt, runs, REPO / "compose" / "default.yml", "default"),
    "image": bench_image,
    "probes": probes.bench,
    "faults": faults.bench,
    "faults-dnssec": faults.bench_dnssec,  # the DNSSEC kinds on compose/signed.yml (a lab of its own)
    "race": race.bench,
    "scale": bench_scale,
    "wrapup": wrapup.bench,  # no lab: judging and drawing made-up records of the soak's size and ten times it
    "cold": cold.bench,  # minutes a run: only when asked for (ONLY=cold)
    "multihost": multihost.bench,  # three engines on this machine (scripts/swarm-sim): minutes; only with ONLY=
    "faults-hosts": hostfaults.bench,  # the zone faults on the same simulator: only with ONLY=
}
DEFAULT = [name for name in BENCHES if name not in ("cold", "multihost", "faults-hosts")]


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def cell(stats: dict, unit: str, p99: bool = False, runs: bool = False) -> str:
    """`median unit (min–max[, p99 x][, n=N])`."""
    parts = [f"{number(stats['min'])}–{number(stats['max'])}"]
    if p99:
        parts.append(f"p99 {number(stats['p99'])}")
    if runs:
        parts.append(f"n={stats['runs']}")
    return f"{number(stats['median'])} {unit} ({', '.join(parts)})"


def render(results: list[dict]) -> None:
    table = Table(title="dnslab benchmarks (median of runs, min–max)")
    for column in ("figure", "dnslab", "baseline", "ratio"):
        table.add_column(column)
    for r in results:
        if "skipped" in r:
            table.add_row(escape(r["name"]), f"[yellow]not measured[/yellow]: {escape(r['skipped'])}", "", "")
            continue
        ours = r["dnslab"]
        base = r.get("baseline")
        table.add_row(escape(r["name"] + (f" [{r['note']}]" if r["note"] else "")),
                      cell(ours, r["unit"], r.get("show_p99", False), runs=True),
                      escape(f"{cell(base, r['unit'], r.get('show_p99', False))} {base['name']}") if base else "",
                      f"{r['ratio']:.3g}×" if "ratio" in r else "")
    Console(width=200).print(table)


def markdown(results: list[dict]) -> str:
    """The same table as `render`, in Markdown (for a README or an issue note)."""
    lines = ["| figure | dnslab | baseline | ratio |", "|---|---|---|---|"]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['name']} | not measured: {r['skipped']} | | |")
            continue
        base = r.get("baseline")
        lines.append("| " + " | ".join([
            r["name"] + (f" ({r['note']})" if r["note"] else ""),
            cell(r["dnslab"], r["unit"], r.get("show_p99", False), runs=True),
            f"{cell(base, r['unit'], r.get('show_p99', False))} {base['name']}" if base else "",
            f"{r['ratio']:.3g}×" if "ratio" in r else ""]) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", metavar="RESULTS", help="print the table of a saved results.json as Markdown")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(DEFAULT),
                        help=f"comma-separated: {', '.join(BENCHES)} "
                             f"(default: all but cold, multihost and faults-hosts)")
    parser.add_argument("--out", default=str(REPO / "bench" / "results.json"))
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())["results"]))
        return 0
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown or args.runs < 1:
        parser.error(f"--only: unknown benchmark {', '.join(unknown)} (known: {', '.join(BENCHES)})" if unknown
                     else "--runs must be at least 1")
    os.environ.setdefault("DNSLAB_HOME", tempfile.mkdtemp(prefix="dnslab-bench-home-"))
    rt = runtime.connect()
    image.ensure(rt, progress=lambda line: console.print(f"[image] {line}"))
    results, elapsed, failed = [], {}, []
    started = time.perf_counter()
    document = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                            "docker": docker.from_env().version().get("Version")},
                "runs": args.runs, "benchmarks": chosen, "complete": False, "elapsed_s": elapsed, "results": results}

    def save() -> None:  # after every benchmark: a run that breaks later keeps what it measured
        elapsed["total"] = round(time.perf_counter() - started, 1)
        Path(args.out).write_text(json.dumps(document, indent=2) + "\n")

    try:
        for name in chosen:
            begin = time.perf_counter()
            try:
                results += BENCHES[name](rt, args.runs)
            except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others' figures
                console.print_exception(max_frames=5)
                failed.append(name)
                results.append(skipped(f"{name}: every figure", f"failed: {type(exc).__name__}: {exc}"))
            elapsed[name] = round(time.perf_counter() - begin, 1)
            console.print(f"[{name}] done in {elapsed[name]:.0f} s")
            save()
        document["complete"] = not failed
        save()
    finally:
        remove_own_labs(rt)
    render(results)
    console.print(f"saved {args.out} ({elapsed['total']:.0f} s)")
    return 1 if failed else 0  # a benchmark that broke, never a figure, fails the run


def remove_own_labs(rt) -> None:
    """Remove whatever this run's labs left (only ours: other people's labs share the daemon); never raise."""
    try:
        for lab in rt.labs():
            if lab.startswith(PREFIX):
                rt.remove_lab(lab)
    except Exception as exc:  # noqa: BLE001 - the figures are saved; say what may be left
        console.print(f"[red]could not remove this run's labs ({PREFIX}-*)[/red]: {exc}; "
                      f"run 'dnslab down --name {PREFIX}-...' for each")


if __name__ == "__main__":
    sys.exit(main())
