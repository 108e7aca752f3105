"""Integration fixtures: real Docker, real servers. Under CI=true a missing Docker daemon fails the run.

Each test module shares one lab (module scope) and always takes it down, also when a test failed.
Labs are named after the pytest process so parallel sessions and a developer's own labs never meet,
and they keep their state under a private DNSLAB_HOME.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import docker
import pytest
import requests.exceptions

from lab import image, lifecycle, runtime
from lab.faults import clear_all
from lab.pytest_plugin import docker_or_skip
from lab.errors import DockerUnavailable
from tests.integration.faultkit import context

REPO = Path(__file__).resolve().parents[2]
PREFIX = f"t{os.getpid()}"


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def _docker_answers(timeout: float = 20) -> bool:
    try:
        docker.from_env(timeout=timeout).networks.list()  # the call a deadlocked libnetwork never answers
        return True
    except Exception:
        return False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Stop the session when the Docker daemon itself stops answering: every later test would wait out its
    own timeouts against a dead daemon (an hour in CI) and report nothing new. See runtime.one_by_one."""
    outcome = yield
    report = outcome.get_result()
    hung = (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError, subprocess.TimeoutExpired)
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(hung) and not _docker_answers():
        item.session.shouldstop = "the Docker daemon stopped answering (networks.list timed out); restart it"


@pytest.fixture(scope="session")
def engine(rt):
    """The Docker engine through its own SDK: an independent view for assertions about what the lab made
    (mounts, capabilities, network flags) — the lab itself talks to it only through `rt`."""
    return docker.from_env(timeout=120)


@pytest.fixture(scope="session")
def rt():
    return docker_or_skip()  # the plugin's rule: under CI=true no Docker is a failure, never a skip


@pytest.fixture(scope="session", autouse=True)
def dnslab_home():
    """A private state directory for the whole session; swept with every lab it made at the end."""
    home = tempfile.mkdtemp(prefix="dnslab-test-home-")
    old = os.environ.get("DNSLAB_HOME")
    os.environ["DNSLAB_HOME"] = home
    yield Path(home)
    try:
        rt = runtime.connect()
        for lab in rt.labs():
            if lab.startswith(PREFIX):
                rt.remove_lab(lab)
    except DockerUnavailable:
        pass
    if old is None:
        os.environ.pop("DNSLAB_HOME", None)
    else:
        os.environ["DNSLAB_HOME"] = old


@pytest.fixture(scope="session")
def lab_image(rt):
    """The lab image, built once if missing (progress goes to the test log)."""
    return image.ensure(rt, progress=lambda line: print(f"[image] {line}", flush=True))


def lab_name(suffix: str) -> str:
    return f"{PREFIX}-{suffix}"


def _module_lab(request, rt, topology: str):
    """A lab of `topology` named after the test module, up for that module; always removed afterwards."""
    name = lab_name(Path(request.module.__file__).stem.removeprefix("test_").replace("_", "-"))
    try:
        yield lifecycle.up(REPO / "compose" / topology, name, rt=rt)
    finally:
        lifecycle.down(name, rt=rt)


@pytest.fixture(scope="module")
def default_lab(request, rt, lab_image):
    """The default topology (11 containers)."""
    yield from _module_lab(request, rt, "default.yml")


@pytest.fixture(scope="module")
def minimal_lab(request, rt, lab_image):
    """compose/minimal.yml (5 containers): root, primary, sec-nsd, unbound, client1."""
    yield from _module_lab(request, rt, "minimal.yml")


@pytest.fixture(scope="module")
def file_zones_lab(request, rt, lab_image):
    """The default world with cloud.test. served from files by Knot and NSD (compose/file-zones.yml)."""
    yield from _module_lab(request, rt, "file-zones.yml")


@pytest.fixture(scope="module")
def enactors_lab(request, rt, lab_image):
    """The default world plus the planner and three enactors (compose/enactors.yml)."""
    yield from _module_lab(request, rt, "enactors.yml")


@pytest.fixture(scope="module")
def signed_lab(request, rt, lab_image):
    """The default world signed end to end, four validating resolvers (compose/signed.yml)."""
    yield from _module_lab(request, rt, "signed.yml")


@pytest.fixture(scope="module")
def dual_stack_lab(request, rt, lab_image):
    """The default world on dual-stack networks (compose/dual-stack.yml)."""
    yield from _module_lab(request, rt, "dual-stack.yml")


@pytest.fixture(scope="module")
def ctx(rt, default_lab):
    """A fault context on the module's default lab; every fault it left is cleared after the module."""
    context_ = context(rt, default_lab)
    yield context_
    clear_all(context_)


def labelled(rt, lab: str) -> dict[str, int]:
    """How many containers, networks and volumes still carry the lab's label."""
    return {"containers": len(rt.containers(lab)), "networks": len(rt.networks(lab)), "volumes": len(rt.volumes(lab))}
