"""The Runtime for one Docker engine (local socket, tcp with TLS, or ssh): docker-py's low-level API.

The low-level API is used on purpose: one call per list (no inspect per container), and the records we
hand out are built from its plain dicts. Every call that takes a container off its networks holds the
engine's leaving lock (see `leaving`). One class for the whole interface (lab.runtime.base), hence the
length of this module: splitting it would split one engine's calls over several files.
"""

from __future__ import annotations

import io
import json
import socket
import tarfile
import time
from collections.abc import Iterable, Iterator, Mapping

import docker
import docker.errors
import docker.tls
import requests.exceptions
from docker.utils.socket import frames_iter

from lab.errors import DockerUnavailable, LabError
from lab.parallel import parallel
from lab.runtime import filepack
from lab.runtime.base import (
    HELPER, LAB, STOP_FIRST, Container, ContainerSpec, ExecResult, File, Network, Volume, network_name,
)
from lab.runtime.locks import MachineLock, machine_lock

LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "2"}}
ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)
STOP_TIMEOUT = 5  # seconds a STOP_FIRST helper has to undo its work before SIGKILL


def _explain(exc: Exception) -> str:
    return str(getattr(exc, "explanation", None) or exc).split("(Caused by")[0].strip()


def lab_filter(lab: str | None) -> dict:
    return {"label": f"{LAB}={lab}" if lab else LAB}


