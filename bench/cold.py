"""A fresh machine's first start: `make lab-up` from a clean clone, against the old sequential recipe (opt-in:
`make bench ONLY=cold`, about 5 minutes a run).

Every sample clones this repository's committed HEAD into a temporary directory, adds a comment to the clone's
compose/image/packages.txt (a recipe hash that no image has, so the image is built) and times `make lab-up
LAB=...` there, with a fresh DNSLAB_HOME and temporary pip and .deb caches: empty for the cold figures, kept
from the cold sample for the warm-cache ones. The phases come from the lines make prints (`venv: ready`,
`image: built`). mmdebstrap stays installed (other builds on this machine need it), so its apt-get install
(about 10 s on a fresh machine) is in no figure.

Baseline, in the same clone right after: what `make lab-up` did before it ran the two side by side (the
Makefile and lab/image.py of 2026-11-27), one step after the other — python3 -m venv, pip install --upgrade
pip, pip install -e '.[test]', mmdebstrap (same packages, no .deb cache) into a tarball under $TMPDIR,
docker import of that file, dnslab up. The warm-cache baseline keeps pip's cache, the one cache it had.

Afterwards the clone's lab and image go and dnslab:latest (which the clone's `up` moved) is put back.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import PREFIX, console, figure
from lab import image, runtime

REPO = Path(__file__).resolve().parents[1]
STEP_TIMEOUT = 900
OLD_MMDEBSTRAP = ["mmdebstrap", "--variant=apt", '--aptopt=APT::Install-Recommends "false"']


def clone(tmp: Path, sample: str) -> tuple[Path, str]:
    """A clean clone with a recipe of its own; returns it and its image tag."""
    path = tmp / f"clone-{sample}"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(path)], check=True, timeout=120)
    with open(path / "compose" / "image" / "packages.txt", "a") as recipe:
        recipe.write(f"# bench cold start {PREFIX}-{sample}: a recipe hash of its own\n")
    tag = subprocess.run([sys.executable, "-c", "import lab.image as i; print(i.image_tag())"], cwd=path,
                         capture_output=True, text=True, check=True).stdout.strip()
    return path, tag


def environment(tmp: Path, caches: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    home = Path(tempfile.mkdtemp(prefix="home-", dir=tmp))
    return {**env, "DNSLAB_HOME": str(home), "PIP_CACHE_DIR": str(caches / "pip"), "DNSLAB_CACHE": str(caches / "dnslab")}


def cpu_seconds() -> float:
    """User + system CPU time of every finished child process and its descendants (dockerd's work is not in it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_lines(argv: list[str], cwd: Path, env: dict, marks: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Run argv; return its wall time and, for each mark, when the first line containing it was printed."""
    start = time.perf_counter()
    seen: dict[str, float] = {}
    tail: list[str] = []
    with subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-3:]
            for name, text in marks.items():
                if name not in seen and text in line:
                    seen[name] = time.perf_counter() - start
        code = proc.wait(timeout=STEP_TIMEOUT)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {code}: {' | '.join(tail)}")
    return time.perf_counter() - start, seen


def new_way(path: Path, env: dict, lab: str) -> dict[str, float]:
    cpu = cpu_seconds()
    total, seen = run_lines(["make", "lab-up", f"LAB={lab}"], path, env,
                            {"venv": "venv: ready", "image": "image: built"})
    if "image" not in seen:
        raise RuntimeError("make lab-up built no image (no 'image: built' line): the recipe hash was not new")
    return {"total": total, "venv": seen.get("venv", 0.0), "image": seen["image"],
            "up": total - max(seen.get("venv", 0.0), seen["image"]), "cpu": cpu_seconds() - cpu}


