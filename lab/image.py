"""The one lab image: every server and tool, built from Debian packages and tagged by its recipe's hash.

Two ways to build the same package set (compose/image/packages.txt):
- offline with mmdebstrap, straight from a Debian mirror (where no container registry answers), its root
  filesystem streamed into `docker import`;
- with the Dockerfile FROM debian:bookworm-slim, where that base image is at hand.
`auto` picks the Dockerfile only when the base image is already present locally: dnslab never probes a
registry just to find out.

Only the standard library is imported here, so `python3 -m lab.image` can build the image before dnslab
and its dependencies are installed: `make lab-up` runs it beside pip, and it imports the root filesystem with
the docker command-line client (pinned to the daemon the docker SDK uses). `ensure()`, dnslab's way in, does
everything through the runtime it is given (lab.runtime).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
import importlib.resources
import threading
from typing import TYPE_CHECKING, BinaryIO, Callable

from lab.errors import EnvironmentProblem, LabError

if TYPE_CHECKING:
    from lab.runtime import Runtime

# The bundled recipe (lab.bundle.RECIPE), found without lab.bundle's imports: stdlib only here.
RECIPE_DIR = Path(importlib.resources.files("lab").joinpath("bundled", "compose", "image")).resolve()
REPOSITORY = "dnslab"
BASE_IMAGE = "debian:bookworm-slim"
SUITE = "bookworm"
# Environment of every lab container: agents import the source tree mounted at /opt/dnslab.
ENVIRONMENT = {"PYTHONPATH": "/opt/dnslab", "PYTHONDONTWRITEBYTECODE": "1",
               "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
# The docker SDK's daemon when DOCKER_HOST is unset; the command-line client is pointed at the same one.
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
# mmdebstrap's narration that says nothing to a user (hooks being run, choices it made by itself).
QUIET_PREFIXES = ("automatically chosen", "chroot architecture", "finding correct signed-by", "using ",
                  "running --", "running special hook", "skipping essential/unlink", "removing tempdir")

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


def cache_dir() -> Path:
    """Where the .debs of earlier builds are kept: $DNSLAB_CACHE, else $XDG_CACHE_HOME/dnslab (~/.cache/dnslab).
    Machine-wide rather than under $DNSLAB_HOME, like the image itself: tests and benchmarks use a fresh home."""
    base = os.environ.get("DNSLAB_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dnslab"
    return Path(base)


def ensure(rt: Runtime, progress: Progress = lambda line: None, builder: str | None = None) -> str:
    """Return the image tag, building the image first when it is missing."""
    tag = image_tag()
    if rt.image_id(tag) is None:
        with _build_lock(progress):
            if rt.image_id(tag) is None:
                _build(rt, tag, progress, builder)
    _alias(rt, tag)
    return tag


@contextlib.contextmanager
def _build_lock(progress: Progress) -> Iterator[None]:
    """One build at a time on this machine: a second `up` (another lab, a parallel test, `make lab-up` beside
    `dnslab up`) waits for the first build instead of running mmdebstrap twice."""
    lock_path = Path(tempfile.gettempdir()) / f"dnslab-image-{recipe_hash()}.lock"
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("another dnslab is building the image: waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _alias(rt: Runtime, tag: str) -> None:
    """dnslab:latest names the image this checkout uses, for users' images built on it (docs/automation.md)."""
    if rt.image_id(f"{REPOSITORY}:latest") != rt.image_id(tag):
        rt.tag_image(tag, REPOSITORY, "latest")


def _choose_builder(builder: str | None, has_base_image: Callable[[], bool]) -> str:
    builder = builder or os.environ.get("DNSLAB_IMAGE_BUILDER", "auto")
    if builder == "auto":
        return "dockerfile" if has_base_image() else "mmdebstrap"
    if builder not in ("mmdebstrap", "dockerfile"):
        raise EnvironmentProblem(f"unknown image builder {builder!r} in DNSLAB_IMAGE_BUILDER; "
                                 "use auto, mmdebstrap or dockerfile")
    return builder


def _build(rt: Runtime, tag: str, progress: Progress, builder: str | None) -> None:
    if _choose_builder(builder, lambda: rt.image_id(BASE_IMAGE) is not None) == "mmdebstrap":
        build_mmdebstrap(tag, progress, EngineImport(rt))
    else:
        build_dockerfile(rt, tag, progress)


