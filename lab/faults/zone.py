"""Zone-level faults: everything one host (an availability zone's engine) of a lab across engines runs, at
once. The target is a host of the hosts file (`dnslab fault add host-freeze az-a`), so these faults need a lab
started with --hosts FILE; on one engine, or naming a host the lab has no node on, they are refused (exit 2).

- host-partition: the host's overlay traffic (VXLAN, UDP 4789) is dropped in the engine's own network
  namespace by the lab's helper kept there (network mode host on that engine, NET_ADMIN only, never
  privileged; started with the nodes' helpers at a run's start, or by the first fault, and removed by
  `down`), one request over its kept loop as for a node's helper (lab.nshelper): its nodes still reach
  each other, nothing on other hosts reaches them. The Swarm's control traffic (2377, 7946) keeps flowing,
  so the Swarm does not declare the host down. It cuts every overlay through that host, other labs' on a
  shared Swarm too. Undo deletes the table; a sweep deletes what a killed run left, and so does the helper
  when `down` stops it: no partition outlives its lab.
- host-freeze: every node on the host paused (cgroup freezer); undo unpauses them.
- host-loss: every node on the host killed (SIGKILL); undo starts them and waits until they answer. An
  engine takes kills one at a time (rt.leaving), so killed in turn the last node of a host went on answering
  for every kill before its own (120-250 ms for two nodes on the simulator): the host is cut off first, as
  host-partition does (one request), and the cut goes once every node is dead, so a host goes down at once.
  (Freezing the nodes first instead made the engine fail to attach a killed node to its overlay again at
  the undo, now and then: 2 of 12 on the simulator, none of 12 without the freeze.)
"""

from __future__ import annotations

from collections.abc import Iterable

from lab import nshelper, runtime
from lab.errors import LabError
from lab.faults import nftrules, process
from lab.faults.base import FaultContext, FaultKind
from lab.names import NODE_NAME
from lab.parallel import parallel

GROUP = "zone"
VXLAN_PORT = 4789


def on_host(description: dict, host: str) -> list[str]:
    """The lab's nodes placed on `host`, in topology order."""
    return [name for name, node in description["nodes"].items() if node.get("host") == host]


def problems(target: str, description: dict | None) -> list[str]:
    """What is wrong with a zone fault's target: a host of the lab's hosts file with nodes on it."""
    if not isinstance(target, str) or not NODE_NAME.match(target):
        return [f"target {target!r} must be a host of the lab's hosts file (a zone fault acts on every node "
                f"of one host)"]
    if description is None or not description.get("image"):
        return []  # a playbook checked before any lab exists: `dnslab run` checks its hosts (run_problems)
    hosts = sorted({n.get("host") for n in description["nodes"].values() if n.get("host")})
    if not description.get("hosts") or not hosts:
        return [f"lab {description['lab']} runs on one engine: a zone fault acts on one host of a lab across "
                f"engines; start the lab with --hosts FILE (docs/scaling.md)"]
    if target not in hosts:
        return [f"no host {target!r} in lab {description['lab']}; its hosts: {', '.join(hosts)}"]
    return []


def run_problems(steps: Iterable, kinds: dict[str, FaultKind], hosts: list[str] | None) -> list[tuple[int, str]]:
    """(line, message) for every zone fault among a playbook's steps that cannot run: no hosts file given
    (`hosts` None), or a host it does not name. Checked before the lab starts."""
    found = []
    for step in steps:
        kind = kinds.get(step.spec.get("kind", "")) if step.kind == "fault" else None
        if kind is None or kind.group != GROUP:
            continue
        target = step.spec.get("target")
        if hosts is None:
            found.append((step.line, f"fault {kind.name} acts on one host of a lab across engines: run with "
                                     f"--hosts FILE (or DNSLAB_HOSTS; docs/scaling.md)"))
        elif target not in hosts:
            found.append((step.line, f"fault {kind.name}: host {target!r} is not in the hosts file; "
                                     f"hosts: {', '.join(hosts)}"))
    return found


def table(lab: str, fault_id: str) -> str:
    return nftrules.table_name(f"zone-{lab}-{fault_id}")


TABLE_KINDS = ("host-partition", "host-loss")  # the kinds that cut a host off (host-loss while it kills)


def _sweep_script(lab: str) -> str:
    """Delete the lab's tables on a host, print them. Exactly the lab's: its prefix, a kind and a number
    (lab `a`'s prefix alone would match lab `a-b`'s tables too)."""
    prefixes = [table(lab, f"{kind}-") for kind in TABLE_KINDS]
    return ("nft list tables | while read -r _ family name; do for prefix in " + " ".join(prefixes) + "; do "
            "case \"$name\" in \"$prefix\"*) case \"${name#\"$prefix\"}\" in ''|*[!0-9]*) ;; *) "
            "nft delete table \"$family\" \"$name\" && echo \"$family $name\";; esac;; esac; done; done")


