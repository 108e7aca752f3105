"""The engine edge: everything dnslab asks of a container engine goes through one `Runtime` (lab.runtime.base).

    from lab import runtime
    rt = runtime.connect()                       # the local Docker engine (DOCKER_HOST, or the socket)
    rt.containers(lab)                           # plain records, found by the lab's label

No module outside this package talks to an engine's SDK (an import-linter contract in pyproject.toml says so).
"""

from __future__ import annotations

import os

from lab.runtime.base import (
    AUTOMATION, HELPER, HOST, LAB, NETWORK, NODE, ROLE, SLOT, SOFTWARE, STATE_DIR, STOP_FIRST, TARGET, TOPOLOGY,
    UP_STATES, Container, ContainerSpec, ExecResult, ExecStream, File, LogStream, Network, Runtime, Volume,
    container_name, network_name,
)
from lab.runtime.filepack import UNPACK, after_files

__all__ = ["AUTOMATION", "HELPER", "HOST", "LAB", "NETWORK", "NODE", "ROLE", "SLOT", "SOFTWARE", "STATE_DIR",
           "STOP_FIRST", "TARGET", "TOPOLOGY", "UP_STATES", "Container", "ContainerSpec", "ExecResult", "ExecStream",
           "File", "LogStream", "Network", "Runtime", "Volume", "container_name", "network_name", "connect",
           "NODE_DIR", "SOURCE_DIR", "ON_START", "UNPACK", "after_files", "engines", "child_environment", "copy_image"]

# Where the lab's own files sit inside every container.
NODE_DIR = "/lab/node"  # the node's rendered configs, zone files, keys (lab.state renders them)
SOURCE_DIR = "/opt/dnslab"  # the agents' code (lab/agents), on PYTHONPATH
# A script a node runs once before its command at its next start (a stopped container takes files but runs
# nothing: e.g. removing a stopped server's journal). lab.lifecycle's node prologue runs it.
ON_START = f"{NODE_DIR}/.on-start"


def connect(hosts: str | os.PathLike | None = None) -> Runtime:
    """The runtime for this process: the engines of a hosts file (given, else $DNSLAB_HOSTS) joined as a Swarm,
    else one local Docker engine (DOCKER_HOST, or the socket); or one line saying why not."""
    from lab import hosts as hosts_file  # noqa: PLC0415
    from lab.runtime.docker import DockerRuntime  # noqa: PLC0415 - docker-py only when an engine is needed

    path = hosts_file.hosts_file(hosts)
    if path is None:
        return DockerRuntime.connect()
    from lab.runtime.swarm import SwarmRuntime  # noqa: PLC0415

    return SwarmRuntime.connect(path)


def engines(hosts: dict) -> dict[str, Runtime]:
    """Each engine of a hosts file (lab.hosts.load) on its own, not as a Swarm: `dnslab matrix --hosts` runs
    whole labs side by side, one engine each."""
    from lab.parallel import parallel  # noqa: PLC0415
    from lab.runtime.docker import DockerRuntime  # noqa: PLC0415

    def connect_one(host) -> Runtime:
        tls = {"ca": str(host.tls.ca), "cert": str(host.tls.cert), "key": str(host.tls.key)} if host.tls else None
        return DockerRuntime.connect(host.docker, tls, name=host.name)

    return dict(zip(hosts, parallel(connect_one, hosts.values())))


def child_environment(host, scratch: str) -> dict[str, str]:
    """What a child `dnslab` process needs in its environment to use one engine of a hosts file alone
    (DOCKER_HOST, and the client certificates named the way the Docker client looks for them, under `scratch`)."""
    env = {"DOCKER_HOST": host.docker, "DNSLAB_HOSTS": ""}
    if host.tls:
        certs = os.path.join(scratch, host.name)
        os.makedirs(certs, exist_ok=True)
        for name, path in (("ca.pem", host.tls.ca), ("cert.pem", host.tls.cert), ("key.pem", host.tls.key)):
            link = os.path.join(certs, name)
            if not os.path.exists(link):
                os.symlink(path, link)
        env.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=certs)
    return env


def copy_image(source: Runtime, targets: dict[str, Runtime], tag: str, progress=lambda line: None,
               also=()) -> None:
    """The image from `source` onto every target engine that lacks it (lab.runtime.swarm.copy_image)."""
    from lab.runtime.swarm import copy_image as copy  # noqa: PLC0415

    copy(source, targets, tag, progress, also)