def _ensure_mmdebstrap(progress: Progress) -> str:
    found = shutil.which("mmdebstrap")
    if found:
        return found
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "mmdebstrap is needed to build the lab image offline: install it with "
            "'sudo apt-get install mmdebstrap' (or provide debian:bookworm-slim and set DNSLAB_IMAGE_BUILDER=dockerfile)")
    progress("installing mmdebstrap with apt-get")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "mmdebstrap"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Package lists that are there are tried first (apt-get update takes seconds); missing or stale ones
    # (a fresh container, a mirror that moved on) are refreshed and the install tried again.
    if subprocess.run(install, capture_output=True, env=env).returncode != 0:
        for cmd in (["apt-get", "update", "-qq"], install):
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                raise EnvironmentProblem(f"could not install mmdebstrap ({' '.join(cmd)}): {tail[0]}")
    return shutil.which("mmdebstrap") or "mmdebstrap"


def mmdebstrap_command(mmdebstrap: str, debs: Path) -> list[str]:
    """mmdebstrap writing the root filesystem as a tar stream to stdout. The .debs in `debs` are copied in before
    apt runs (apt downloads only what is missing) and every .deb of this build is copied back out before the
    clean-up, less those the mirror no longer has (autoclean): the cache holds what the next build needs."""
    return [mmdebstrap, "--variant=apt", '--aptopt=APT::Install-Recommends "false"',
            "--include=" + ",".join(packages()),
            "--skip=essential/unlink",
            '--setup-hook=mkdir -p "$1/var/cache/apt/archives"',
            f"--setup-hook=sync-in {shlex.quote(str(debs))} /var/cache/apt/archives/",
            '--customize-hook=chroot "$1" apt-get -qq autoclean',
            f"--customize-hook=sync-out /var/cache/apt/archives {shlex.quote(str(debs))}",
            SUITE, "-"]


def in_tmpfs(command: list[str], mountpoint: Path) -> list[str]:
    """`command` in a private mount namespace with a fresh tmpfs at `mountpoint` as its TMPDIR (root only). The
    chroot then lives in memory: dpkg's fsync per file and the disk's discard on deleting it cost nothing (one
    cold build on this project's 2-core machine: 35 s, against 82 s with the chroot on disk and 58 s with
    eatmydata there), and whatever mmdebstrap mounted or left vanishes with the namespace, also after a kill."""
    script = 'mount -t tmpfs -o mode=0755 dnslab-image "$0" && TMPDIR="$0" exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, str(mountpoint), *command]


class EngineImport:
    """Where a root filesystem is imported: the engine of dnslab's runtime."""

    def __init__(self, rt: Runtime):
        self.rt = rt

    def import_stream(self, stream: BinaryIO, changes: list[str]) -> str:
        return self.rt.import_image(stream, None, None, changes)

    def tag(self, image_id: str, tag: str) -> None:
        repository, version = tag.split(":")
        self.rt.tag_image(image_id, repository, version)

    def remove(self, image_id: str) -> None:
        self.rt.remove_image(image_id)


class CliImport:
    """Where a root filesystem is imported before dnslab is installed: the docker command-line client."""

    def __init__(self, argv: list[str] | None = None):
        self.argv = argv or _docker_cli()

    def import_stream(self, stream: BinaryIO, changes: list[str]) -> str:
        done = subprocess.run([*self.argv, "import", *(f"--change={c}" for c in changes), "-"], stdin=stream,
                              capture_output=True, text=True)
        if done.returncode != 0 or not done.stdout.strip():
            raise EnvironmentProblem(f"docker import of the lab image failed: {_last_line(done.stderr)}")
        return done.stdout.strip()

    def tag(self, image_id: str, tag: str) -> None:
        _docker(self.argv, "tag", image_id, tag)

    def remove(self, image_id: str) -> None:
        _docker(self.argv, "rmi", image_id)


def build_mmdebstrap(tag: str, progress: Progress, sink: EngineImport | CliImport) -> None:
    """Build the root filesystem with mmdebstrap and stream it into the engine's import; tag it only when
    both succeeded (an aborted stream would import as a broken image)."""
    started = time.monotonic()
    mmdebstrap = _ensure_mmdebstrap(progress)
    debs = cache_dir() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    with _cache_lock(debs, progress), tempfile.TemporaryDirectory(prefix="dnslab-image-") as tmp:
        cached = len(list(debs.glob("*.deb")))
        progress(f"mmdebstrap {SUITE}: {len(packages())} packages and their dependencies from the Debian mirror"
                 + (f", {cached} .debs cached in {debs}" if cached else f"; keeping the .debs in {debs}"))
        command = mmdebstrap_command(mmdebstrap, debs)
        if os.geteuid() == 0 and shutil.which("unshare"):
            command = in_tmpfs(command, Path(tmp))
        image_id = _stream_into(command, sink, progress)
    sink.tag(image_id, tag)
    progress(f"built {tag} in {time.monotonic() - started:.0f} s")


