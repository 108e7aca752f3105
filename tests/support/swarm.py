"""A Swarm of Docker engines on this machine for a test: `scripts/swarm-sim up` before, `down` always after.

    from tests.support.swarm import swarm_sim      # in a test module (module scope), or swarm_sim_function

    def test_something(swarm_sim):
        swarm_sim.hosts_file                      # the hosts file for dnslab --hosts
        swarm_sim.docker("az-b", "ps")            # the docker CLI against one engine

The simulator is a development tool in scripts/ (it is not installed with the package), so its fixture lives
with the tests and not in lab.pytest_plugin: a user's suite points dnslab at real engines with a hosts file.
Needs root and dockerd; without them a test is skipped, or fails under CI=true (like a missing Docker).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SWARM_SIM = REPO / "scripts" / "swarm-sim"
RUN_ROOT = Path("/run/dnslab-sim")
DATA_ROOT = Path("/var/lib/dnslab-sim")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def sim_or_skip() -> None:
    """What the simulator needs: root and a dockerd binary (it installs the smaller tools itself)."""
    missing = "root" if os.geteuid() != 0 else "dockerd" if shutil.which("dockerd") is None else None
    if missing:
        if in_ci():
            pytest.fail(f"CI=true but the Swarm simulator cannot run here: no {missing}", pytrace=False)
        pytest.skip(f"the Swarm simulator needs {missing}")


def swarm_sim_cli(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """scripts/swarm-sim with its progress in the test's log; a failure names the command and its error line."""
    done = subprocess.run([str(SWARM_SIM), *args], capture_output=True, text=True, timeout=timeout)
    print(done.stderr, end="", flush=True)
    if check and done.returncode != 0:
        raise AssertionError(f"swarm-sim {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return done


@dataclass
class SwarmSim:
    """One running simulator instance, read from its state file."""

    name: str
    hosts_file: Path
    sockets: dict[str, str]  # host name -> unix:// URL, manager first
    addresses: dict[str, str]  # host name -> its address on the instance's bridge
    subnet: str
    timings: dict = field(default_factory=dict)

    @classmethod
    def from_state(cls, name: str) -> "SwarmSim":
        state = json.loads((RUN_ROOT / name / "state.json").read_text())
        return cls(name=name, hosts_file=Path(state["hosts_file"]), subnet=state["subnet"],
                   sockets={e["host"]: e["socket"] for e in state["engines"]},
                   addresses={e["host"]: e["address"] for e in state["engines"]}, timings=state["timings"])

    @property
    def manager(self) -> str:
        return next(iter(self.sockets))

    def docker(self, host: str, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(["docker", "-H", self.sockets[host], *args], capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"docker on {host} {' '.join(args)} exited {done.returncode}: "
                                 f"{done.stderr.strip()[-400:]}")
        return done

    def down(self) -> None:
        swarm_sim_cli("down", "--name", self.name)


def up(count: int = 3, *, image: str | None = None, name: str | None = None, extra: tuple[str, ...] = ()) -> SwarmSim:
    """`swarm-sim up`, owned by this test process (so a parallel session's `down --all` spares it), data in a
    tmpfs (loading and removing images is then 2-5x faster on a busy disk)."""
    args = ["up", str(count), "--owner", str(os.getpid()), "--tmpfs", *extra]
    if image:
        args += ["--image", image]
    if name:
        args += ["--name", name]
    done = swarm_sim_cli(*args)
    hosts_file = Path(done.stdout.strip().splitlines()[-1])
    match = re.search(r"for instance ([a-z0-9]+)", hosts_file.read_text())
    assert match, f"no instance named in {hosts_file}"
    return SwarmSim.from_state(match.group(1))


def leftovers(name: str) -> list[str]:
    """What of an instance is on the machine, looked at independently of swarm-sim's own bookkeeping."""
    def out(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True).stdout

    left = [f"netns {line.split()[0]}" for line in out("ip", "netns", "list").splitlines()
            if line.startswith(f"dnslab-sim-{name}-")]
    left += [f"link {link}" for link in os.listdir("/sys/class/net") if link == f"dsim-{name}"
             or link.startswith(f"dsim-{name}-")]
    left += [f"iptables {line}" for chain in ("DOCKER-USER", "FORWARD")
             for line in out("iptables", "-w", "5", "-S", chain).splitlines() if f"dnslab-sim:{name}\"" in line
             or line.endswith(f"dnslab-sim:{name} -j ACCEPT")]
    marks = (f"{RUN_ROOT}/{name}/", f"{DATA_ROOT}/{name}/")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z" and any(m in cmdline for m in marks) and int(pid) != os.getpid():
            left.append(f"process {pid}: {cmdline[:100]}")
    left += [f"mount {line.split()[4]}" for line in Path("/proc/self/mountinfo").read_text().splitlines()
             if (line.split()[4] + "/").startswith(marks)]
    left += [f"path {p}" for p in (RUN_ROOT / name, DATA_ROOT / name) if p.exists()]
    return left


def _sim(request):
    sim_or_skip()
    lab_image = request.getfixturevalue("lab_image")
    sim = up(3, image=lab_image)
    try:
        yield sim
    finally:
        swarm_sim_cli("down", "--name", sim.name, check=False)


@pytest.fixture(scope="module")
def swarm_sim(request):
    """Three engines (az-a the manager, az-b, az-c) in one Swarm, the lab image on each, for a test module."""
    yield from _sim(request)


@pytest.fixture
def swarm_sim_function(request):
    """The same for one test function."""
    yield from _sim(request)
