"""The one interface between dnslab and a container engine, and the plain records it speaks in.

Everything the lab asks of an engine goes through `Runtime`: networks, containers found by their labels,
exec, logs, volumes, files put into a container and read back, helpers in a node's network namespace,
images. Callers get plain records (`Container`, `Network`, `Volume`, `ExecResult`), never an SDK object,
and reach a container's files only through `put_files`/`read_file`, never through a host path both sides
can see: so a lab can run on an engine that shares no disk with the orchestrator (several engines in a
Swarm, a remote host). One implementation per engine kind: lab/runtime/docker.py (one Docker engine);
`lab.runtime.connect()` picks one.

Shapes borrowed from containerlab's `runtime.ContainerRuntime` and Kathara's `IManager`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

# Labels every resource of a lab carries: nothing is tracked only in memory, so a lab can be found and
# removed also after the orchestrator that made it was killed.
LAB = "dnslab.lab"
NODE = "dnslab.node"
ROLE = "dnslab.role"
SOFTWARE = "dnslab.software"
NETWORK = "dnslab.network"
SLOT = "dnslab.slot"
STATE_DIR = "dnslab.dir"
AUTOMATION = "dnslab.automation"  # pipeline agents: digest of the plug-in they run (lab.automation)
TOPOLOGY = "dnslab.topology"
HELPER = "dnslab.sidecar"  # helpers in a node's network namespace (lab.nshelper): "helper"
TARGET = "dnslab.target"  # the node whose namespace a helper joins
HOST = "dnslab.host"  # the engine a container was placed on (several engines)
STOP_FIRST = "dnslab.stop-first"  # removed by a stop (SIGTERM) first: its end undoes something outside it

# Container states, as engines report them.
UP_STATES = ("running", "paused", "restarting")


def container_name(lab: str, node: str) -> str:
    return f"dnslab-{lab}-{node}"


def network_name(lab: str, network: str) -> str:
    return f"dnslab-{lab}-{network}"


@dataclass(frozen=True)
class Container:
    """A container as the engine sees it now."""

    name: str
    state: str  # created, running, paused, restarting, exited, dead, removing, or "missing"
    labels: Mapping[str, str]
    networks: Mapping[str, str]  # engine network name -> IPv4 address
    exit_code: int | None = None
    error: str = ""  # the engine's reason when it could not start the process
    image: str = ""
    id: str = ""  # the engine's id: another id under the same name is another container
    started: str = ""  # when its process last started (the engine's text; inspect only): a new namespace

    @property
    def node(self) -> str | None:
        return self.labels.get(NODE)

    @property
    def lab(self) -> str | None:
        return self.labels.get(LAB)

    @property
    def up(self) -> bool:
        return self.state in UP_STATES


@dataclass(frozen=True)
class Network:
    name: str
    labels: Mapping[str, str]
    subnets: tuple[str, ...]
    containers: tuple[str, ...] = ()  # endpoint ids still attached


@dataclass(frozen=True)
class Volume:
    name: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str


@dataclass(frozen=True)
class File:
    """A file to put into a container: its content and mode (0600 for anything that holds a secret)."""

    content: bytes
    mode: int = 0o644

    @classmethod
    def of(cls, content: str | bytes, mode: int | None = None) -> File:
        data = content.encode() if isinstance(content, str) else content
        return cls(data, mode if mode is not None else 0o644)


@dataclass
class ContainerSpec:
    """One node's container: what to run, where it sits on the networks, what it may do, which files it
    starts with (path in the container -> File; they are in place before its command runs)."""

    lab: str
    node: str
    image: str
    command: list[str]
    addresses: dict[str, str]  # lab network name -> IPv4 address
    labels: dict[str, str]
    addresses6: dict[str, str] = field(default_factory=dict)  # lab network name -> IPv6 address (dual-stack)
    files: dict[str, File] = field(default_factory=dict)
    tmpfs: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    cap_add: list[str] = field(default_factory=list)
    volumes: dict[str, dict] = field(default_factory=dict)  # named volume -> {"bind", "mode"}
    working_dir: str | None = None
    entrypoint: list[str] = field(default_factory=list)  # runs `command` (as its arguments); [] : none
    nano_cpus: int = 0  # CPU limit in 1e-9 CPUs (docker --cpus); 0: none
    host: str | None = None  # the engine to place it on (several engines); None: the only one
    # Its entrypoint begins with lab.runtime.filepack.UNPACK and runs as root: `files` may come in its
    # environment instead of being put in (the lab image's nodes; not a user's image, whose user may differ).
    unpacks: bool = False

    @property
    def name(self) -> str:
        return container_name(self.lab, self.node)


class ExecStream(Protocol):
    """A command running in a container whose output arrives as it is printed; stdin stays open when asked
    for, so the caller can talk to it (and the command sees end-of-file when the caller goes away)."""

    def chunks(self) -> Iterator[tuple[bytes | None, bytes | None]]:
        """(stdout, stderr) pieces until the command ends or the stream is closed."""

    def send(self, data: bytes) -> None: ...

    def close_stdin(self) -> None: ...

    def close(self) -> None: ...


class LogStream(Protocol):
    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class Runtime(Protocol):
    """What dnslab asks of a container engine. Container arguments are container names."""

    # -- the engine ------------------------------------------------------------------------------------------
    @property
    def hosts(self) -> list[str]:
        """The hosts a node may be placed on (one engine: its own name, "local" by default)."""

    def host_of(self, name: str) -> str:
        """The host a container runs on."""

    @property
    def hosts_file(self) -> Path | None:
        """The hosts file of a runtime over several engines; None for one engine (nothing to place)."""

    def engine_id(self) -> str:
        """A stable identity of the engine (locks that must hold across processes are per engine)."""

    def lock(self, purpose: str) -> contextlib.AbstractContextManager:
        """A lock held across every dnslab process that talks to this engine from this machine."""

    def leaving(self) -> contextlib.AbstractContextManager:
        """Held around every call that takes a container off its networks (stop, kill, remove, detach):
        Docker 20.10 deadlocks when endpoints leave a network at the same moment (moby/moby#46661)."""

    # -- networks and volumes --------------------------------------------------------------------------------
    def taken_subnets(self) -> list[tuple[str, str]]:
        """(subnet, network name) of every network the engine has, lab or not."""

    def create_network(self, name: str, subnet: str, labels: Mapping[str, str], dynamic: str | None = None,
                       subnet6: str | None = None, dynamic6: str | None = None) -> None:
        """An internal network (no route out) with a fixed subnet; the engine hands out addresses of its own
        (gateways, load-balancer endpoints) only from `dynamic` (a range within the subnet, CIDR). With
        `subnet6` it is dual-stack: an IPv6 subnet too (`dynamic6` its engine range), and containers on it
        get the fixed IPv6 addresses of their spec's `addresses6`."""

    def networks(self, lab: str | None) -> list[Network]: ...

    def remove_network(self, name: str) -> bool: ...

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None: ...

    def volumes(self, lab: str | None) -> list[Volume]: ...

    def remove_volume(self, name: str) -> bool: ...

    # -- containers ------------------------------------------------------------------------------------------
    def create(self, spec: ContainerSpec) -> None:
        """Create the container on its networks with its files in place; it is not started."""

    def containers(self, lab: str | None) -> list[Container]:
        """Every container labelled with the lab (or with any lab), helpers included."""

    def container(self, name: str) -> Container | None: ...

    def start(self, name: str) -> None: ...

    def stop(self, name: str, timeout: float = 10) -> None: ...

    def kill(self, name: str) -> None:
        """SIGKILL, then wait until the engine has taken it off its networks."""

    def restart(self, name: str, timeout: float = 10) -> None: ...

    def pause(self, name: str) -> None: ...

    def unpause(self, name: str) -> None: ...

    def remove(self, name: str) -> bool:
        """Remove it by force, with its anonymous volumes; False when it was gone already."""

    def detach(self, name: str, network: str) -> None: ...

    def attach(self, name: str, network: str, address: str, aliases: Iterable[str] = (),
               address6: str | None = None) -> bool:
        """Attach it to a network with a fixed address (and IPv6 address on a dual-stack network); False when
        it was attached already."""

    # -- running things in containers ------------------------------------------------------------------------
    def exec(self, name: str, argv: list[str] | str, timeout: float = 30, user: str = "") -> ExecResult:
        """Run a command in a running container, bounded by `timeout` seconds."""

    def exec_stream(self, name: str, argv: list[str], stdin: bool = False) -> ExecStream: ...

    def exec_detached(self, name: str, argv: list[str]) -> None:
        """Start a command in the container and return at once."""

    def logs(self, name: str, stdout: bool = True, stderr: bool = True, since: float = 0,
             tail: int | None = None) -> str: ...

    def follow_logs(self, name: str, since: float) -> LogStream:
        """The container's stdout from `since` (Unix time, whole seconds) on, as it is printed."""

    def put_files(self, name: str, files: Mapping[str, File]) -> None:
        """Write files (absolute paths in the container) into a created, running or stopped container."""

    def read_file(self, name: str, path: str) -> bytes | None:
        """A file's content, or None when there is no such file."""

    def run_helper(self, target: str, image: str, script: str, labels: Mapping[str, str],
                   env: Mapping[str, str] | None = None, timeout: float = 60) -> ExecResult:
        """Run a shell script with NET_ADMIN (and nothing else) in the target container's network namespace,
        on the target's engine, in a short-lived labelled container that is removed afterwards."""

    def start_helper(self, name: str, target: str, image: str, command: list[str], labels: Mapping[str, str],
                     env: Mapping[str, str] | None = None, net_admin: bool = True) -> None:
        """A long-lived helper like run_helper's (e.g. dnsdist in front of a server), named `name`; with
        net_admin=False it holds no capability at all (one that only looks, like a truth sampler)."""

    def run_host_helper(self, host: str, image: str, script: str, labels: Mapping[str, str],
                        env: Mapping[str, str] | None = None, timeout: float = 60) -> ExecResult:
        """Like run_helper, in the network namespace of the host's engine itself (zone-level faults)."""

    def start_host_helper(self, name: str, host: str, image: str, command: list[str], labels: Mapping[str, str],
                          env: Mapping[str, str] | None = None) -> None:
        """A long-lived helper like start_helper's, with NET_ADMIN only, in the network namespace of the host's
        engine itself (zone-level faults). Labelled STOP_FIRST, its removal stops it first (SIGTERM)."""

    # -- images ----------------------------------------------------------------------------------------------
    def image_id(self, name: str) -> str | None:
        """The image's id (on several engines: when every one has the same image), else None."""

    def image_source(self) -> Runtime:
        """The engine images are built on (and copied from, to engines that lack them)."""

    def spread_image(self, tag: str, progress: Callable[[str], None] = ..., also: Iterable[str] = ()) -> None:
        """Make sure every engine has the image (and the tags in `also`), copying it where it is missing."""

    def tag_image(self, name: str, repository: str, tag: str) -> None: ...

    def import_image(self, source: str | BinaryIO, repository: str | None, tag: str | None,
                     changes: list[str]) -> str:
        """A root filesystem (a tarball's path, or a stream read as it comes) as an image; returns its id."""

    def remove_image(self, name: str) -> None: ...

    def build_image(self, path: str, tag: str, labels: Mapping[str, str]) -> Iterator[str]:
        """Build from a Dockerfile directory; yields the build's output lines."""

    # -- labs ------------------------------------------------------------------------------------------------
    def labs(self) -> set[str]:
        """Names of every lab that has any resource on the engine."""

    def remove_lab(self, lab: str) -> dict[str, int]:
        """Remove every container, network and volume labelled with the lab; count what went."""
