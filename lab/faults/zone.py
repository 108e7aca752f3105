"""Zone-level faults: everything one host (an availability zone's engine) of a lab across engines runs, at
once. The target is a host of the hosts file (`dnslab fault add host-freeze az-a`), so these faults need a lab
started with --hosts FILE; on one engine, or naming a host the lab has no node on, they are refused (exit 2).

- host-partition: the host's overlay traffic (VXLAN, UDP 4789) is dropped in the engine's own network
  namespace by a one-shot NET_ADMIN helper there (network mode host on that engine, never privileged): its
  nodes still reach each other, nothing on other hosts reaches them. The Swarm's control traffic (2377, 7946)
  keeps flowing, so the Swarm does not declare the host down. It cuts every overlay through that host, other
  labs' on a shared Swarm too. Undo deletes the table; a sweep deletes what a killed run left.
- host-freeze: every node on the host paused (cgroup freezer); undo unpauses them.
- host-loss: every node on the host killed (SIGKILL); undo starts them and waits until they answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from lab import runtime
from lab.errors import LabError
from lab.faults import nftrules, process
from lab.faults.base import FaultContext, FaultKind
from lab.names import NODE_NAME
from lab.parallel import parallel

GROUP = "zone"
VXLAN_PORT = 4789
HELPER_KIND = "zone-nft"


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


def _sweep_script(lab: str) -> str:
    prefix = nftrules.table_name(f"zone-{lab}-")
    return (f"nft list tables | while read -r _ family name; do case \"$name\" in {prefix}*) "
            "nft delete table \"$family\" \"$name\" && echo \"$family $name\";; esac; done")


def _on_host(ctx: FaultContext, host: str, script: str, fault_id: str, env: dict | None = None) -> str:
    if host not in ctx.rt.hosts:  # never the local engine's own namespace for a host it is not
        raise LabError(f"host {host} is not an engine of this runtime ({', '.join(ctx.rt.hosts)}): give the lab's "
                       f"hosts file with --hosts")
    labels = {runtime.LAB: ctx.lab, runtime.HELPER: HELPER_KIND, runtime.TARGET: host, "dnslab.fault": fault_id}
    result = ctx.rt.run_host_helper(host, ctx.description["image"], script, labels, env)
    if result.exit_code != 0:
        raise LabError(f"nftables on host {host} failed: {(result.output or str(result.exit_code)).strip()[-300:]}")
    return result.output


def _partition(ctx: FaultContext, record: dict) -> None:
    name = table(ctx.lab, record["id"])
    rules = [f"udp dport {VXLAN_PORT} drop"]
    record["table"] = name
    _on_host(ctx, record["target"], 'printf "%s" "$NFT_RULES" | nft -f -', record["id"],
             {"NFT_RULES": nftrules.filter_table(name, rules, rules)})


def _unpartition(ctx: FaultContext, record: dict) -> None:
    name = record.get("table") or table(ctx.lab, record["id"])
    _on_host(ctx, record["target"], f"nft list table inet {name} >/dev/null 2>&1 || exit 0; "
                                    f"nft delete table inet {name}", record["id"])


def sweep(ctx: FaultContext) -> list[str]:
    """Every host's zone tables of this lab that no record explains (a killed run): deleted, named."""
    hosts = sorted({n.get("host") for n in ctx.description["nodes"].values() if n.get("host")})
    if not ctx.description.get("hosts") or not hosts:
        return []
    found = parallel(lambda host: _on_host(ctx, host, _sweep_script(ctx.lab), "sweep"), hosts)
    return [f"{host}:{line.split()[-1]}" for host, out in zip(hosts, found) for line in out.splitlines() if line.strip()]


KINDS = {
    "host-partition": FaultKind(
        "host-partition", GROUP, "cut one host off from the others: its overlay traffic (VXLAN, UDP 4789) "
        "dropped in the engine's namespace; undo: delete the rules", {}, _partition, _unpartition),
    "host-freeze": FaultKind(
        "host-freeze", GROUP, "pause every node on the host (cgroup freezer); undo: unpause them",
        {}, process.KINDS["pause"].apply, process.KINDS["pause"].undo, stops_containers=True),
    "host-loss": FaultKind(
        "host-loss", GROUP, "kill every node on the host; undo: start them and wait until they answer",
        {}, process.KINDS["kill"].apply, process.KINDS["kill"].undo, stops_containers=True),
}
