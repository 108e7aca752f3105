"""dnslab as a user gets it: the wheel built from this tree, installed into a fresh virtual environment outside
the checkout, run from another directory — no checkout on any path. The bundled topologies, playbooks, image
recipe, templates and agents must all come from the wheel; `dnslab init` writes a project whose own test
(dnslab's pytest plugin, from the wheel) puts its enactor through the race on real containers.

The wheel is built from a copy of the tree (so the checkout gets no build/ or egg-info), installed with
this environment's pip into a venv without pip of its own (`pip --python`; dependencies from the index or
pip's cache), and everything is removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab import image, library, runtime
from tests.integration.conftest import REPO, labelled, lab_name

COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "runs", "build", "dist", "*.egg-info", "__pycache__",
                                     ".pytest_cache", ".hypothesis", ".dnslab-artifacts", "compose-export")
SHORT_RUN = """\
name: from-the-wheel
topology: dnslab:minimal.yml     # the topology the wheel bundles
probes: {rate: 4}
steps:
  - wait: {probes: ok, count: 3, every_resolver: true}
    timeout: 30s
  - wait: 2s
checks:
  - check: never_empty
  - check: availability
    min: 0.99
"""


class Installed:
    def __init__(self, root: Path):
        self.root = root
        self.venv = root / "venv"
        self.elsewhere = root / "elsewhere"  # an empty directory: the user's
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        self.env = env | {"PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}

    def dnslab(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.venv / "bin" / "dnslab"), *args], cwd=cwd or self.elsewhere, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def python(self, *args: str, cwd: Path | None = None, env: dict | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.venv / "bin" / "python"), *args], cwd=cwd or self.elsewhere,
                              env=self.env | (env or {}), capture_output=True, text=True, timeout=timeout)


def _run(command: list[str], timeout: float) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory, lab_image):
    root = tmp_path_factory.mktemp("installed")
    try:
        shutil.copytree(REPO, root / "source", symlinks=True, ignore=COPY_IGNORE)
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(root / "wheels"),
              str(root / "source")], timeout=300)
        [wheel] = (root / "wheels").glob("dnslab-*.whl")
        _run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], timeout=120)
        _run([sys.executable, "-m", "pip", "--python", str(root / "venv" / "bin" / "python"), "install", "--quiet",
              "--no-compile", str(wheel), "pytest"], timeout=600)
        shutil.rmtree(root / "source")  # from here on nothing but the installed wheel has dnslab's files
        (root / "elsewhere").mkdir()
        yield Installed(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


def test_the_installed_package_is_the_wheels_and_carries_every_bundled_file(installed):
    done = installed.python("-c", "import json, lab, lab.bundle as b; print(json.dumps([lab.__file__, str(b.COMPOSE),"
                                  " b.topologies(), b.playbooks(), sorted(p.name for p in b.RECIPE.iterdir())]))")
    assert done.returncode == 0, done.stderr
    module, compose, topologies, playbooks, recipe = json.loads(done.stdout)
    site = str(installed.venv)
    assert module.startswith(site) and compose.startswith(site) and not compose.startswith(str(REPO))
    assert topologies == sorted(p.name for p in (REPO / "compose").glob("*.yml"))
    assert playbooks == sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))
    assert recipe == sorted(p.name for p in (REPO / "compose" / "image").iterdir())


def test_list_and_validate_by_name_from_another_directory(installed):
    listed = installed.dnslab("list", "--json")
    assert listed.returncode == 0, listed.stderr
    names = [entry["name"] for entry in json.loads(listed.stdout)]
    shipped = sorted(entry.name for entry in library.entries(REPO / "playbooks"))  # the checkout's library
    assert "aws-2025-dynamodb-enactor-race" in names and sorted(names) == shipped
    table = installed.dnslab("list")
    assert table.returncode == 0 and f"{len(shipped)} playbooks" in table.stderr, table.stderr
    valid = installed.dnslab("validate", "aws-2025-dynamodb-enactor-race")
    assert valid.returncode == 0 and "aws-2025-dynamodb-enactor-race: ok" in valid.stderr, valid.stderr
    typo = installed.dnslab("validate", "aws-2025-dynamodb-enactor-rac")
    assert typo.returncode == 2
    assert 'did you mean "aws-2025-dynamodb-enactor-race"' in one_error_line(typo)


def test_image_from_the_wheel_is_the_checkouts_image(installed):
    done = installed.dnslab("image")
    assert done.returncode == 0, done.stderr
    assert f"image {image.image_tag()} ready" in done.stderr  # the same recipe, byte for byte


def test_up_status_run_down_of_the_bundled_minimal_lab_from_another_directory(installed, rt):
    lab = lab_name("wheel")
    (installed.elsewhere / "short.yml").write_text(SHORT_RUN)
    try:
        up = installed.dnslab("up", "-t", "minimal", "--name", lab)
        assert up.returncode == 0, up.stderr[-3000:]
        status = installed.dnslab("status", "--name", lab, "--json")
        assert status.returncode == 0, status.stderr
        rows = json.loads(status.stdout)
        assert {r["name"] for r in rows} == {"root", "primary", "sec-nsd", "unbound", "client1"}
        assert all(r["state"] == "running" for r in rows), rows
        run = installed.dnslab("run", "short.yml", "--name", lab, "--out", "run")
        assert run.returncode == 0, run.stderr[-3000:]
        report = json.loads((installed.elsewhere / "run" / "report.json").read_text())
        assert report["verdict"] == "pass" and report["probes"]["total"] > 0
        assert 'id="verdict-badge">PASS</span>' in (installed.elsewhere / "run" / "report.html").read_text()
        # What the run keeps until down: the five nodes, the fault helper in each one's namespace
        # (lab.nshelper) and a truth helper for each server of the probed zone, primary and sec-nsd
        # (lab.truthwatch).
        kept = labelled(rt, lab)["containers"]
        assert kept == 12, kept
    finally:
        down = installed.dnslab("down", "--name", lab)
    assert down.returncode == 0 and f"lab {lab}: removed 12 containers" in down.stderr, down.stderr
    assert labelled(rt, lab) == {"containers": 0, "networks": 0, "volumes": 0}


def test_init_writes_a_project_whose_test_passes_the_race_on_real_containers(installed, rt):
    project = installed.elsewhere / "our-automation"
    first = installed.dnslab("init", str(project))
    assert first.returncode == 0 and "wrote 6 files" in first.stdout, first.stderr
    again = installed.dnslab("init", str(project))
    assert again.returncode == 2 and "never overwrites" in one_error_line(again)
    workflow = yaml.safe_load((project / ".github" / "workflows" / "dnslab.yml").read_text())
    [tests] = [s["run"] for s in workflow["jobs"]["dns-automation"]["steps"] if s.get("run", "").startswith("pytest")]
    done = installed.python("-m", "pytest", "-q", "-p", "no:cacheprovider", *tests.split()[1:], cwd=project,
                            env={"CI": "true"}, timeout=900)  # the workflow's own test command
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-4000:] + done.stderr[-2000:]
    assert not list(project.glob(".dnslab-artifacts/*/*/*")), "a passed test's run directories are removed"
    left = [c.name for c in rt.containers(None) if "test-dnslab-race" in c.labels.get(runtime.LAB, "")]
    assert not left, f"the plugin took its lab down: {left}"
