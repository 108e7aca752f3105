"""The hosts file: good files load into plain records; every mistake is reported at once with file:line:col."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from lab import hosts
from lab.errors import HostsError, InputError


def write(tmp_path: Path, text: str, name: str = "hosts.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(HostsError) as info:
        hosts.load(path)
    return [str(p) for p in info.value.problems]


def only_problem(tmp_path: Path, text: str) -> str:
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, problems
    return problems[0]


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    (tmp_path / "tls").mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / "tls" / name).write_text("-----BEGIN NOTHING-----\n")
    return tmp_path / "tls"


def test_the_three_kinds_of_engine_load_in_file_order(tmp_path, certs):
    path = write(tmp_path, """\
        hosts:
          az-b: {docker: "tcp://10.1.0.2:2376", tls: {ca: tls/ca.pem, cert: tls/cert.pem, key: tls/key.pem}}
          az-a: {docker: "unix:///run/dnslab-sim/s1/az-a.sock"}
          az-c: {docker: "ssh://lab@10.1.0.3"}
        """)
    loaded = hosts.load(path)
    assert list(loaded) == ["az-b", "az-a", "az-c"]
    assert loaded["az-a"] == hosts.Host("az-a", "unix:///run/dnslab-sim/s1/az-a.sock", None)
    assert loaded["az-c"].docker == "ssh://lab@10.1.0.3" and loaded["az-c"].tls is None
    assert loaded["az-b"].tls == hosts.Tls(ca=certs / "ca.pem", cert=certs / "cert.pem", key=certs / "key.pem")
    assert all(p.is_absolute() for p in (loaded["az-b"].tls.ca, loaded["az-b"].tls.cert, loaded["az-b"].tls.key))


def test_tls_paths_are_relative_to_the_hosts_file_not_the_working_directory(tmp_path, certs, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(tmp_path, 'hosts: {h1: {docker: "tcp://h1:2376", tls: {ca: tls/ca.pem, cert: tls/cert.pem, '
                           'key: tls/key.pem}}}\n')
    assert hosts.load(path)["h1"].tls.ca == certs / "ca.pem"


def test_the_simulator_hosts_file_loads(tmp_path):
    """The file swarm-sim writes (header comment included) is a valid hosts file."""
    path = write(tmp_path, """\
        # written by swarm-sim up for instance s1 (subnet 172.31.240.0/24, manager az-a); remove with: ...
        hosts:
          az-a: {docker: "unix:///run/dnslab-sim/s1/az-a.sock"}
          az-b: {docker: "unix:///run/dnslab-sim/s1/az-b.sock"}
          az-c: {docker: "unix:///run/dnslab-sim/s1/az-c.sock"}
        """)
    assert [h.docker.rsplit("/", 1)[1] for h in hosts.load(path).values()] == ["az-a.sock", "az-b.sock", "az-c.sock"]


def test_every_problem_is_reported_at_once_with_its_place(tmp_path):
    problems = problems_of(tmp_path, """\
        hosts:
          az-a: {dockr: "unix:///run/a.sock"}
          AZ_B: {docker: "unix:///run/b.sock"}
          az-c: {docker: "http://10.1.0.3:2375"}
          az-d: {docker: "unix:///run/d.sock", tls: {ca: ca.pem}}
        hots: {}
        """)
    text = "\n".join(problems)
    assert len(problems) == 6, text
    assert "hosts.yml:2:10: unknown host 'az-a' field 'dockr' (did you mean \"docker\"?); known fields: docker, tls" \
        in text
    assert "hosts.yml:2:9: host 'az-a' is missing the required field 'docker'" in text
    assert "hosts.yml:3:3: host name 'AZ_B' must be lower-case letters, digits and '-'" in text
    assert "hosts.yml:4:18: host 'az-c': docker 'http://10.1.0.3:2375': use unix:///path/to/docker.sock" in text
    assert "hosts.yml:5:40: host 'az-d': tls applies to tcp:// engines only, not to unix://" in text
    assert "hosts.yml:6:1: unknown hosts file field 'hots' (did you mean \"hosts\"?)" in text


@pytest.mark.parametrize("url, message", [
    ("unix://run/docker.sock", "needs an absolute socket path"),
    ("unix:relative.sock", "use unix:///path/to/docker.sock"),
    ("tcp://:2376", "needs a host, like tcp://10.1.0.2:2376"),
    ("tcp://10.1.0.2:99999", "Port out of range"),
    ("tcp://10.1.0.2:port", "Port could not be cast"),
    ("tcp://10.1.0.2:0", "port 0 is no port"),
    ("tcp://10.1.0.2:2376/v1.41", "takes no path"),
    ("tcp://10.1.0.2:2376?x=1", "takes no ?query"),
    ("ssh://", "an ssh:// address needs a host, like ssh://lab@10.1.0.3"),
    ("10.1.0.2:2376", "use unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://USER@HOST"),
    ("tcp://10.1.0.2 :2376", "has no spaces"),
    ("tcp://[fd00::1:2376", "Invalid IPv6 URL"),
])
def test_bad_engine_addresses(tmp_path, url, message):
    problem = only_problem(tmp_path, f'hosts:\n  h1: {{docker: "{url}"}}\n')
    assert problem.startswith(f"{tmp_path / 'hosts.yml'}:2:16: host 'h1': docker {url!r}: "), problem
    assert message in problem, problem


@pytest.mark.parametrize("url", ["unix:///var/run/docker.sock", "tcp://10.1.0.2", "tcp://[fd00::2]:2376",
                                 "tcp://engine.example.test:2376", "ssh://lab@10.1.0.3:2222", "ssh://10.1.0.3",
                                 "TCP://10.1.0.2:2375"])
def test_good_engine_addresses(tmp_path, url):
    assert hosts.load(write(tmp_path, f'hosts:\n  h1: {{docker: "{url}"}}\n'))["h1"].docker == url


def test_tls_needs_all_three_existing_files(tmp_path, certs):
    problems = problems_of(tmp_path, """\
        hosts:
          h1: {docker: "tcp://h1:2376", tls: {ca: tls/ca.pem, cert: tls/missing.pem, kee: tls/key.pem}}
        """)
    text = "\n".join(problems)
    assert len(problems) == 3, text
    assert ":2:78: unknown host 'h1' tls field 'kee' (did you mean \"key\"?)" in text
    assert ":2:38: host 'h1' tls is missing the required field 'key'" in text
    assert f":2:61: host 'h1' tls cert: no file 'tls/missing.pem' (relative paths are relative to the hosts file, " \
           f"{tmp_path})" in text


def test_tls_must_be_a_mapping_of_paths(tmp_path):
    assert "host 'h1' 'tls' must be a mapping, not a string 'yes'" in only_problem(
        tmp_path, 'hosts:\n  h1: {docker: "tcp://h1:2376", tls: "yes"}\n')
    problems = problems_of(tmp_path, 'hosts:\n  h1: {docker: "tcp://h1:2376", tls: {ca: 1, cert: "", key: null}}\n')
    assert any("host 'h1' tls 'ca' must be a string, not an integer 1" in p for p in problems), problems
    assert any("host 'h1' tls cert: no file ''" in p for p in problems), problems
    assert any("host 'h1' tls 'key' must be a string, not empty" in p for p in problems), problems


def test_the_same_engine_under_two_names_is_refused(tmp_path):
    problem = only_problem(tmp_path, 'hosts:\n  a: {docker: "unix:///run/x.sock"}\n'
                                     '  b: {docker: "unix:///run/x.sock"}\n')
    assert "hosts.yml:3:15: host 'b' names the same engine as host 'a' (unix:///run/x.sock)" in problem


@pytest.mark.parametrize("text, message", [
    ("", "a hosts file must be a mapping with a hosts: section"),
    ("- az-a\n", "a hosts file must be a mapping with a hosts: section"),
    ("hosts:\n", "the hosts file names no host"),
    ("hosts: {}\n", "the hosts file names no host"),
    ("hosts: [az-a]\n", "hosts file 'hosts' must be a mapping"),
    ("other: 1\n", "hosts file is missing the required field 'hosts'"),
    ("hosts:\n  az-a:\n", "host 'az-a' must be a mapping like {docker: "),
    ("hosts:\n  az-a: unix:///run/a.sock\n", "host 'az-a' must be a mapping like"),
    ("hosts:\n  az-a: {docker: 2376}\n", "host 'az-a' 'docker' must be a string, not an integer 2376"),
    ("hosts:\n  7: {docker: unix:///a}\n", "host name 7 must be lower-case letters"),
    ("hosts:\n  -az: {docker: unix:///a}\n", "host name '-az' must be lower-case letters"),
    ("hosts: {a: {docker: unix:///a}\n", "invalid YAML"),
    ("hosts:\n  a: {docker: unix:///a}\n  a: {docker: unix:///b}\n", "invalid YAML: duplicate key 'a'"),
])
def test_malformed_files_name_a_line(tmp_path, text, message):
    problems = problems_of(tmp_path, text)
    assert any(message in p for p in problems), problems
    for problem in problems:
        assert problem.startswith(f"{tmp_path / 'hosts.yml'}:"), problem
        assert problem.split(":")[1].isdigit() and int(problem.split(":")[1]) >= 1, problem


def test_an_unreadable_file_is_an_input_error(tmp_path):
    with pytest.raises(HostsError) as info:
        hosts.load(tmp_path / "absent.yml")
    assert isinstance(info.value, InputError) and info.value.exit_code == 2
    assert "absent.yml: cannot read file" in str(info.value)


def test_hosts_file_comes_from_the_command_line_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(hosts.ENVIRONMENT, raising=False)
    assert hosts.hosts_file(None) is None
    assert hosts.hosts_file("") is None
    assert hosts.hosts_file("mine.yml") == Path("mine.yml")
    monkeypatch.setenv(hosts.ENVIRONMENT, str(tmp_path / "env.yml"))
    assert hosts.hosts_file(None) == tmp_path / "env.yml"
    assert hosts.hosts_file(tmp_path / "cli.yml") == tmp_path / "cli.yml"
    monkeypatch.setenv(hosts.ENVIRONMENT, "  ")
    assert hosts.hosts_file(None) is None


def test_the_loader_does_not_import_docker():
    """The loader is pure: validating a hosts file needs no Docker SDK (and no engine)."""
    import subprocess
    code = "import sys, lab.hosts; sys.exit(1 if 'docker' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_dual_stack_lab_is_refused_across_engines_before_anything_is_made():
    """One engine only (docs/scaling.md): `up` says so at once, and the Swarm runtime refuses an IPv6 subnet."""
    from types import SimpleNamespace

    from lab import lifecycle
    from lab.errors import LabError
    from lab.runtime.swarm import SwarmRuntime

    repo = Path(__file__).resolve().parents[2]
    engines = SimpleNamespace(hosts_file=Path("hosts.yml"))  # nothing else may be asked of it
    with pytest.raises(InputError, match="dual-stack topology .* runs on one engine only"):
        lifecycle.up(repo / "compose" / "dual-stack.yml", "t", rt=engines)
    with pytest.raises(LabError, match="dual-stack lab .* runs on one engine only"):
        SwarmRuntime({}, "manager", "cluster", None).create_network("n", "10.53.0.0/24", {}, None, "fd00:53::/64")
