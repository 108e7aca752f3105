"""One lab across three Docker engines joined as a Swarm (scripts/swarm-sim on this machine) against the same
lab on one engine, in the same run: the default world spread over the engines, and a 300-node topology (the
size of containerlab's published 39-second deploy on 16 cores), up and down, with memory per container.

On one machine the three engines share its two cores, so these figures say what spreading costs (overlay
networks, three engines to talk to, the image on each), not what three machines would gain.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import docker
import yaml

from bench import scale
from bench.figures import PREFIX, console, figure, timed
from lab import image, lifecycle, runtime
from lab.parallel import parallel

REPO = Path(__file__).resolve().parents[1]
SWARM_SIM = REPO / "scripts" / "swarm-sim"
HOSTS = ["az-a", "az-b", "az-c"]
SPREAD = {"spread": {role: HOSTS for role in ("authoritative", "resolver", "client", "agent")}}


def spread(text: str) -> str:
    """A topology document spread round-robin over the three engines, role by role."""
    doc = yaml.safe_load(text)
    doc["placement"] = SPREAD
    return yaml.safe_dump(doc, sort_keys=False)


def sim_up(tag: str) -> tuple[str, Path]:
    done = subprocess.run([str(SWARM_SIM), "up", "3", "--tmpfs", "--image", tag, "--owner", str(os.getpid())],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"swarm-sim up failed: {done.stderr.strip()[-300:]}")
    hosts = Path(done.stdout.strip().splitlines()[-1])
    name = re.search(r"for instance ([a-z0-9]+)", hosts.read_text()).group(1)
    return name, hosts


def memory(sockets: list[str], lab: str) -> dict[str, list[float]]:
    """Resident memory (MiB, usage minus page cache) of every container of the lab, by software."""
    def stats(pair):
        url, container = pair
        found = docker.DockerClient(base_url=url).containers.get(container).stats(stream=False)
        mem = found.get("memory_stats", {})
        return mem.get("usage", 0) - mem.get("stats", {}).get("cache", 0)

    pairs, kinds = [], []
    for url in sockets:
        for c in docker.DockerClient(base_url=url).containers.list(filters={"label": f"dnslab.lab={lab}"}):
            pairs.append((url, c.name))
            kinds.append(c.labels.get("dnslab.software", "?"))
    grouped: dict[str, list[float]] = {}
    for kind, used in zip(kinds, parallel(stats, pairs)):
        grouped.setdefault(kind, []).append(used / 2**20)
    return grouped


def up_down(rt, path: Path, lab: str) -> tuple[float, float]:
    up = timed(lambda: lifecycle.up(path, lab, rt=rt, ready_timeout=600))
    down = timed(lambda: rt.remove_lab(lab))
    return up, down


def bench(rt, runs: int) -> list[dict]:
    tag = image.ensure(rt)
    console.print("[multihost] starting three engines (scripts/swarm-sim)")
    name, hosts = sim_up(tag)
    results = []
    try:
        swarm = runtime.connect(hosts)
        sockets = [f"unix:///run/dnslab-sim/{name}/{host}.sock" for host in HOSTS]
        with tempfile.TemporaryDirectory(prefix="dnslab-multihost-") as tmp:
            default = Path(tmp) / "default-az.yml"
            default.write_text(spread(f"extends: {REPO / 'compose' / 'default.yml'}\nname: defaultaz\n"))
            big = Path(tmp) / "scale-300.yml"
            big.write_text(spread(scale.topology_text(resolvers=145, clients=150)))
            one_up, one_down, three_up, three_down = [], [], [], []
            for i in range(runs):
                console.print(f"[multihost] default lab run {i + 1}/{runs}: one engine, then three")
                u, d = up_down(rt, default, f"{PREFIX}-one")
                one_up.append(u), one_down.append(d)
                u, d = up_down(swarm, default, f"{PREFIX}-three")
                three_up.append(u), three_down.append(d)
                console.print(f"[multihost] one engine up {one_up[-1]:.1f} s down {one_down[-1]:.1f} s; three "
                              f"engines up {three_up[-1]:.1f} s down {three_down[-1]:.1f} s")
            results += [figure("default lab over 3 engines: up", "s", three_up, one_up, "the same on one engine"),
                        figure("default lab over 3 engines: down", "s", three_down, one_down, "the same on one engine")]
            console.print("[multihost] 300 nodes on one engine")
            big_one = timed(lambda: lifecycle.up(big, f"{PREFIX}-big1", rt=rt, ready_timeout=900))
            local = memory([os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")], f"{PREFIX}-big1")
            big_one_down = timed(lambda: rt.remove_lab(f"{PREFIX}-big1"))
            console.print("[multihost] 300 nodes over three engines")
            big_three = timed(lambda: lifecycle.up(big, f"{PREFIX}-big3", rt=swarm, ready_timeout=900))
            spread_memory = memory(sockets, f"{PREFIX}-big3")
            big_three_down = timed(lambda: swarm.remove_lab(f"{PREFIX}-big3"))
            results += [figure("300 nodes over 3 engines: up", "s", [big_three], [big_one], "the same on one engine"),
                        figure("300 nodes over 3 engines: down", "s", [big_three_down], [big_one_down],
                               "the same on one engine")]
            for kind in sorted(spread_memory):
                results.append(figure(f"300 nodes: memory per {kind} container (3 engines)", "MiB",
                                      spread_memory[kind], local.get(kind), "on one engine"))
    finally:
        for lab in (f"{PREFIX}-one", f"{PREFIX}-three", f"{PREFIX}-big1", f"{PREFIX}-big3"):
            try:
                lifecycle.down(lab, rt=rt)
            except Exception:  # noqa: BLE001 - best effort; swarm-sim down removes the engines anyway
                pass
        subprocess.run([str(SWARM_SIM), "down", "--name", name], capture_output=True, timeout=600)
    return results