class DockerRuntime:
    """One Docker engine. `client` is a docker.DockerClient; `connect()` makes one from the environment."""

    def __init__(self, client: docker.DockerClient, name: str = "local"):
        self.client = client
        self.api = client.api
        self.name = name  # the host name in a hosts file; "local" for the default engine
        self._engine_id: str | None = None

    @classmethod
    def connect(cls, url: str | None = None, tls: Mapping[str, str] | None = None, name: str = "local",
                timeout: int = 120) -> DockerRuntime:
        """The engine at `url` (default: DOCKER_HOST or the local socket), or one line saying why not."""
        try:
            if url is None:
                client = docker.from_env(timeout=timeout)
            else:
                tls_config = docker.tls.TLSConfig(client_cert=(tls["cert"], tls["key"]), ca_cert=tls["ca"],
                                                  verify=True) if tls else False
                client = docker.DockerClient(base_url=url, tls=tls_config, timeout=timeout,
                                             use_ssh_client=url.startswith("ssh://"))
            client.ping()
        except ENGINE_ERRORS as exc:
            where = f"the Docker engine {name} ({url})" if url else "the Docker daemon"
            hint = "check that it runs and answers there" if url else "start Docker or set DOCKER_HOST"
            raise DockerUnavailable(f"cannot reach {where} ({_explain(exc)}); {hint}") from None
        return cls(client, name)

    # -- the engine ------------------------------------------------------------------------------------------

    @property
    def hosts(self) -> list[str]:
        return [self.name]

    @property
    def hosts_file(self) -> None:
        return None  # one engine: no placement

    def host_of(self, name: str) -> str:
        return self.name

    def engine_id(self) -> str:
        if self._engine_id is None:
            # Engines started from one /etc/docker share its key and so their ID (several engines on one
            # machine): a Swarm member is told apart by its node ID.
            info = self.api.info()
            node = (info.get("Swarm") or {}).get("NodeID") or ""
            self._engine_id = "-".join(p for p in (str(info.get("ID") or self.api.base_url), node) if p)
        return self._engine_id

    def lock(self, purpose: str) -> MachineLock:
        return machine_lock(purpose, self.engine_id())

    def leaving(self) -> MachineLock:
        """Docker 20.10's libnetwork can deadlock the whole daemon when endpoints leave one network at the
        same moment (a lock-order bug between endpoint leave and its service-record watcher, moby/moby#46661,
        fixed in 20.10.27; Debian bookworm ships 20.10.24). Every call that takes a container off its
        networks (stop, kill, restart, remove, detach) holds this lock: one at a time across the threads
        of this process and every dnslab process on this machine that talks to this engine."""
        return self.lock("docker-leaving")

    # -- networks and volumes --------------------------------------------------------------------------------

    def taken_subnets(self) -> list[tuple[str, str]]:
        taken = []
        for net in self.api.networks():
            for cfg in (net.get("IPAM") or {}).get("Config") or []:
                if cfg.get("Subnet"):
                    taken.append((cfg["Subnet"], net.get("Name", "")))
        return taken

    def create_network(self, name: str, subnet: str, labels: Mapping[str, str], dynamic: str | None = None,
                       subnet6: str | None = None, dynamic6: str | None = None) -> None:
        pools = [docker.types.IPAMPool(subnet=subnet, iprange=dynamic)]
        if subnet6:
            # Docker 20.10 gives fixed IPv6 addresses on a user-defined network with enable_ipv6 and a ULA
            # subnet, without any daemon-wide IPv6 setting (seen by hand: /work/shared/DESIGN.md).
            pools.append(docker.types.IPAMPool(subnet=subnet6, iprange=dynamic6))
        ipam = docker.types.IPAMConfig(pool_configs=pools)
        try:
            # internal: no route out of the lab; nothing inside can reach the world, nothing outside is a target.
            self.api.create_network(name, driver="bridge", internal=True, ipam=ipam, labels=dict(labels),
                                    check_duplicate=True, enable_ipv6=bool(subnet6))
        except docker.errors.APIError as exc:
            both = f"{subnet}, {subnet6}" if subnet6 else subnet
            raise LabError(f"cannot create network {name} ({both}): {_explain(exc)}") from None

    def networks(self, lab: str | None) -> list[Network]:
        found = []
        for net in self.api.networks(filters=lab_filter(lab)):
            subnets = tuple(c["Subnet"] for c in (net.get("IPAM") or {}).get("Config") or [] if c.get("Subnet"))
            found.append(Network(net["Name"], net.get("Labels") or {}, subnets, tuple(net.get("Containers") or ())))
        return found

    def remove_network(self, name: str) -> bool:
        """Remove a network, first cutting off endpoints that outlived their containers (a container being
        removed by someone else at the same moment, or a helper that joined a network late)."""
        for attempt in range(5):
            try:
                self.api.remove_network(name)
                return True
            except docker.errors.NotFound:
                return False
            except docker.errors.APIError as exc:
                if "not found" in str(exc).lower():  # a Swarm's overlay went meanwhile (an rpc NotFound)
                    return False
                if "active endpoints" not in str(exc) or attempt == 4:
                    raise LabError(f"cannot remove network {name}: {_explain(exc)}") from None
            try:
                endpoints = self.api.inspect_network(name).get("Containers") or {}
            except docker.errors.NotFound:
                return True
            for endpoint in endpoints:
                try:
                    with self.leaving():
                        self.api.disconnect_container_from_network(endpoint, name, force=True)
                except docker.errors.APIError:
                    pass
            time.sleep(0.2 * (attempt + 1))
        return False

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self.api.create_volume(name=name, labels=dict(labels))

    def volumes(self, lab: str | None) -> list[Volume]:
        listed = self.api.volumes(filters=lab_filter(lab)).get("Volumes") or []
        return [Volume(v["Name"], v.get("Labels") or {}) for v in listed]

    def remove_volume(self, name: str) -> bool:
        try:
            self.api.remove_volume(name, force=True)
            return True
        except docker.errors.NotFound:
            return False

    # -- containers ------------------------------------------------------------------------------------------

    def create(self, spec: ContainerSpec) -> None:
        api = self.api
        first, *rest = spec.addresses.items()
        # Named volumes only (the plan store): no host path is ever mounted, so the engine needs no disk of ours.
        binds = dict(spec.volumes)
        host_config = api.create_host_config(
            binds=binds, tmpfs=spec.tmpfs, cap_add=spec.cap_add or None, cap_drop=None,
            network_mode=network_name(spec.lab, first[0]), restart_policy={"Name": "no"},
            init=False, dns=[], log_config=LOG_CONFIG, nano_cpus=spec.nano_cpus or None,
        )
        networking = api.create_networking_config({
            network_name(spec.lab, first[0]): api.create_endpoint_config(
                ipv4_address=first[1], ipv6_address=spec.addresses6.get(first[0]), aliases=[spec.node]),
        })
        environment, files = dict(spec.environment), spec.files
        carried = filepack.environment(files) if spec.unpacks and files else None
        if carried is not None:  # no archive call: its entrypoint writes them out (lab.runtime.filepack)
            environment, files = {**environment, **carried}, {}
        try:
            api.create_container(
                spec.image, command=spec.command, name=spec.name, hostname=spec.node, labels=spec.labels,
                environment=environment, host_config=host_config, networking_config=networking,
                volumes=[v["bind"] for v in binds.values()], detach=True, working_dir=spec.working_dir,
                entrypoint=spec.entrypoint or None,
            )
            for net, address in rest:
                api.connect_container_to_network(spec.name, network_name(spec.lab, net), ipv4_address=address,
                                                 ipv6_address=spec.addresses6.get(net), aliases=[spec.node])
        except docker.errors.APIError as exc:
            raise LabError(f"cannot create the container of {spec.node} ({spec.name}): {_explain(exc)}") from None
        if files:
            self.put_files(spec.name, files)

    def containers(self, lab: str | None) -> list[Container]:
        return [_listed(c) for c in self.api.containers(all=True, filters=lab_filter(lab))]

    def container(self, name: str) -> Container | None:
        try:
            info = self.api.inspect_container(name)
        except docker.errors.NotFound:
            return None
        state = info.get("State") or {}
        networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
        return Container(
            name=info["Name"].lstrip("/"), state=state.get("Status", "unknown"),
            labels=(info.get("Config") or {}).get("Labels") or {},
            networks={net: v.get("IPAddress", "") for net, v in networks.items()},
            exit_code=state.get("ExitCode"), error=state.get("Error") or "",
            image=(info.get("Config") or {}).get("Image", ""), id=info.get("Id", ""),
            started=state.get("StartedAt") or "")

    def _call(self, what: str, name: str, fn, *args, **kwargs):
        try:
            return fn(name, *args, **kwargs)
        except docker.errors.NotFound:
            raise LabError(f"container {name} is gone; run 'dnslab up' to bring the lab back") from None
        except docker.errors.APIError as exc:
            raise LabError(f"cannot {what} {name}: {_explain(exc)}") from None

    def start(self, name: str) -> None:
        self._call("start", name, self.api.start)

    def stop(self, name: str, timeout: float = 10) -> None:
        with self.leaving():
            self._call("stop", name, self.api.stop, timeout=int(timeout))

    def kill(self, name: str) -> None:
        with self.leaving():
            self._call("kill", name, self.api.kill)
            # Over once the engine has taken it off its networks (the next leaving call may then go).
            self._call("wait for", name, self.api.wait, timeout=30, condition="not-running")

    def restart(self, name: str, timeout: float = 10) -> None:
        with self.leaving():
            self._call("restart", name, self.api.restart, timeout=int(timeout))

    def pause(self, name: str) -> None:
        self._call("pause", name, self.api.pause)

    def unpause(self, name: str) -> None:
        self._call("unpause", name, self.api.unpause)

    def remove(self, name: str) -> bool:
        try:
            with self.leaving():
                self.api.remove_container(name, force=True, v=True)
            return True
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError as exc:
            if "is already in progress" in str(exc):
                return False
            raise LabError(f"cannot remove {name}: {_explain(exc)}") from None

    def _remove_helper(self, name: str, stop_first: bool = False) -> bool:
        try:
            if stop_first:  # its own end undoes what it did outside its container (start_host_helper)
                self.api.stop(name, timeout=STOP_TIMEOUT)
            self.api.remove_container(name, force=True, v=True)
            return True
        except docker.errors.APIError:  # gone already, or going
            return False

    def remove_listed(self, container: Container) -> bool:
        """Remove a container as listed: a helper (no network endpoint of its own) without the lock around
        leaving networks, stopped first when it is labelled STOP_FIRST."""
        if HELPER in container.labels:
            return self._remove_helper(container.name, bool(container.labels.get(STOP_FIRST)))
        return self.remove(container.name)

    def detach(self, name: str, network: str) -> None:
        with self.leaving():
            self._call("disconnect", name, self.api.disconnect_container_from_network, network)

    def attach(self, name: str, network: str, address: str, aliases: Iterable[str] = (),
               address6: str | None = None) -> bool:
        try:
            self.api.connect_container_to_network(name, network, ipv4_address=address, ipv6_address=address6,
                                                  aliases=list(aliases))
            return True
        except docker.errors.APIError as exc:
            if "already exists" in str(exc) or "already attached" in str(exc):
                return False
            raise LabError(f"cannot attach {name} to {network}: {_explain(exc)}") from None

    # -- running things in containers ------------------------------------------------------------------------

    def exec(self, name: str, argv: list[str] | str, timeout: float = 30, user: str = "") -> ExecResult:
        argv = argv if isinstance(argv, list) else ["sh", "-c", argv]
        # coreutils timeout inside: the command ends even if this process goes away.
        argv = ["timeout", "-k", "2", str(max(1, int(timeout))), *argv]
        try:
            exec_id = self.api.exec_create(name, argv, stdout=True, stderr=True, user=user)["Id"]
            output = self.api.exec_start(exec_id)
            code = self._exit_code(exec_id)
        except docker.errors.NotFound:
            raise LabError(f"container {name} is gone; run 'dnslab up' to bring the lab back") from None
        except docker.errors.APIError as exc:
            raise LabError(f"cannot run a command in {name}: {_explain(exc)}") from None
        return ExecResult(code if code is not None else -1, output.decode("utf-8", "replace"))

    def _exit_code(self, exec_id: str, wait: float = 5.0) -> int | None:
        """The exec's exit code. Its output can end before the engine has recorded the exit (ExitCode None,
        Running still true: seen under load, a finished command taken for a failed one): wait for it, bounded."""
        deadline = time.monotonic() + wait
        while True:
            info = self.api.exec_inspect(exec_id)
            if info.get("ExitCode") is not None or not info.get("Running") or time.monotonic() >= deadline:
                return info.get("ExitCode")
            time.sleep(0.05)

    def exec_stream(self, name: str, argv: list[str], stdin: bool = False) -> DockerExecStream:
        try:
            exec_id = self.api.exec_create(name, argv, stdout=True, stderr=True, stdin=stdin)["Id"]
            sock = self.api.exec_start(exec_id, socket=True)
        except docker.errors.NotFound:
            raise LabError(f"container {name} is gone; run 'dnslab up' to bring the lab back") from None
        except docker.errors.APIError as exc:
            raise LabError(f"cannot run a command in {name}: {_explain(exc)}") from None
        return DockerExecStream(sock)

    def exec_detached(self, name: str, argv: list[str]) -> None:
        try:
            exec_id = self.api.exec_create(name, argv)["Id"]
            self.api.exec_start(exec_id, detach=True)
        except docker.errors.APIError as exc:
            raise LabError(f"cannot run a command in {name}: {_explain(exc)}") from None

    def logs(self, name: str, stdout: bool = True, stderr: bool = True, since: float = 0,
             tail: int | None = None) -> str:
        try:
            data = self.api.logs(name, stdout=stdout, stderr=stderr, since=int(since) or None,
                                 tail=tail if tail is not None else "all")
        except docker.errors.APIError:
            return ""
        return data.decode("utf-8", "replace")

    def follow_logs(self, name: str, since: float):
        try:
            return self.api.logs(name, stream=True, follow=True, stdout=True, stderr=False, since=int(since))
        except docker.errors.APIError as exc:
            raise LabError(f"cannot follow the output of {name}: {_explain(exc)}") from None

    def put_files(self, name: str, files: Mapping[str, File]) -> None:
        archive = filepack.tar(files)
        try:
            self.api.put_archive(name, "/", archive)
        except docker.errors.NotFound:
            raise LabError(f"container {name} is gone; run 'dnslab up' to bring the lab back") from None
        except docker.errors.APIError as exc:
            raise LabError(f"cannot put files into {name}: {_explain(exc)}") from None

    def read_file(self, name: str, path: str) -> bytes | None:
        try:
            stream, _ = self.api.get_archive(name, path)
        except docker.errors.NotFound as exc:
            if "No such container" in str(exc):
                raise LabError(f"container {name} is gone; run 'dnslab up' to bring the lab back") from None
            return None
        except docker.errors.APIError as exc:
            raise LabError(f"cannot read {path} from {name}: {_explain(exc)}") from None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                return None
            return tar.extractfile(member).read()

    def run_helper(self, target: str, image: str, script: str, labels: Mapping[str, str],
                   env: Mapping[str, str] | None = None, timeout: float = 60) -> ExecResult:
        try:
            created = self.api.create_container(
                image, ["sh", "-c", script], environment=dict(env or {}), labels=dict(labels),
                host_config=self.api.create_host_config(network_mode=f"container:{target}", cap_drop=["ALL"],
                                                        cap_add=["NET_ADMIN"], log_config=LOG_CONFIG))
        except docker.errors.APIError as exc:
            raise LabError(f"cannot start a helper in {target}'s namespace: {_explain(exc)}") from None
        return self._run_once(created["Id"], f"{target}'s namespace", timeout)

    def _run_once(self, helper: str, where: str, timeout: float) -> ExecResult:
        try:
            self.api.start(helper)
            status = self.api.wait(helper, timeout=timeout)
            output = self.api.logs(helper).decode("utf-8", "replace")
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise LabError(f"the helper in {where} failed: {_explain(exc)}") from None
        finally:
            try:
                self.api.remove_container(helper, force=True)
            except docker.errors.APIError:
                pass
        return ExecResult(int(status.get("StatusCode", -1)), output)

    def run_host_helper(self, host: str, image: str, script: str, labels: Mapping[str, str],
                        env: Mapping[str, str] | None = None, timeout: float = 60) -> ExecResult:
        """run_helper in the engine's own network namespace (zone-level faults: the host's traffic)."""
        try:
            created = self.api.create_container(
                image, ["sh", "-c", script], environment=dict(env or {}), labels=dict(labels),
                host_config=self.api.create_host_config(network_mode="host", cap_drop=["ALL"],
                                                        cap_add=["NET_ADMIN"], log_config=LOG_CONFIG))
        except docker.errors.APIError as exc:
            raise LabError(f"cannot start a helper on host {host}: {_explain(exc)}") from None
        return self._run_once(created["Id"], f"host {host}", timeout)

    def start_host_helper(self, name: str, host: str, image: str, command: list[str], labels: Mapping[str, str],
                          env: Mapping[str, str] | None = None) -> None:
        try:
            self.api.create_container(
                image, command, name=name, environment=dict(env or {}), labels={**labels, STOP_FIRST: "1"},
                host_config=self.api.create_host_config(
                    network_mode="host", cap_drop=["ALL"], cap_add=["NET_ADMIN"],
                    log_config={"Type": "json-file", "Config": {"max-size": "1m"}}))
            self.api.start(name)
        except docker.errors.APIError as exc:
            raise LabError(f"cannot start helper {name} on host {host}: {_explain(exc)}") from None

    def start_helper(self, name: str, target: str, image: str, command: list[str], labels: Mapping[str, str],
                     env: Mapping[str, str] | None = None, net_admin: bool = True) -> None:
        try:
            self.api.create_container(
                image, command, name=name, environment=dict(env or {}), labels=dict(labels),
                host_config=self.api.create_host_config(
                    network_mode=f"container:{target}", cap_drop=["ALL"],
                    cap_add=["NET_ADMIN"] if net_admin else None,
                    log_config={"Type": "json-file", "Config": {"max-size": "1m"}}))
            self.api.start(name)
        except docker.errors.APIError as exc:
            raise LabError(f"cannot start helper {name} in {target}'s namespace: {_explain(exc)}") from None

    # -- images ----------------------------------------------------------------------------------------------

    def image_source(self) -> DockerRuntime:
        return self

    def spread_image(self, tag: str, progress=lambda line: None, also: Iterable[str] = ()) -> None:
        """One engine has what it has: nothing to copy."""

    def image_id(self, name: str) -> str | None:
        try:
            return self.api.inspect_image(name)["Id"]
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.NotFound:
            return None

    def tag_image(self, name: str, repository: str, tag: str) -> None:
        self.api.tag(name, repository, tag)

    def import_image(self, source, repository: str | None, tag: str | None, changes: list[str]) -> str:
        """A root filesystem (a tarball's path, or a binary stream read as it comes) as an image; its id."""
        try:
            if isinstance(source, str):
                said = self.api.import_image_from_file(source, repository=repository, tag=tag, changes=changes)
            else:
                said = self.api.import_image_from_stream(source, repository=repository, tag=tag, changes=changes)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise LabError(f"docker import of the lab image failed: {_explain(exc)}") from None
        lines = [line for line in str(said).splitlines() if line.strip()]
        try:
            return json.loads(lines[-1])["status"]
        except (IndexError, ValueError, KeyError):
            raise LabError(f"docker import of the lab image said {str(said)[-200:]!r}, not an image id") from None

    def remove_image(self, name: str) -> None:
        try:
            self.api.remove_image(name, force=True)
        except docker.errors.ImageNotFound:
            pass

    def build_image(self, path: str, tag: str, labels: Mapping[str, str]) -> Iterator[str]:
        try:
            for chunk in self.api.build(path=path, tag=tag, decode=True, rm=True, labels=dict(labels)):
                if "error" in chunk:
                    raise LabError(f"image build failed: {chunk['error'].strip()}")
                if chunk.get("stream", "").strip():
                    yield chunk["stream"].strip()
        except docker.errors.APIError as exc:
            raise LabError(f"image build failed: {_explain(exc)}") from None

    # -- labs ------------------------------------------------------------------------------------------------

    def labs(self) -> set[str]:
        found = {c.lab for c in self.containers(None)}
        found |= {n.labels.get(LAB) for n in self.networks(None)} | {v.labels.get(LAB) for v in self.volumes(None)}
        return {lab for lab in found if lab}

    def remove_lab(self, lab: str) -> dict[str, int]:
        gone = {"containers": 0, "networks": 0, "volumes": 0}
        found = self.containers(lab)
        # Helpers first, side by side: they live in their targets' namespaces and have no network endpoint of
        # their own to take off, so they need not wait for the lock around leaving networks.
        gone["containers"] += sum(parallel(self.remove_listed, [c for c in found if HELPER in c.labels]))
        for container in [c for c in found if HELPER not in c.labels]:
            gone["containers"] += self.remove(container.name)
        for net in self.networks(lab):
            gone["networks"] += self.remove_network(net.name)
        for vol in self.volumes(lab):
            gone["volumes"] += self.remove_volume(vol.name)
        return gone


def _listed(item: dict) -> Container:
    """A container from the list API (no inspect: one call for the whole lab)."""
    networks = ((item.get("NetworkSettings") or {}).get("Networks") or {})
    return Container(
        name=(item.get("Names") or ["/?"])[0].lstrip("/"), state=item.get("State", "unknown"),
        labels=item.get("Labels") or {}, networks={n: v.get("IPAddress", "") for n, v in networks.items()},
        image=item.get("Image", ""), id=item.get("Id", ""))


class DockerExecStream:
    """A streaming exec over the engine's hijacked connection: output as multiplexed frames, stdin writable.
    Closing our side of stdin (or this process dying) is end-of-file for the command."""

    def __init__(self, sock):
        self._sock = sock
        self._raw = getattr(sock, "_sock", sock)

    def chunks(self) -> Iterator[tuple[bytes | None, bytes | None]]:
        for stream, data in frames_iter(self._sock, tty=False):
            yield (data, None) if stream == 1 else (None, data)

    def send(self, data: bytes) -> None:
        self._raw.sendall(data)

    def close_stdin(self) -> None:
        try:
            self._raw.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        try:
            self._raw.close()
        except OSError:
            pass
