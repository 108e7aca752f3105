"""Apply latency of the zone faults (host-partition, host-freeze, host-loss), measured as bench/faults.py measures
every other kind: from the step's start (the `inject` call) to the send of the first query, by the lab's
prober at 100 q/s, that shows the effect, next to the prober's send interval in the same sample.

The default world spread over scripts/swarm-sim's three engines (bench/multihost.py), the prober in a client
on one host asking a resolver on another, the faulted one, for a cached name: every query crosses the
overlay, so each kind shows as a timeout (partitioned: the host drops the VXLAN packets; frozen or lost: the
resolver does not answer). Opt-in (`--only faults-hosts`): the simulator is three dockerds on this machine's
two cores, started and brought down by the part itself.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from pathlib import Path

from bench import faults, multihost
from bench.figures import PREFIX, console
from lab import image, lifecycle, nshelper, runtime
from lab.faults import FaultContext, clear_all, warm

SAMPLES_PER_RUN = 5  # per kind and run: the p99 needs more samples than --runs 3 gives
CLIENT = "client1"
RESOLVER = "knot-resolver"  # on another host than client1 once spread (checked below)
KINDS = [("host-partition", "timeout: the host drops its VXLAN traffic"),
         ("host-freeze", "timeout: every node of the host paused"),
         ("host-loss", "timeout: every node of the host killed")]


def cases(description: dict) -> list[faults.Case]:
    host = description["nodes"][RESOLVER]["host"]
    if description["nodes"][CLIENT]["host"] == host:
        raise RuntimeError(f"{CLIENT} and {RESOLVER} are both on {host}: the probes would not cross hosts")
    return [faults.Case(kind, host, RESOLVER, faults.no_answer, f"{seen}; {RESOLVER} there", client=CLIENT)
            for kind, seen in KINDS]


def bench(rt, runs: int) -> list[dict]:
    tag = image.ensure(rt)
    console.print("[faults-hosts] starting three engines (scripts/swarm-sim)")
    name, hosts = multihost.sim_up(tag)
    lab = f"{PREFIX}-hosts"
    try:
        swarm = runtime.connect(hosts)
        with tempfile.TemporaryDirectory(prefix="dnslab-hostfaults-") as tmp:
            topology = Path(tmp) / "default-az.yml"
            topology.write_text(multihost.spread(f"extends: {faults.DEFAULT_TOPOLOGY}\nname: defaultaz\n"))
            try:
                description = lifecycle.up(topology, lab, rt=swarm, ready_timeout=600)
                ctx = FaultContext(swarm, description, random.Random(1))
                warm(ctx)()  # what a run does at its start: the nodes' and the hosts' helpers
                chosen = cases(description)
                samples = faults.measure(ctx, chosen, runs, SAMPLES_PER_RUN, part="faults-hosts")
                clear_all(ctx)
            finally:
                nshelper.close_all()
                lifecycle.down(lab, rt=swarm)
        return faults.figures(chosen, samples)
    finally:
        subprocess.run([str(multihost.SWARM_SIM), "down", "--name", name], capture_output=True, timeout=600)
