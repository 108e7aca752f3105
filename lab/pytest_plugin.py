"""dnslab's pytest plugin, for users' own test suites (registered by the `pytest11` entry point; see
docs/automation.md, "In your test suite").

    pytestmark = pytest.mark.dnslab(topology="enactors.yml")

    def test_my_enactor_survives_the_race(dnslab):
        result = dnslab.run("aws-2025-dynamodb-enactor-race.yml", set={"enactor.command": "python3 enact.py"})
        result.assert_passed()                      # or: assert result.check("never_empty").ok

- `dnslab` gives a test the lab of its module: brought up once per module (topology from the module's
  `dnslab` marker, else the `dnslab_topology` ini option, else the default world) and always taken down
  after the module, also when a test failed; `--dnslab-keep` leaves it up. `dnslab_session` is one lab
  for the whole session (`dnslab_topology`).
- A run is `dnslab run` in a subprocess: its exit code, report.json and run directory come back as a
  `PlaybookResult`. Run directories go under `--dnslab-artifacts` (default .dnslab-artifacts/) and are kept
  only for tests that failed, whose report names them.
- Names that are no path (`enactors.yml`, `dnslab:enactors.yml`, `aws-2025-...yml`) are looked up among
  the topologies and playbooks dnslab bundles (lab.bundle), in a checkout and in an installed wheel alike.
- Without a Docker daemon the tests are skipped, or fail under CI=true (a skipped lab test in CI is a
  failed one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lab import bundle, lifecycle, runtime
from lab.errors import DockerUnavailable, InputError

RUN_TIMEOUT = 900


def pytest_addoption(parser):
    group = parser.getgroup("dnslab", "dnslab: labs for DNS automation tests")
    group.addoption("--dnslab-keep", action="store_true", help="leave the labs up after the tests")
    group.addoption("--dnslab-artifacts", default=".dnslab-artifacts", metavar="DIR",
                    help="where run directories go (kept for failed tests only)")
    parser.addini("dnslab_topology", "topology of labs without a dnslab marker", default="default.yml")


def pytest_configure(config):
    config.addinivalue_line("markers", "dnslab(topology=FILE, name=NAME): the lab this test module runs against")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.dnslab_failed = report.failed
        lab = getattr(item, "funcargs", {}).get("dnslab")
        if report.failed and isinstance(lab, Lab) and lab.runs:
            report.sections.append(("dnslab runs (kept)", "\n".join(str(run) for run in lab.runs)))


def find(name: str | os.PathLike, kind: str) -> Path:
    """A file as given, else the topology (kind "topology") or playbook dnslab bundles by that name."""
    path = Path(name)
    if path.exists():
        return path.resolve()
    try:
        found = bundle.command_line(str(name), kind)
    except InputError as exc:
        raise pytest.UsageError(f"dnslab: {exc}") from None
    if not found.exists():
        raise pytest.UsageError(f"dnslab: no {kind} {str(name)!r}")
    return found


@dataclass
class PlaybookResult:
    """One `dnslab run`: exit code (0 pass, 1 a check failed, 2 bad input, 3 the lab failed), report.json."""

    exit_code: int
    report: dict
    run_dir: Path
    output: str

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def checks(self) -> dict[str, dict]:
        return {c["name"]: c for c in self.report.get("checks", [])}

    def check(self, name: str) -> dict:
        """A check by its name or its kind (`never_empty`); KeyError lists the ones there are."""
        found = [c for c in self.report.get("checks", []) if name in (c.get("name"), c.get("check"))]
        if not found:
            raise KeyError(f"no check {name!r} in this run; checks: {', '.join(self.checks)}")
        return {**found[0], "ok": all(c["ok"] for c in found)}

    def summary(self) -> str:
        lines = [f"dnslab run {self.report.get('playbook')}: exit {self.exit_code}, verdict "
                 f"{self.report.get('verdict')} ({self.run_dir})"]
        lines += [f"  {'ok  ' if c['ok'] else 'FAIL'} {c['name']}: {c.get('detail', '')}" for c in
                  self.report.get("checks", [])]
        error = (self.report.get("extra") or {}).get("aborted")
        if error:
            lines.append(f"  aborted: {error.get('error')}")
        elif self.exit_code not in (0, 1):
            lines.append("  " + (self.output.strip().splitlines() or ["(no output)"])[-1])
        return "\n".join(lines)

    def assert_passed(self) -> None:
        assert self.exit_code == 0, self.summary()

    def assert_failed(self, check: str | None = None) -> None:
        """The run judged the system and found it wanting (exit 1), by `check` if named."""
        assert self.exit_code == 1, self.summary()
        if check is not None:
            assert not self.check(check)["ok"], self.summary()


@dataclass
class Lab:
    """A running lab for tests: `run` playbooks against it, `dig` through it."""

    name: str
    topology: Path
    description: dict
    artifacts: Path
    runs: list[Path] = field(default_factory=list)

    def run(self, playbook: str | os.PathLike, set: dict | None = None, seed: int | None = None,  # noqa: A002
            timeout: float = RUN_TIMEOUT) -> PlaybookResult:
        path = find(playbook, "playbook")
        out = self.artifacts / f"{len(self.runs) + 1:02d}-{path.stem}"
        shutil.rmtree(out, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "lab", "run", str(path), "--name", self.name, "--out", str(out), "--keep"]
        for key, value in (set or {}).items():  # --set values are YAML; JSON is YAML, and quotes `a: b` safely
            command += ["--set", f"{key}={json.dumps(value)}"]
        if seed is not None:
            command += ["--seed", str(seed)]
        self.runs.append(out)
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
        return PlaybookResult(done.returncode, report, out, done.stdout + done.stderr)

    def dig(self, name: str, qtype: str = "A", via: str = "all") -> str:
        done = subprocess.run([sys.executable, "-m", "lab", "dig", name, qtype, "--via", via, "--name", self.name],
                              capture_output=True, text=True, timeout=120)
        return done.stdout


def _lab_name(request, scope: str) -> str:
    stem = Path(str(request.node.fspath)).stem if scope == "module" else "session"
    return re.sub(r"[^a-z0-9-]+", "-", f"pt{os.getpid()}-{stem}".lower())[:40].strip("-")


def docker_or_skip():
    """The lab's runtime (lab.runtime); without a Docker daemon the test is skipped, or fails under CI=true (a skipped lab test in CI
    is a failed one)."""
    try:
        return runtime.connect()
    except DockerUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but Docker is unavailable: {exc}", pytrace=False)
        pytest.skip(f"Docker is unavailable: {exc}")


def _bring_up(request, scope: str, topology: str, name: str | None):
    rt = docker_or_skip()
    name = name or _lab_name(request, scope)
    path = find(topology, "topology")
    artifacts = Path(request.config.getoption("--dnslab-artifacts")).resolve() / name
    try:
        description = lifecycle.up(path, name, rt=rt)
        yield Lab(name, path, description, artifacts)
    finally:
        if not request.config.getoption("--dnslab-keep"):
            lifecycle.down(name, rt=rt)


def _marker_args(request) -> tuple[str, str | None]:
    marker = request.node.get_closest_marker("dnslab")
    topology = (marker.kwargs.get("topology") if marker else None) or request.config.getini("dnslab_topology")
    return topology, marker.kwargs.get("name") if marker else None


@pytest.fixture(scope="module")
def dnslab_module_lab(request):
    topology, name = _marker_args(request)
    yield from _bring_up(request, "module", topology, name)


@pytest.fixture(scope="session")
def dnslab_session(request):
    """One lab for the whole session (topology: the `dnslab_topology` ini option)."""
    yield from _bring_up(request, "session", request.config.getini("dnslab_topology"), None)


@pytest.fixture
def dnslab(request, dnslab_module_lab):
    """The module's lab; this test's run directories are kept if it fails, else removed."""
    lab = dnslab_module_lab
    lab.artifacts = lab.artifacts.parent / lab.name / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    lab.runs = []
    yield lab
    if not getattr(request.node, "dnslab_failed", True):
        shutil.rmtree(lab.artifacts, ignore_errors=True)
        remove_empty(lab.artifacts.parent, Path(request.config.getoption("--dnslab-artifacts")).resolve())


def remove_empty(directory: Path, root: Path) -> None:
    """Remove `directory` and its parents up to `root` (included) while they are empty: a passing test leaves
    no empty .dnslab-artifacts/LAB/ behind, a failing one's run directories stay."""
    for folder in (directory, *directory.parents):
        if root not in (folder, *folder.parents):
            return
        try:
            folder.rmdir()
        except OSError:  # not empty (another test's runs), or gone already
            return
        if folder == root:
            return
