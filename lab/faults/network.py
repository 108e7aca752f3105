"""Network faults: nftables rules in each target's network namespace (the kernel here has no netem), and
taking a node off a Docker network.

Rules are installed by the node's kept helper (lab.nshelper) in a table named after the fault; undo deletes
that table. `disconnect` uses Docker itself and reconnects with the same address and alias.
"""

from __future__ import annotations

from typing import Any, Mapping

from lab import runtime
from lab.faults import arguments as P, nftrules, sidecar, targets
from lab.faults.base import FaultContext, FaultKind, Param
from lab.parallel import parallel


def _install(ctx: FaultContext, record: dict, ruleset_for) -> None:
    record["nft_table"] = nftrules.table_name(record["id"])
    record["nft_nodes"] = []

    def install(node: str) -> None:
        sidecar.nft(ctx, node, ruleset_for(node))
        record["nft_nodes"].append(node)
    parallel(install, record["nodes"])


def _uninstall(ctx: FaultContext, record: dict) -> None:
    table = record.get("nft_table") or nftrules.table_name(record["id"])

    def uninstall(node: str) -> None:
        found = ctx.rt.container(ctx.container(node))
        if found is not None and found.up:
            sidecar.nft(ctx, node, nftrules.absent("inet", table))
    parallel(uninstall, record.get("nft_nodes", record["nodes"]))


def _partition(ctx: FaultContext, record: dict) -> None:
    peers = targets.addresses(ctx.description, record["params"]["from"])
    record["peers"] = peers

    def ruleset(node: str) -> str:
        info = ctx.description["nodes"][node]
        own = {*info["addresses"].values(), *info.get("addresses6", {}).values()}
        how = record["params"].get("how", "drop")
        return nftrules.partition(record["id"], [p for p in peers if p not in own], how)
    _install(ctx, record, ruleset)


def _partition_constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    problems = []
    for peer in params.get("from") or []:
        for message in targets.problems(peer, description, targets.ROLES, single=False):
            problems.append(("from", f"from: {message}"))
        if peer.startswith(targets.RANDOM):
            problems.append(("from", f"from: {peer!r}: name nodes or role: groups, not random picks"))
    if params.get("from") == []:
        problems.append(("from", "from is empty: name the nodes or groups to cut the target off from"))
    if params.get("how") not in (None, *nftrules.HOW):
        problems.append(("how", f"how must be drop or reject, not {params['how']!r}"))
    if description is not None and not problems and target in (params.get("from") or []):
        problems.append(("from", f"from names the target {target!r} itself"))
    return problems


def _loss(ctx: FaultContext, record: dict) -> None:
    _install(ctx, record, lambda node: nftrules.loss(record["id"], record["params"]["percent"]))


def _block_port(ctx: FaultContext, record: dict) -> None:
    p = record["params"]
    _install(ctx, record, lambda node: nftrules.block_port(record["id"], p["proto"], p["port"]))


def _block_constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    problems = P.in_range("port", params, 1, 65535)
    if params.get("proto") not in (None, "udp", "tcp", "both"):
        problems.append(("proto", f"proto must be udp, tcp or both, not {params['proto']!r}"))
    return problems


def _disconnect(ctx: FaultContext, record: dict) -> None:
    network = record["params"]["network"]
    record["disconnected"] = {}
    for node in record["nodes"]:
        address = ctx.description["nodes"][node]["addresses"].get(network)
        if address is None:
            continue
        ctx.rt.detach(ctx.container(node), runtime.network_name(ctx.lab, network))
        record["disconnected"][node] = address


def _reconnect(ctx: FaultContext, record: dict) -> None:
    network = record["params"]["network"]
    for node, address in (record.get("disconnected") or {}).items():
        reconnect(ctx, node, network, address)


def reconnect(ctx: FaultContext, node: str, network: str, address: str) -> bool:
    """Attach the node to the network again with its own address (and IPv6 address, dual-stack) and alias;
    False if it already was."""
    address6 = ctx.description["nodes"][node].get("addresses6", {}).get(network)
    return ctx.rt.attach(ctx.container(node), runtime.network_name(ctx.lab, network), address, [node], address6)


def reconnect_all(ctx: FaultContext) -> list[str]:
    """Sweep: every node back on every network the description puts it on; return 'node/network' reattached."""
    done = []
    listed = {c.name: c for c in ctx.rt.containers(ctx.lab)}  # one call for the lab, no inspect per node
    for node, info in ctx.description["nodes"].items():
        found = listed.get(info["container"])
        if found is None:
            continue
        attached = found.networks
        for network, address in info["addresses"].items():
            if runtime.network_name(ctx.lab, network) not in attached and reconnect(ctx, node, network, address):
                done.append(f"{node}/{network}")
    return done


def _disconnect_constraints(target: str, params: Mapping[str, Any], description: dict | None) -> list:
    network = params.get("network")
    if description is None or network is None:
        return []
    if network not in description["networks"]:
        return [("network", f"no network {network!r} in lab {description['lab']}; networks: "
                            + ", ".join(description["networks"]))]
    if not targets.problems(target, description, targets.ROLES, False) and not targets.is_group(target):
        if network not in description["nodes"][target]["addresses"]:
            return [("network", f"node {target!r} is not on network {network!r}; it is on "
                                + ", ".join(description["nodes"][target]["addresses"]))]
    return []


KINDS = {
    "partition": FaultKind(
        "partition", "network", "drop (or reject) all traffic between the target and the nodes or groups in `from`",
        {"from": Param(list[str], True, None, "nodes or role:ROLE groups the target can no longer reach"),
         "how": Param(str, False, "drop", "drop (silence, senders time out) or reject (ICMP unreachable: the "
                                          "route is gone, senders fail at once)")},
        _partition, _uninstall, _partition_constraints),
    "loss": FaultKind(
        "loss", "network", "drop a share of the target's packets, in both directions",
        {"percent": Param(float, True, None, "share of packets dropped, 0-100")},
        _loss, _uninstall, lambda t, p, d: P.in_range("percent", p, 0, 100)),
    "block-port": FaultKind(
        "block-port", "network", "drop packets to a port (default DNS, 53), incoming and outgoing",
        {"proto": Param(str, False, "both", "udp, tcp or both"),
         "port": Param(int, False, 53, "destination port to block")},
        _block_port, _uninstall, _block_constraints),
    "disconnect": FaultKind(
        "disconnect", "network", "take the target off a Docker network; undo reconnects it with its own address",
        {"network": Param(str, True, None, "the lab network to leave (e.g. core, edge)")},
        _disconnect, _reconnect, _disconnect_constraints),
}
