"""The hosts file: the Docker engines one lab may spread over (`--hosts FILE`, or DNSLAB_HOSTS).

    hosts:
      az-a: {docker: "unix:///run/dnslab-sim/s1/az-a.sock"}
      az-b: {docker: "tcp://10.1.0.2:2376", tls: {ca: ca.pem, cert: cert.pem, key: key.pem}}
      az-c: {docker: "ssh://lab@10.1.0.3"}

Loading is pure (no Docker here): every problem is reported at once with file:line:col, as for topologies.
Whether the engines answer and form one Swarm is the runtime's question, not this module's.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from lab.errors import HostsError
from lab.validation import Problems, check_keys, shown, get
from lab.names import NODE_NAME
from lab.yamlsrc import Map, YamlSyntaxError, load as load_yaml

ENVIRONMENT = "DNSLAB_HOSTS"
TOP_FIELDS = ("hosts",)
HOST_FIELDS = ("docker", "tls")
TLS_FIELDS = ("ca", "cert", "key")
SCHEMES = ("unix", "tcp", "ssh")
EXAMPLE = '{docker: "unix:///var/run/docker.sock"}'


@dataclass(frozen=True)
class Tls:
    """Client certificates for a tcp:// engine (absolute paths)."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class Host:
    """One Docker engine a lab may place nodes on."""

    name: str
    docker: str  # the engine's address, as the docker CLI's -H takes it
    tls: Tls | None = None


_chosen: Path | None = None  # what --hosts said, for this process


def choose(path: str | os.PathLike | None) -> None:
    """Remember the command line's --hosts for every runtime this process connects."""
    global _chosen
    _chosen = Path(path) if path else None


def hosts_file(cli_value: str | os.PathLike | None = None) -> Path | None:
    """The hosts file to use: the one given, else the command line's, else $DNSLAB_HOSTS, else None (the
    local engine only)."""
    if cli_value is not None and str(cli_value) != "":
        return Path(cli_value)
    if _chosen is not None:
        return _chosen
    from_env = os.environ.get(ENVIRONMENT, "").strip()
    return Path(from_env) if from_env else None


def load(path: str | os.PathLike) -> dict[str, Host]:
    """Read a hosts file: the hosts by name, in file order; raise HostsError listing every problem found."""
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        raise HostsError([exc.problem]) from None
    return from_document(doc, str(path))


def from_document(doc: object, file: str) -> dict[str, Host]:
    problems = Problems(file)
    if not isinstance(doc, Map):
        problems.at(doc, f"a hosts file must be a mapping with a hosts: section, like hosts: {{az-a: {EXAMPLE}}}")
        raise HostsError(_placed(problems))
    check_keys(problems, doc, TOP_FIELDS, "hosts file", required=("hosts",))
    raw = get(problems, doc, "hosts", dict, "hosts file", Map())
    base = Path(file).resolve().parent
    hosts: dict[str, Host] = {}
    engines: dict[str, str] = {}
    for name, spec in raw.items():
        host = _host(problems, raw, name, spec, base)
        if host is None:
            continue
        if host.docker in engines:
            problems.at(raw[name], f"host {name!r} names the same engine as host {engines[host.docker]!r} "
                                   f"({host.docker}); each host must be a different engine", "docker", value=True)
            continue
        engines[host.docker] = name
        hosts[name] = host
    if not raw and isinstance(doc.get("hosts"), (Map, type(None))) and "hosts" in doc:
        problems.at(raw, f"the hosts file names no host; add one like az-a: {EXAMPLE}")
    if problems:
        raise HostsError(_placed(problems))
    return hosts


def _placed(problems: Problems) -> Problems:
    """Problems without a place (the document itself is no mapping) point at the file's first line."""
    for i, problem in enumerate(problems):
        if not problem.line:
            problems[i] = type(problem)(problem.file, 1, problem.col, problem.message)
    return problems


def _host(problems: Problems, raw: Map, name: object, spec: object, base: Path) -> Host | None:
    if not isinstance(name, str) or not NODE_NAME.match(name):
        problems.at(raw, f"host name {name!r} must be lower-case letters, digits and '-' (like a node name)", name)
        return None
    if not isinstance(spec, Map):
        problems.at(raw, f"host {name!r} must be a mapping like {EXAMPLE}, not {shown(spec)}", name, value=True)
        return None
    what = f"host {name!r}"
    check_keys(problems, spec, HOST_FIELDS, what, required=("docker",))
    url = get(problems, spec, "docker", str, what)
    scheme = _check_url(problems, spec, what, url) if url is not None else None
    tls = None
    if "tls" in spec:
        if scheme is not None and scheme != "tcp":
            problems.at(spec, f"{what}: tls applies to tcp:// engines only, not to {scheme}://", "tls")
        else:
            tls = _tls(problems, spec, what, base)
    if url is None or scheme is None:
        return None
    return Host(name=name, docker=url, tls=tls)


def _check_url(problems: Problems, spec: Map, what: str, url: str) -> str | None:
    """The URL's scheme when it is an engine address the docker CLI takes; else a problem and None."""
    def bad(message: str) -> None:
        problems.at(spec, f"{what}: docker {url!r}: {message}", "docker", value=True)

    if url != url.strip() or any(c.isspace() for c in url):
        bad("an engine address has no spaces")
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        bad(f"{exc}; write it like tcp://10.1.0.2:2376")
        return None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or "://" not in url:
        bad("use unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://USER@HOST")
        return None
    if parts.query or parts.fragment:
        bad("an engine address takes no ?query or #fragment")
        return None
    if scheme == "unix":
        if parts.netloc or not parts.path.startswith("/"):
            bad("a unix:// address needs an absolute socket path, like unix:///var/run/docker.sock")
            return None
        return scheme
    kind = {"tcp": "a tcp://", "ssh": "an ssh://"}[scheme]
    if not parts.hostname:
        bad(f"{kind} address needs a host, like {'tcp://10.1.0.2:2376' if scheme == 'tcp' else 'ssh://lab@10.1.0.3'}")
        return None
    if parts.path not in ("", "/"):
        bad(f"{kind} address takes no path")
        return None
    if port == 0:
        bad("port 0 is no port")
        return None
    return scheme


def _tls(problems: Problems, spec: Map, what: str, base: Path) -> Tls | None:
    raw = get(problems, spec, "tls", dict, what)
    if raw is None:
        return None
    check_keys(problems, raw, TLS_FIELDS, f"{what} tls", required=TLS_FIELDS)
    paths: dict[str, Path] = {}
    for key in TLS_FIELDS:
        text = get(problems, raw, key, str, f"{what} tls")
        if text is None:
            continue
        try:
            path = (base / Path(text).expanduser()).resolve() if text.strip() else None
            found = path is not None and path.is_file()
        except (OSError, ValueError, RuntimeError):  # a NUL byte, an unknown ~user, a symlink loop
            found = False
        if not found:
            problems.at(raw, f"{what} tls {key}: no file {text!r} (relative paths are relative to the hosts file, "
                             f"{base})", key, value=True)
            continue
        paths[key] = path
    return Tls(**paths) if len(paths) == len(TLS_FIELDS) else None