@contextlib.contextmanager
def _cache_lock(debs: Path, progress: Progress) -> Iterator[None]:
    """Builds of different recipes (two checkouts) share the cache: one at a time copies in and out of it."""
    with open(debs.parent / "debs.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"another image build is using {debs}: waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _stream_into(command: list[str], sink: EngineImport | CliImport, progress: Progress) -> str:
    """Run `command` with its stdout imported by `sink` as it comes; return the (untagged) image id."""
    changes = [f"ENV {k}={v}" for k, v in ENVIRONMENT.items()] + ['CMD ["bash"]', f"LABEL dnslab.recipe={recipe_hash()}"]
    build = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
    imported: dict = {}

    def import_() -> None:
        try:
            imported["id"] = sink.import_stream(build.stdout, changes)
        except (EnvironmentProblem, LabError) as exc:
            imported["error"] = str(exc)
        finally:
            build.stdout.close()  # mmdebstrap sees EPIPE if the import went away

    importer = threading.Thread(target=import_, name="image-import", daemon=True)
    importer.start()
    last: list[str] = []
    try:
        for raw in build.stderr:  # mmdebstrap narrates each phase on stderr: "I: ..."
            line = raw.decode(errors="replace").rstrip()
            last = (last + [line])[-5:]
            if line.startswith(("E:", "W:")) or (line.startswith("I:") and not line[3:].startswith(QUIET_PREFIXES)):
                progress(line[3:].replace("creating tarball", "streaming the root filesystem into docker import"))
        built = build.wait()
        importer.join()
    finally:
        if build.poll() is None:  # interrupted: mmdebstrap removes its chroot on SIGTERM
            build.terminate()
            build.wait()
    image_id = imported.get("id")
    if built != 0:
        if image_id:
            sink.remove(image_id)
        raise EnvironmentProblem(f"image build failed (mmdebstrap exit {built}): " + " | ".join(last)
                                 + ("" if image_id else f"; {imported.get('error', 'nothing imported')}"))
    if not image_id:
        raise EnvironmentProblem(imported.get("error") or "docker import of the lab image gave no image")
    return image_id


def _docker_cli() -> list[str]:
    found = shutil.which("docker")
    if not found:
        raise EnvironmentProblem(
            "the docker command-line client is not on PATH: the mmdebstrap builder imports the image with it "
            "(Debian: apt-get install docker.io, or docker-ce-cli); or set DNSLAB_IMAGE_BUILDER=dockerfile with "
            f"{BASE_IMAGE} present")
    # The daemon the docker SDK talks to (DOCKER_HOST, else the default socket), never the client's own context.
    return [found, "--host", os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST]


def _docker(docker_cli: list[str], *args: str) -> str:
    done = subprocess.run([*docker_cli, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise EnvironmentProblem(f"docker {args[0]} failed: {_last_line(done.stderr or done.stdout)}")
    return done.stdout.strip()


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


def _cli_has_image(docker_cli: list[str], name: str) -> bool:
    done = subprocess.run([*docker_cli, "image", "inspect", "--format", "{{.Id}}", name], capture_output=True, text=True)
    if done.returncode == 0:
        return True
    if "no such image" in done.stderr.lower():
        return False
    raise EnvironmentProblem(f"cannot ask Docker for the lab image ({_last_line(done.stderr)}); "
                             "start Docker or set DOCKER_HOST")


def build_dockerfile(rt: Runtime, tag: str, progress: Progress) -> None:
    progress(f"docker build FROM {BASE_IMAGE}")
    try:
        for line in rt.build_image(str(RECIPE_DIR), tag, {"dnslab.recipe": recipe_hash()}):
            progress(line)
    except LabError as exc:
        raise EnvironmentProblem(str(exc)) from None


def main() -> int:
    """`python3 -m lab.image`: build the image if it is missing, before dnslab is installed (standard library
    only). A Dockerfile build is left to dnslab, which builds it with the SDK when it starts."""
    def progress(line: str) -> None:
        print(f"image: {line}", flush=True)

    if not shutil.which("docker"):  # the SDK may still reach the daemon: dnslab decides then
        progress("no docker command-line client here: dnslab checks the image when it starts")
        return 0
    try:
        docker_cli = _docker_cli()
        tag = image_tag()
        if _cli_has_image(docker_cli, tag):
            progress(f"{tag} is there")
        elif _choose_builder(None, lambda: _cli_has_image(docker_cli, BASE_IMAGE)) == "dockerfile":
            progress(f"{BASE_IMAGE} is there: dnslab builds {tag} from compose/image/Dockerfile when it starts")
            return 0
        else:
            with _build_lock(progress):
                if not _cli_has_image(docker_cli, tag):
                    build_mmdebstrap(tag, progress, CliImport())
        _docker(docker_cli, "tag", tag, f"{REPOSITORY}:latest")
        return 0
    except EnvironmentProblem as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
