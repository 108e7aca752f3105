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
from lab.pytest_plugin import docker_or_skip
from lab.errors import DockerUnavailable

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
def docker_client():
    return docker_or_skip()  # the plugin's rule: under CI=true no Docker is a failure, never a skip


@pytest.fixture(scope="session", autouse=True)
def dnslab_home():
    """A private state directory for the whole session; swept with every lab it made at the end."""
    home = tempfile.mkdtemp(prefix="dnslab-test-home-")
    old = os.environ.get("DNSLAB_HOME")
    os.environ["DNSLAB_HOME"] = home
    yield Path(home)
    try:
        client = runtime.connect()
        for lab in runtime.labs(client):
            if lab.startswith(PREFIX):
                runtime.remove_lab(client, lab)
    except DockerUnavailable:
        pass
    if old is None:
        os.environ.pop("DNSLAB_HOME", None)
    else:
        os.environ["DNSLAB_HOME"] = old


@pytest.fixture(scope="session")
def lab_image(docker_client):
    """The lab image, built once if missing (progress goes to the test log)."""
    return image.ensure(docker_client, progress=lambda line: print(f"[image] {line}", flush=True))


def lab_name(suffix: str) -> str:
    return f"{PREFIX}-{suffix}"


def _module_lab(request, client, topology: str):
    """A lab of `topology` named after the test module, up for that module; always removed afterwards."""
    name = lab_name(Path(request.module.__file__).stem.removeprefix("test_").replace("_", "-"))
    try:
        yield lifecycle.up(REPO / "compose" / topology, name, client=client)
    finally:
        lifecycle.down(name, client=client)


@pytest.fixture(scope="module")
def default_lab(request, docker_client, lab_image):
    """The default topology (11 containers)."""
    yield from _module_lab(request, docker_client, "default.yml")


@pytest.fixture(scope="module")
def minimal_lab(request, docker_client, lab_image):
    """compose/minimal.yml (5 containers): root, primary, sec-nsd, unbound, client1."""
    yield from _module_lab(request, docker_client, "minimal.yml")


@pytest.fixture(scope="module")
def enactors_lab(request, docker_client, lab_image):
    """The default world plus the planner and three enactors (compose/enactors.yml)."""
    yield from _module_lab(request, docker_client, "enactors.yml")


@pytest.fixture(scope="module")
def signed_lab(request, docker_client, lab_image):
    """The default world signed end to end, four validating resolvers (compose/signed.yml)."""
    yield from _module_lab(request, docker_client, "signed.yml")


def labelled(client, lab: str) -> dict[str, int]:
    """How many containers, networks and volumes still carry the lab's label."""
    return {"containers": len(runtime.containers(client, lab)), "networks": len(runtime.networks(client, lab)),
            "volumes": len(runtime.volumes(client, lab))}
