"""The Runtime for one lab across several Docker engines joined as a Swarm (a hosts file, lab/hosts.py).

What goes where:
- networks are attachable, internal overlay networks with the topology's fixed subnets, made on a manager
  (Swarm services cannot take fixed addresses, moby/moby#24170, so every node is a standalone container);
- every container runs on the engine of its host (`ContainerSpec.host`, the `dnslab.host` label), and every
  call about a container goes to that engine: exec, logs, files, and helpers in its network namespace;
- volumes are per engine (a lab across engines shares no volume: its plan store is served over HTTP);
- the image is built where dnslab runs (the local engine, else the manager) and copied to every engine that
  lacks it (`spread_image`).
Locks are those of the Swarm (its cluster id) for what the whole Swarm shares (the address space), and each
engine's own for leaving networks.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import docker
import docker.errors

from lab import hosts as hosts_file
from lab.errors import DockerUnavailable, EnvironmentProblem, LabError
from lab.parallel import parallel
from lab.runtime.base import HOST, Container, ContainerSpec, ExecResult, File, Network, Volume
from lab.runtime.docker import DockerRuntime
from lab.runtime.locks import MachineLock, machine_lock

Progress = Callable[[str], None]
OVERLAY_OPTIONS = {"com.docker.network.driver.mtu": "1450"}  # VXLAN's 50 bytes inside a 1500-byte underlay


class SwarmRuntime:
    def __init__(self, engines: dict[str, DockerRuntime], manager: str, cluster: str, source: DockerRuntime,
                 file: Path | None = None):
        self.engines = engines  # host name -> its engine, in hosts-file order
        self.manager = manager
        self.cluster = cluster
        self.source = source  # where images are built and copied from
        self.file = file
        self.hosts_file = file
        self._where: dict[str, str] = {}  # container name -> host
        self._guard = threading.Lock()

    @classmethod
    def connect(cls, path: str | Path) -> SwarmRuntime:
        """The engines of a hosts file, checked: each answers and all are members of one Swarm."""
        found = hosts_file.load(path)

        def engine(host: hosts_file.Host) -> DockerRuntime:
            tls = {"ca": str(host.tls.ca), "cert": str(host.tls.cert), "key": str(host.tls.key)} if host.tls else None
            return DockerRuntime.connect(host.docker, tls, name=host.name)

        engines = dict(zip(found, parallel(engine, found.values())))
        infos = dict(zip(engines, parallel(lambda e: e.api.info(), engines.values())))
        managers = [h for h, info in infos.items() if (info.get("Swarm") or {}).get("ControlAvailable")]
        if not managers:
            raise EnvironmentProblem(f"no engine of {path} is a Swarm manager: run `docker swarm init` on one of "
                                     f"them and `docker swarm join` on the others (docs/scaling.md)")
        manager = managers[0]
        cluster = ((infos[manager].get("Swarm") or {}).get("Cluster") or {}).get("ID", "")
        members = {n["ID"]: n for n in engines[manager].api.nodes()}
        for host, info in infos.items():
            swarm = info.get("Swarm") or {}
            node = members.get(swarm.get("NodeID", ""))
            if swarm.get("LocalNodeState") != "active" or node is None:
                raise EnvironmentProblem(
                    f"host {host} ({found[host].docker}) is not a member of the Swarm of {manager}: join it with "
                    f"`docker swarm join --token $(docker -H {found[manager].docker} swarm join-token -q worker) "
                    f"ADDRESS:2377` (docs/scaling.md)")
            if (node.get("Status") or {}).get("State") != "ready":
                raise EnvironmentProblem(f"host {host} is in the Swarm but not ready "
                                         f"({(node.get('Status') or {}).get('State')}); see `docker node ls` on {manager}")
        try:
            source = DockerRuntime.connect(timeout=30)
        except DockerUnavailable:
            source = engines[manager]  # no engine beside dnslab: build on the manager
        return cls(engines, manager, cluster, source, Path(path))

    # -- placement -------------------------------------------------------------------------------------------

    @property
    def hosts(self) -> list[str]:
        return list(self.engines)

    def _on(self, name: str) -> DockerRuntime:
        """The engine a container (or a helper named after one) runs on."""
        with self._guard:
            host = self._where.get(name)
        if host is None:
            for candidate, engine in self.engines.items():
                if engine.container(name) is not None:
                    host = candidate
                    break
            else:
                raise LabError(f"container {name} is on no host of {self.file}; run 'dnslab up' to bring the lab back")
            with self._guard:
                self._where[name] = host
        return self.engines[host]

    def host_of(self, name: str) -> str:
        return self._on(name).name

    # -- the engine ------------------------------------------------------------------------------------------

    def engine_id(self) -> str:
        return f"swarm-{self.cluster}"

    def lock(self, purpose: str) -> MachineLock:
        return machine_lock(purpose, self.engine_id())

    def leaving(self) -> contextlib.AbstractContextManager:
        # Each engine holds its own around its own calls (DockerRuntime.leaving).
        return contextlib.nullcontext()

    # -- networks and volumes --------------------------------------------------------------------------------

    def taken_subnets(self) -> list[tuple[str, str]]:
        seen = {}
        for found in parallel(lambda e: e.taken_subnets(), self.engines.values()):
            for subnet, name in found:
                seen.setdefault(subnet, name)
        return list(seen.items())

    def create_network(self, name: str, subnet: str, labels: Mapping[str, str], dynamic: str | None = None,
                       subnet6: str | None = None, dynamic6: str | None = None) -> None:
        """`dynamic`: the part of the subnet the Swarm may hand out itself. Every engine that joins an overlay
        takes an address of it for its load-balancer endpoint: kept apart from the nodes' fixed addresses,
        else an engine may take a node's address first and that node cannot start."""
        if subnet6:
            # Not tried on overlays (docs/scaling.md): refused rather than half-working.
            raise LabError(f"cannot create overlay network {name}: a dual-stack lab (ipv6: true) runs on one "
                           f"engine only; across engines, use a topology without ipv6")
        api = self.engines[self.manager].api
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet, iprange=dynamic)])
        try:
            api.create_network(name, driver="overlay", internal=True, attachable=True, ipam=ipam,
                               labels=dict(labels), options=OVERLAY_OPTIONS, check_duplicate=True)
        except docker.errors.APIError as exc:
            raise LabError(f"cannot create overlay network {name} ({subnet}) on {self.manager}: "
                           f"{exc.explanation or exc}") from None

    def networks(self, lab: str | None) -> list[Network]:
        seen: dict[str, Network] = {}
        for found in parallel(lambda e: e.networks(lab), self.engines.values()):
            for net in found:
                seen.setdefault(net.name, net)
        return list(seen.values())

    def remove_network(self, name: str) -> bool:
        # The manager lets an overlay go only once the attachments of removed containers are released: a
        # moment after the containers went ("is in use by task").
        deadline = time.monotonic() + 30
        while True:
            try:
                gone = self.engines[self.manager].remove_network(name)
                break
            except LabError as exc:
                if "in use by task" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        for host, engine in self.engines.items():  # a worker's copy of an overlay goes with its last container
            if host != self.manager:
                try:
                    gone = engine.remove_network(name) or gone
                except LabError:
                    pass
        return gone

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        parallel(lambda e: e.create_volume(name, labels), self.engines.values())

    def volumes(self, lab: str | None) -> list[Volume]:
        return [v for found in parallel(lambda e: e.volumes(lab), self.engines.values()) for v in found]

    def remove_volume(self, name: str) -> bool:
        return any(parallel(lambda e: e.remove_volume(name), self.engines.values()))

    # -- containers ------------------------------------------------------------------------------------------

    def create(self, spec: ContainerSpec) -> None:
        host = spec.host or self.manager
        if host not in self.engines:
            raise LabError(f"node {spec.node} is placed on host {host!r}, which {self.file} does not name")
        spec.labels = {**spec.labels, HOST: host}
        try:
            self.engines[host].create(spec)
        except LabError as exc:
            if "address already in use" in str(exc).lower():
                raise LabError(f"{exc} — on host {host}: another container on the overlay holds the address; "
                               f"run 'dnslab down --all --hosts {self.file}' to remove what an earlier lab left") from None
            raise
        with self._guard:
            self._where[spec.name] = host

    def containers(self, lab: str | None) -> list[Container]:
        found = [c for listed in parallel(lambda e: e.containers(lab), self.engines.values()) for c in listed]
        with self._guard:
            self._where.update({c.name: c.labels.get(HOST, "") for c in found if c.labels.get(HOST) in self.engines})
        return found

    def container(self, name: str) -> Container | None:
        try:
            return self._on(name).container(name)
        except LabError:
            return None

    def start(self, name: str) -> None:
        self._on(name).start(name)

    def stop(self, name: str, timeout: float = 10) -> None:
        self._on(name).stop(name, timeout)

    def kill(self, name: str) -> None:
        self._on(name).kill(name)

    def restart(self, name: str, timeout: float = 10) -> None:
        self._on(name).restart(name, timeout)

    def pause(self, name: str) -> None:
        self._on(name).pause(name)

    def unpause(self, name: str) -> None:
        self._on(name).unpause(name)

    def remove(self, name: str) -> bool:
        try:
            engine = self._on(name)
        except LabError:
            return False
        gone = engine.remove(name)
        with self._guard:
            self._where.pop(name, None)
        return gone

    def detach(self, name: str, network: str) -> None:
        self._on(name).detach(name, network)

    def attach(self, name: str, network: str, address: str, aliases: Iterable[str] = (),
               address6: str | None = None) -> bool:
        return self._on(name).attach(name, network, address, aliases, address6)

    # -- running things in containers ------------------------------------------------------------------------

    def exec(self, name: str, argv: list[str] | str, timeout: float = 30, user: str = "") -> ExecResult:
        return self._on(name).exec(name, argv, timeout, user)

    def exec_stream(self, name: str, argv: list[str], stdin: bool = False):
        return self._on(name).exec_stream(name, argv, stdin)

    def exec_detached(self, name: str, argv: list[str]) -> None:
        self._on(name).exec_detached(name, argv)

    def logs(self, name: str, stdout: bool = True, stderr: bool = True, since: float = 0,
             tail: int | None = None) -> str:
        try:
            return self._on(name).logs(name, stdout, stderr, since, tail)
        except LabError:
            return ""

    def follow_logs(self, name: str, since: float):
        return self._on(name).follow_logs(name, since)

    def put_files(self, name: str, files: Mapping[str, File]) -> None:
        self._on(name).put_files(name, files)

    def read_file(self, name: str, path: str) -> bytes | None:
        return self._on(name).read_file(name, path)

    def run_helper(self, target: str, image: str, script: str, labels: Mapping[str, str],
                   env: Mapping[str, str] | None = None, timeout: float = 60) -> ExecResult:
        engine = self._on(target)
        return engine.run_helper(target, image, script, {**labels, HOST: engine.name}, env, timeout)

    def start_helper(self, name: str, target: str, image: str, command: list[str], labels: Mapping[str, str],
                     env: Mapping[str, str] | None = None, net_admin: bool = True) -> None:
        engine = self._on(target)
        engine.start_helper(name, target, image, command, {**labels, HOST: engine.name}, env, net_admin)
        with self._guard:
            self._where[name] = engine.name

    def run_host_helper(self, host: str, image: str, script: str, labels: Mapping[str, str],
                        env: Mapping[str, str] | None = None, timeout: float = 60) -> ExecResult:
        return self.engines[host].run_host_helper(host, image, script, {**labels, HOST: host}, env, timeout)

    def start_host_helper(self, name: str, host: str, image: str, command: list[str], labels: Mapping[str, str],
                          env: Mapping[str, str] | None = None) -> None:
        self.engines[host].start_host_helper(name, host, image, command, {**labels, HOST: host}, env)
        with self._guard:
            self._where[name] = host

    # -- images ----------------------------------------------------------------------------------------------

    def image_id(self, name: str) -> str | None:
        """The image's id when every engine has it (the same image), else None."""
        ids = set(parallel(lambda e: e.image_id(name), self.engines.values()))
        return ids.pop() if len(ids) == 1 and None not in ids else None

    def tag_image(self, name: str, repository: str, tag: str) -> None:
        parallel(lambda e: e.tag_image(name, repository, tag), self.engines.values())

    def image_source(self) -> DockerRuntime:
        return self.source

    def spread_image(self, tag: str, progress: Progress = lambda line: None, also: Iterable[str] = ()) -> None:
        copy_image(self.source, self.engines, tag, progress, also)

    def import_image(self, source, repository: str | None, tag: str | None, changes: list[str]) -> str:
        return self.source.import_image(source, repository, tag, changes)

    def remove_image(self, name: str) -> None:
        self.source.remove_image(name)

    def build_image(self, path: str, tag: str, labels: Mapping[str, str]) -> Iterator[str]:
        return self.source.build_image(path, tag, labels)

    # -- labs ------------------------------------------------------------------------------------------------

    def labs(self) -> set[str]:
        return set().union(*parallel(lambda e: e.labs(), self.engines.values()))

    def remove_lab(self, lab: str) -> dict[str, int]:
        # Containers on every engine first (side by side across engines, one at a time on each), then the
        # overlays on the manager, then each engine's volumes.
        def containers(engine: DockerRuntime) -> int:
            return sum(engine.remove_listed(c) for c in engine.containers(lab))

        gone = {"containers": sum(parallel(containers, self.engines.values())), "networks": 0, "volumes": 0}
        for net in self.engines[self.manager].networks(lab):
            gone["networks"] += self.remove_network(net.name)
        for net in self.engines[self.manager].networks(lab):  # a network of the manager's own (not an overlay)
            gone["networks"] += self.engines[self.manager].remove_network(net.name)
        gone["networks"] += sum(parallel(lambda host: self._drain_networks(host, lab),
                                         [h for h in self.engines if h != self.manager]))
        for engine in self.engines.values():
            for vol in engine.volumes(lab):
                gone["volumes"] += engine.remove_volume(vol.name)
        with self._guard:
            self._where.clear()
        return gone

    def _drain_networks(self, host: str, lab: str, timeout: float = 60) -> int:
        """Wait until a worker lists none of the lab's networks. A worker keeps its own copy of an overlay
        until it has released the last endpoint of a removed container and heard of the manager's removal:
        asynchronous, seconds under load. `down` returns only when every engine is clean (asked to remove
        the copy meanwhile, which a worker refuses while the Swarm still holds the overlay)."""
        engine = self.engines[host]
        removed = 0
        deadline = time.monotonic() + timeout
        while left := engine.networks(lab):
            for net in left:
                try:
                    removed += engine.remove_network(net.name)
                except LabError:
                    pass
            if time.monotonic() > deadline:
                raise LabError(f"host {host} still holds the lab's networks {', '.join(n.name for n in left)} "
                               f"{timeout:.0f}s after the manager removed them; run 'dnslab down' again")
            time.sleep(0.2)
        return removed


