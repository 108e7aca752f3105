"""The engine edge: everything dnslab asks of a container engine goes through one `Runtime` (lab.runtime.base).

    from lab import runtime
    rt = runtime.connect()                       # the local Docker engine (DOCKER_HOST, or the socket)
    rt.containers(lab)                           # plain records, found by the lab's label

No module outside this package talks to an engine's SDK (an import-linter contract in pyproject.toml says so).
"""

from __future__ import annotations

import os

from lab.runtime.base import (
    AUTOMATION, HELPER, HOST, LAB, NETWORK, NODE, ROLE, SLOT, SOFTWARE, STATE_DIR, TARGET, TOPOLOGY, UP_STATES,
    Container, ContainerSpec, ExecResult, ExecStream, File, LogStream, Network, Runtime, Volume, container_name,
    network_name,
)

__all__ = ["AUTOMATION", "HELPER", "HOST", "LAB", "NETWORK", "NODE", "ROLE", "SLOT", "SOFTWARE", "STATE_DIR", "TARGET",
           "TOPOLOGY", "UP_STATES", "Container", "ContainerSpec", "ExecResult", "ExecStream", "File", "LogStream",
           "Network", "Runtime", "Volume", "container_name", "network_name", "connect", "NODE_DIR", "SOURCE_DIR",
           "ON_START"]

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