def old_way(path: Path, env: dict, lab: str, tag: str) -> dict[str, float]:
    pip = str(path / ".venv" / "bin" / "pip")
    phases: dict[str, float] = {}
    cpu = cpu_seconds()

    def step(phase: str, argv: list[str]) -> None:
        took, _ = run_lines(argv, path, env, {})
        phases[phase] = phases.get(phase, 0.0) + took

    step("venv", ["python3", "-m", "venv", ".venv"])
    step("venv", [pip, "install", "--quiet", "--upgrade", "pip"])
    step("venv", [pip, "install", "--quiet", "-e", ".[test]"])
    with tempfile.TemporaryDirectory(prefix="dnslab-image-", dir=path.parent) as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        packages = subprocess.run([sys.executable, "-c", "import lab.image as i; print(','.join(i.packages()))"],
                                  cwd=path, capture_output=True, text=True, check=True).stdout.strip()
        # As before, the chroot on disk; only in a mount namespace of its own (it costs nothing), so that an
        # interrupted bench leaves no /proc, /sys or /dev/pts mounted under a chroot in the sample's directory.
        chroot_env = {**env, "TMPDIR": tmp}
        took, _ = run_lines(["unshare", "--mount", "--propagation", "private", "--", *OLD_MMDEBSTRAP,
                             f"--include={packages}", image.SUITE, str(tarball)], path, chroot_env, {})
        phases["image"] = took
        changes = [f"--change=ENV {k}={v}" for k, v in image.ENVIRONMENT.items()] + ['--change=CMD ["bash"]']
        step("image", ["docker", "import", *changes, str(tarball), tag])
    step("up", [str(path / ".venv" / "bin" / "dnslab"), "up", "--name", lab])
    phases["total"] = sum(phases.values())
    phases["cpu"] = cpu_seconds() - cpu
    return phases


def bench(client, runs: int) -> list[dict]:
    samples: dict[str, list[dict]] = {"cold": [], "cold-old": [], "warm": [], "warm-old": []}
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="dnslab-bench-cold-") as tmp_name:
            tmp = Path(tmp_name)
            caches, old_caches = tmp / "caches", tmp / "old-caches"
            # Cold, then warm with the caches the cold sample left; which way goes first alternates, so that
            # a change in other people's load between the two counts against each in turn.
            order = ["cold", "cold-old", "warm", "warm-old"] if i % 2 == 0 else ["cold-old", "cold", "warm-old", "warm"]
            for kind in order:
                console.print(f"[cold] run {i + 1}/{runs}: {kind} make lab-up from a clean clone")
                path, tag = clone(tmp, f"{i}-{kind}")
                lab = f"{PREFIX}-{kind}"
                latest = _image_id(client, f"{image.REPOSITORY}:latest")
                env = environment(tmp, old_caches if kind.endswith("-old") else caches)
                load = os.getloadavg()[0]  # other people's work on this machine: the figures move with it
                try:
                    phases = (old_way(path, env, lab, tag) if kind.endswith("-old") else new_way(path, env, lab))
                finally:
                    runtime.remove_lab(client, lab)
                    if latest:
                        client.images.get(latest).tag(image.REPOSITORY, "latest")
                    if _image_id(client, tag):
                        client.images.remove(tag, force=True)
                    shutil.rmtree(path, ignore_errors=True)
                    # the build lock of this throwaway recipe (lab.image._build_lock)
                    (Path(tempfile.gettempdir()) / f"dnslab-image-{tag.split(':')[1]}.lock").unlink(missing_ok=True)
                samples[kind].append({**phases, "load": load})
                console.print(f"[cold] {kind}: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))

    def of(kind: str, phase: str) -> list[float]:
        return [s[phase] for s in samples[kind]]

    old = "one step after the other (before): venv, pip upgrade, pip install, mmdebstrap to a tarball, import, up"
    loads = [sample["load"] for kind_samples in samples.values() for sample in kind_samples]
    note = f"mmdebstrap installed; load average {min(loads):.0f}–{max(loads):.0f} on {os.cpu_count()} cores"
    results = [
        figure("cold start: make lab-up from a clean clone, no caches", "s", of("cold", "total"),
               of("cold-old", "total"), old, note=note, phases=samples),
        figure("cold start: CPU time of make lab-up's processes (dockerd's not counted)", "s", of("cold", "cpu"),
               of("cold-old", "cpu"), "the same before"),
        figure("warm caches: make lab-up from a clean clone, .deb and pip caches kept", "s", of("warm", "total"),
               of("warm-old", "total"), old + "; pip cache kept", note=note),
    ]
    # Phase durations. Side by side, the venv and the image start together and share the 2 cores; before,
    # each ran alone. `up` is what follows the later of the two.
    for phase, what in (("venv", "venv (pip install)"), ("image", "image build (mmdebstrap + import)"),
                        ("up", "dnslab up after both")):
        results.append(figure(f"cold start phase: {what}", "s", of("cold", phase), of("cold-old", phase),
                              "the same phase before, one after the other"))
    return results


def _image_id(client, name: str) -> str | None:
    try:
        return client.images.get(name).id
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound; no image is no id
        return None
