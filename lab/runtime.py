"""The Docker edge: networks, containers and volumes of a lab, all found by their labels.

Everything Docker-specific lives here so another engine could stand in later. Every resource carries
`dnslab.lab=<lab name>`; nothing is tracked only in memory, so a lab can be found and removed also after
the orchestrator that made it was killed.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import shlex
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import docker
import docker.errors
import requests.exceptions

from lab.errors import DockerUnavailable, LabError

LAB = "dnslab.lab"
NODE = "dnslab.node"
ROLE = "dnslab.role"
SOFTWARE = "dnslab.software"
NETWORK = "dnslab.network"
SLOT = "dnslab.slot"
STATE_DIR = "dnslab.dir"
AUTOMATION = "dnslab.automation"  # pipeline agents: digest of the plug-in they run (lab.automation)
TOPOLOGY = "dnslab.topology"
SOURCE_MOUNT = "/opt/dnslab/lab"
NODE_MOUNT = "/lab/node"


def connect() -> docker.DockerClient:
    """A Docker client, or one line saying why there is none."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        reason = str(exc).split("(Caused by")[0].strip()
        raise DockerUnavailable(f"cannot reach the Docker daemon ({reason}); start Docker or set DOCKER_HOST") from None


def container_name(lab: str, node: str) -> str:
    return f"dnslab-{lab}-{node}"


def network_name(lab: str, network: str) -> str:
    return f"dnslab-{lab}-{network}"


@dataclass
class ContainerSpec:
    """One node's container: what to run, where it sits on the networks, what it may do."""

    lab: str
    node: str
    image: str
    command: list[str]
    addresses: dict[str, str]  # network name -> IPv4 address
    labels: dict[str, str]
    binds: dict[str, dict]  # host path -> {"bind": path, "mode": "ro"|"rw"}
    tmpfs: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    cap_add: list[str] = field(default_factory=list)
    volumes: dict[str, dict] = field(default_factory=dict)  # named volume -> {"bind", "mode"}
    working_dir: str | None = None
    nano_cpus: int = 0  # CPU limit in 1e-9 CPUs (docker --cpus); 0: none


def lab_filter(lab: str | None) -> dict:
    return {"label": f"{LAB}={lab}" if lab else LAB}


def taken_subnets(client: docker.DockerClient) -> list[tuple[ipaddress.IPv4Network, str]]:
    """Every IPv4 subnet Docker already uses, with the network's name."""
    taken = []
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                taken.append((ipaddress.ip_network(cfg.get("Subnet", ""), strict=False), net.name))
            except ValueError:
                continue
    return taken


def create_network(client: docker.DockerClient, lab: str, name: str, subnet: str, labels: dict) -> None:
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    # internal: no route out of the lab; nothing inside can reach the world and nothing outside is a target.
    client.networks.create(network_name(lab, name), driver="bridge", internal=True, ipam=ipam,
                           labels={**labels, NETWORK: name}, check_duplicate=True)


def create_container(client: docker.DockerClient, spec: ContainerSpec) -> None:
    api = client.api
    first, *rest = spec.addresses.items()
    binds = {**spec.binds, **spec.volumes}
    host_config = api.create_host_config(
        binds=binds, tmpfs=spec.tmpfs, cap_add=spec.cap_add or None, cap_drop=None,
        network_mode=network_name(spec.lab, first[0]), restart_policy={"Name": "no"},
        init=False, dns=[], log_config={"Type": "json-file", "Config": {"max-size": "10m", "max-file": "2"}},
        nano_cpus=spec.nano_cpus or None,
    )
    networking = api.create_networking_config({
        network_name(spec.lab, first[0]): api.create_endpoint_config(ipv4_address=first[1], aliases=[spec.node]),
    })
    api.create_container(
        spec.image, command=spec.command, name=container_name(spec.lab, spec.node), hostname=spec.node,
        labels=spec.labels, environment=spec.environment, host_config=host_config,
        networking_config=networking, volumes=[v["bind"] for v in binds.values()], detach=True,
        working_dir=spec.working_dir,
    )
    for net, address in rest:
        api.connect_container_to_network(container_name(spec.lab, spec.node), network_name(spec.lab, net),
                                         ipv4_address=address, aliases=[spec.node])


def start(client: docker.DockerClient, names: Iterable[str]) -> None:
    parallel(lambda n: client.api.start(n), names)


def parallel(fn, items: Iterable, workers: int = 8) -> list:
    """Run fn over items in threads (Docker calls are I/O bound); re-raise the first error."""
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


# Docker 20.10's libnetwork can deadlock the whole daemon when endpoints leave one network at the same
# moment (a lock-order bug between endpoint leave and its service-record watcher, moby/moby#46661, fixed
# in 20.10.27; Debian bookworm ships 20.10.24). Everything that takes a container off its networks (stop,
# kill, remove, disconnect) holds LEAVING (or goes through `one_by_one`): serialised across the threads of
# this process and, by a lock file, across every dnslab process on the machine (two labs going down at once,
# `dnslab matrix` workers, parallel test sessions).
class _MachineLock:
    """A threading lock plus an flock on a file every process on the machine shares. Re-entrant it is not."""

    def __init__(self, path: Path):
        self._path = path
        self._thread = threading.Lock()
        self._file = None

    def __enter__(self):
        self._thread.acquire()
        try:
            self._file = open(self._path, "a")
            fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            if self._file is not None:
                self._file.close()
                self._file = None
            self._thread.release()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self._file.close()  # closing drops the flock
        finally:
            self._file = None
            self._thread.release()
        return False


LEAVING = _MachineLock(Path(tempfile.gettempdir()) / "dnslab-docker-leaving.lock")


def one_by_one(fn, items: Iterable) -> list:
    """Run fn over items one at a time, each under LEAVING (for operations that take containers off networks)."""
    results = []
    for item in items:
        with LEAVING:
            results.append(fn(item))
    return results


def containers(client: docker.DockerClient, lab: str | None) -> list:
    # ignore_removed: a container may vanish between listing and inspecting it (a half-made `up`).
    return client.containers.list(all=True, filters=lab_filter(lab), ignore_removed=True)


def networks(client: docker.DockerClient, lab: str | None) -> list:
    return client.networks.list(filters=lab_filter(lab))


def volumes(client: docker.DockerClient, lab: str | None) -> list:
    return client.volumes.list(filters=lab_filter(lab))


def labs(client: docker.DockerClient) -> set[str]:
    """Names of every lab that has any resource on this Docker daemon."""
    found = set()
    for resource in containers(client, None) + networks(client, None) + volumes(client, None):
        labels = resource.attrs.get("Labels") or resource.attrs.get("Config", {}).get("Labels") or {}
        if LAB in labels:
            found.add(labels[LAB])
    return found


def remove_lab(client: docker.DockerClient, lab: str) -> dict[str, int]:
    """Remove every container, network and volume labelled with the lab; count what went."""
    gone = {"containers": 0, "networks": 0, "volumes": 0}

    def remove_container(c) -> None:
        try:
            c.remove(force=True, v=True)
            gone["containers"] += 1
        except docker.errors.NotFound:
            pass

    one_by_one(remove_container, containers(client, lab))
    for net in networks(client, lab):
        try:
            _remove_network(net)
            gone["networks"] += 1
        except docker.errors.NotFound:
            pass
    for vol in volumes(client, lab):
        try:
            vol.remove(force=True)
            gone["volumes"] += 1
        except docker.errors.NotFound:
            pass
    return gone


def _remove_network(net) -> None:
    """Remove a network, first cutting off endpoints that outlived their containers (a container being
    removed by someone else at the same moment, or a sidecar that joined a network late)."""
    for attempt in range(5):
        try:
            net.remove()
            return
        except docker.errors.APIError as exc:
            if isinstance(exc, docker.errors.NotFound) or "active endpoints" not in str(exc) or attempt == 4:
                raise
            net.reload()
            for endpoint in (net.attrs.get("Containers") or {}):
                try:
                    net.disconnect(endpoint, force=True)
                except docker.errors.APIError:
                    pass
            time.sleep(0.2 * (attempt + 1))


@dataclass
class ExecResult:
    exit_code: int
    output: str


def exec_in(client: docker.DockerClient, container: str, cmd: list[str] | str, timeout: float = 30,
            user: str = "") -> ExecResult:
    """Run a command in a container, bounded by `timeout` seconds (coreutils timeout inside)."""
    argv = cmd if isinstance(cmd, list) else ["sh", "-c", cmd]
    argv = ["timeout", "-k", "2", str(int(timeout)), *argv]
    try:
        result = client.api.exec_create(container, argv, stdout=True, stderr=True, user=user)
        output = client.api.exec_start(result["Id"])
        code = client.api.exec_inspect(result["Id"])["ExitCode"]
    except docker.errors.NotFound:
        raise LabError(f"container {container} is gone; run 'dnslab up' to bring the lab back") from None
    except docker.errors.APIError as exc:
        raise LabError(f"cannot run a command in {container}: {exc.explanation or exc}") from None
    return ExecResult(code if code is not None else -1, output.decode("utf-8", "replace"))


def exec_json(client: docker.DockerClient, container: str, module: str, payload: Any, timeout: float = 30) -> Any:
    """Run one of lab.agents inside a container with a JSON argument and parse its JSON output."""
    result = exec_in(client, container, ["python3", "-m", module, json.dumps(payload)], timeout)
    if result.exit_code != 0:
        tail = result.output.strip().splitlines()[-1:] or [f"exit {result.exit_code}"]
        raise LabError(f"{module} failed in {container}: {tail[0]}")
    try:
        return json.loads(result.output)
    except json.JSONDecodeError:
        raise LabError(f"{module} in {container} printed no JSON: {shlex.quote(result.output[-200:])}") from None