def helper_name(lab: str, host: str) -> str:
    """The host's kept helper: a `.` no node name has, so it never meets a node's container or helper."""
    return f"{runtime.container_name(lab, 'host')}.{host}"


# The host helper's entry point: idle until stopped; stopped (`dnslab down`: it is labelled STOP_FIRST), it
# deletes the lab's tables on its host, so no partition outlives the lab, not even one a killed run left.
HELPER_SCRIPT = """trap 'sh -c "$DNSLAB_ON_STOP"; exit 0' TERM; sleep infinity & wait $!"""


def _start_helper(rt, description: dict, host: str) -> None:
    lab = description["lab"]
    labels = {runtime.LAB: lab, runtime.HELPER: nshelper.HOST_KIND, runtime.TARGET: host,
              nshelper.FAULT: nshelper.KEPT}
    name = helper_name(lab, host)
    nshelper.forget(name)
    rt.remove(name)  # a dead leftover
    rt.start_host_helper(name, host, description["image"], ["sh", "-c", HELPER_SCRIPT], labels,
                         {"DNSLAB_ON_STOP": _sweep_script(lab)})


def _request(rt, description: dict, host: str, steps: list[dict]) -> list[str]:
    if host not in rt.hosts:  # never the local engine's own namespace for a host it is not
        raise LabError(f"host {host} is not an engine of this runtime ({', '.join(rt.hosts)}): give the lab's "
                       f"hosts file with --hosts")
    return nshelper.kept_request(rt, helper_name(description["lab"], host), f"host {host}'s namespace",
                                 lambda: _start_helper(rt, description, host), steps)


def lab_hosts(description: dict) -> list[str]:
    """The hosts the lab has nodes on; none on one engine."""
    if not description.get("hosts"):
        return []
    return sorted({n.get("host") for n in description["nodes"].values() if n.get("host")})


def ensure(rt, description: dict) -> None:
    """The kept helper of every host of a lab across engines, with this process's channel to it: what a run
    does at its start (lab.faults.warm), so a host-partition is one request, not a container's start."""
    def one(host: str) -> None:
        try:
            _request(rt, description, host, [])
        except LabError:
            pass  # only a head start: the fault's own request starts it, or says why not
    parallel(one, lab_hosts(description))


def _on_host(ctx: FaultContext, host: str, step: dict) -> str:
    try:
        return _request(ctx.rt, ctx.description, host, [step])[0]
    except LabError as exc:
        raise LabError(f"nftables on host {host} failed: {exc}") from None


def _partition(ctx: FaultContext, record: dict) -> None:
    name = table(ctx.lab, record["id"])
    rules = [f"udp dport {VXLAN_PORT} drop"]
    record["table"] = name
    _on_host(ctx, record["target"], {"nft": nftrules.filter_table(name, rules, rules)})


def _unpartition(ctx: FaultContext, record: dict) -> None:
    name = record.get("table") or table(ctx.lab, record["id"])
    _on_host(ctx, record["target"], {"nft": nftrules.absent("inet", name)})


def sweep(ctx: FaultContext) -> list[str]:
    """Every host's zone tables of this lab that no record explains (a killed run): deleted, named."""
    hosts = lab_hosts(ctx.description)
    found = parallel(lambda host: _on_host(ctx, host, {"sh": _sweep_script(ctx.lab)}), hosts)
    return [f"{host}:{line.split()[-1]}" for host, out in zip(hosts, found) for line in out.splitlines() if line.strip()]


def _lose(ctx: FaultContext, record: dict) -> None:
    # The host cut off at once, then its nodes killed one at a time (as the engine takes kills, rt.leaving):
    # nothing elsewhere sees them die one by one. The cut goes once every one is dead.
    _partition(ctx, record)
    try:
        process.KINDS["kill"].apply(ctx, record)
    finally:
        _unpartition(ctx, record)


def _unlose(ctx: FaultContext, record: dict) -> None:
    _unpartition(ctx, record)  # an apply that failed half-way may have left the cut
    process.KINDS["kill"].undo(ctx, record)


KINDS = {
    "host-partition": FaultKind(
        "host-partition", GROUP, "cut one host off from the others: its overlay traffic (VXLAN, UDP 4789) "
        "dropped in the engine's namespace; undo: delete the rules", {}, _partition, _unpartition),
    "host-freeze": FaultKind(
        "host-freeze", GROUP, "pause every node on the host (cgroup freezer); undo: unpause them",
        {}, process.KINDS["pause"].apply, process.KINDS["pause"].undo, stops_containers=True),
    "host-loss": FaultKind(
        "host-loss", GROUP, "kill every node on the host; undo: start them and wait until they answer",
        {}, _lose, _unlose, stops_containers=True),
}