def _chunks(data, size: int = 4 << 20) -> Iterator[bytes]:
    while chunk := data.read(size):
        yield chunk


def copy_image(source: DockerRuntime, engines: Mapping[str, DockerRuntime], tag: str,
               progress: Progress = lambda line: None, also: Iterable[str] = ()) -> None:
    """Copy the image (and the tags in `also`) from `source` to every engine that lacks it: saved once, loaded
    into all of them side by side. The image keeps its id, so an engine that has it is told by the id."""
    wanted = source.image_id(tag)
    if wanted is None:
        raise EnvironmentProblem(f"the image {tag} is not on {source.name}, so no host can be given it")
    missing = [h for h, e in engines.items() if e.image_id(tag) != wanted]
    if not missing:
        return
    started = time.monotonic()
    progress(f"copying {tag} to {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="dnslab-image-copy-") as tmp:
        archive = Path(tmp) / "image.tar"
        with archive.open("wb") as out:
            for chunk in source.api.get_image(tag, chunk_size=4 << 20):
                out.write(chunk)
        size = archive.stat().st_size

        def load(host: str) -> None:
            try:
                with archive.open("rb") as data:
                    list(engines[host].api.load_image(_chunks(data)))
            except docker.errors.APIError as exc:
                raise EnvironmentProblem(f"host {host} could not be given the image {tag}: "
                                         f"{exc.explanation or exc}") from None
            for name in also:
                repository, _, version = name.partition(":")
                engines[host].tag_image(tag, repository, version or "latest")
            progress(f"{host}: {tag} loaded ({size >> 20} MB, {time.monotonic() - started:.0f}s)")

        parallel(load, missing)
