"""The one lab image: every server and tool, built from Debian packages and tagged by its recipe's hash.

Two ways to build the same package set (compose/image/packages.txt):
- offline with mmdebstrap, straight from Debian's archive (where no container registry answers);
- with the Dockerfile FROM debian:bookworm-slim, where that base image is at hand.
`auto` picks the Dockerfile only when the base image is already present locally: dnslab never probes a
registry just to find out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from lab import bundle
from lab.errors import EnvironmentProblem, LabError
from lab.runtime import Runtime
from lab.runtime.locks import MachineLock, lock_path

RECIPE_DIR = bundle.RECIPE
REPOSITORY = "dnslab"
BASE_IMAGE = "debian:bookworm-slim"
SUITE = "bookworm"
# Environment of every lab container: agents import the source tree mounted at /opt/dnslab.
ENVIRONMENT = {"PYTHONPATH": "/opt/dnslab", "PYTHONDONTWRITEBYTECODE": "1",
               "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

Progress = Callable[[str], None]


def packages() -> list[str]:
    lines = (RECIPE_DIR / "packages.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def recipe_hash() -> str:
    """Content hash of everything that decides what is in the image."""
    digest = hashlib.sha256()
    for path in sorted(RECIPE_DIR.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(SUITE.encode())
    return digest.hexdigest()[:12]


def image_tag() -> str:
    return f"{REPOSITORY}:{recipe_hash()}"


def ensure(rt: Runtime, progress: Progress = lambda line: None, builder: str | None = None) -> str:
    """Return the image tag, building the image first when it is missing."""
    tag = image_tag()
    if rt.image_id(tag) is not None:
        _alias(rt, tag)
        return tag
    # One build at a time per engine and machine: a second `up` (another lab, a parallel test) waits for
    # the first build instead of running mmdebstrap twice.
    lock = MachineLock(lock_path(f"image-{recipe_hash()}", rt.engine_id()))
    if not lock.try_acquire():
        progress("another dnslab is building the image: waiting for it")
        lock.acquire()
    try:
        if rt.image_id(tag) is not None:
            return tag
        _build(rt, tag, progress, builder)
    finally:
        lock.release()
    _alias(rt, tag)
    return tag


def _alias(rt: Runtime, tag: str) -> None:
    """dnslab:latest names the image this checkout uses, for users' images built on it (docs/automation.md)."""
    if rt.image_id(f"{REPOSITORY}:latest") != rt.image_id(tag):
        rt.tag_image(tag, REPOSITORY, "latest")


def _build(rt: Runtime, tag: str, progress: Progress, builder: str | None) -> None:
    builder = builder or os.environ.get("DNSLAB_IMAGE_BUILDER", "auto")
    if builder == "auto":
        builder = "dockerfile" if rt.image_id(BASE_IMAGE) is not None else "mmdebstrap"
    if builder == "mmdebstrap":
        build_mmdebstrap(rt, tag, progress)
    elif builder == "dockerfile":
        build_dockerfile(rt, tag, progress)
    else:
        raise EnvironmentProblem(f"unknown image builder {builder!r} in DNSLAB_IMAGE_BUILDER; "
                                 "use auto, mmdebstrap or dockerfile")


def _ensure_mmdebstrap(progress: Progress) -> str:
    found = shutil.which("mmdebstrap")
    if found:
        return found
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "mmdebstrap is needed to build the lab image offline: install it with "
            "'sudo apt-get install mmdebstrap' (or provide debian:bookworm-slim and set DNSLAB_IMAGE_BUILDER=dockerfile)")
    progress("installing mmdebstrap with apt-get")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "mmdebstrap"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise EnvironmentProblem(f"could not install mmdebstrap ({' '.join(cmd)}): {tail[0]}")
    return shutil.which("mmdebstrap") or "mmdebstrap"


def build_mmdebstrap(rt: Runtime, tag: str, progress: Progress) -> None:
    mmdebstrap = _ensure_mmdebstrap(progress)
    with tempfile.TemporaryDirectory(prefix="dnslab-image-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        cmd = [mmdebstrap, "--variant=apt", "--aptopt=APT::Install-Recommends \"false\"",
               "--include=" + ",".join(packages()), SUITE, str(tarball)]
        progress(f"mmdebstrap {SUITE}: {len(packages())} packages")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        last = []
        for line in proc.stdout:  # mmdebstrap narrates each phase on stderr: "I: ..."
            line = line.rstrip()
            last = (last + [line])[-5:]
            if line.startswith(("I:", "E:", "W:")):
                progress(line[3:])
        if proc.wait() != 0:
            raise EnvironmentProblem(f"image build failed (mmdebstrap exit {proc.returncode}): "
                                     + " | ".join(last))
        progress(f"importing {tarball.stat().st_size // 2**20} MB root filesystem as {tag}")
        changes = [f"ENV {k}={v}" for k, v in ENVIRONMENT.items()] + ['CMD ["bash"]',
                                                                      f"LABEL dnslab.recipe={recipe_hash()}"]
        repository, version = tag.split(":")
        try:
            rt.import_image(str(tarball), repository, version, changes)
        except LabError as exc:
            raise EnvironmentProblem(str(exc)) from None


def build_dockerfile(rt: Runtime, tag: str, progress: Progress) -> None:
    progress(f"docker build FROM {BASE_IMAGE}")
    try:
        for line in rt.build_image(str(RECIPE_DIR), tag, {"dnslab.recipe": recipe_hash()}):
            progress(line)
    except LabError as exc:
        raise EnvironmentProblem(str(exc)) from None
