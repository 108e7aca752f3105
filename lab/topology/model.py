"""The topology model: plain data, built by `load.py`, read by rendering and the runtime."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field, replace

from lab.automation import Automation
from lab.topology.placement import Placement

# Which software each role can run; the first one is the default.
ROLE_SOFTWARE: dict[str, tuple[str, ...]] = {
    "authoritative": ("bind", "knot", "nsd"),
    "resolver": ("unbound", "bind", "knot-resolver", "pdns-recursor"),
    "client": ("tools",),
    "agent": ("planner", "enactor", "planstore"),
    # What applications see (lab.topology.appnodes, docs/apps.md): an app's software is its resolver model.
    "service": ("http",),
    "app": ("glibc", "nscd", "dnsmasq", "jvm", "stale-on-error"),
    "workload": ("lease-manager",),
}
# Only BIND takes RFC 2136 updates in the lab (journal + NOTIFY/IXFR to the secondaries).
PRIMARY_SOFTWARE = ("bind",)

# Moving a lab to another slot shifts every subnet and node address by this many addresses (a /20).
SLOT_SIZE = 4096
# A dual-stack lab's IPv6 subnets (ULA, RFC 4193) are derived from the IPv4 ones: fd00:53: + the IPv4
# network address as 32 bits, a /64; a node's host part is its IPv4 host part. 10.53.0.0/24 is
# fd00:53:a35:0::/64 and 10.53.0.21 is fd00:53:a35::15: slots move both, and no two labs' subnets overlap.
IPV6_PREFIX = 0xFD000053


def ipv6_subnet(subnet: ipaddress.IPv4Network) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(((IPV6_PREFIX << 96) | (int(subnet.network_address) << 64), 64))


def ipv6_address(subnet: ipaddress.IPv4Network, address: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipv6_subnet(subnet).network_address + (int(address) - int(subnet.network_address))


def ipv6_block(subnet: ipaddress.IPv4Network, block: ipaddress.IPv4Network) -> ipaddress.IPv6Network:
    """The IPv6 counterpart of a block of IPv4 addresses within `subnet` (the engine's own range)."""
    return ipaddress.IPv6Network((int(ipv6_address(subnet, block.network_address)), 128 - (32 - block.prefixlen)))


@dataclass(frozen=True)
class Network:
    name: str
    subnet: ipaddress.IPv4Network


@dataclass(frozen=True)
class Node:
    name: str
    role: str
    software: str
    addresses: dict[str, ipaddress.IPv4Address]  # network name -> address, in file order
    options: dict = field(default_factory=dict)
    automation: Automation = Automation()  # agents: a user's program instead of the built-in (lab.automation)
    settings: dict = field(default_factory=dict)  # service, app, workload: the agent's settings (appnodes)

    @property
    def address(self) -> ipaddress.IPv4Address:
        """The node's first address: the one other nodes use when they share that network."""
        return next(iter(self.addresses.values()))


@dataclass(frozen=True)
class Record:
    name: str  # absolute
    type: str
    rdatas: tuple[str, ...]
    ttl: int | None = None


@dataclass(frozen=True)
class Zone:
    origin: str  # absolute, "." for the root
    servers: tuple[str, ...]  # public name servers (NS)
    primary: str | None = None  # hidden primary; None: every server loads the zone from its file
    ttl: int = 300
    negative_ttl: int = 300
    records: tuple[Record, ...] = ()

    def ns_name(self, node: str) -> str:
        """The public NS name of a server: NODE.ns.ZONE."""
        return f"{node}.ns.{self.origin}" if self.origin != "." else f"{node}.ns."


@dataclass(frozen=True)
class Region:
    """One regional plan: the endpoints that share it and the load-balancer addresses it draws from."""

    endpoints: tuple[str, ...]  # absolute names, in apply order
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Pipeline:
    """The DNS automation pipeline (planner + enactors) of a topology; see lab/agents/enactor.py."""

    zone: str  # absolute; the zone whose primary takes the enactors' updates
    regions: dict[str, Region]
    settings: dict  # flat tunables from the topology (lab.agents.settings), over their defaults

    def plain(self) -> dict:
        return {"zone": self.zone, "settings": dict(self.settings),
                "regions": {name: {"endpoints": list(r.endpoints), "addresses": list(r.addresses)}
                            for name, r in self.regions.items()}}


@dataclass(frozen=True)
class Dnssec:
    """A signed lab (docs/dnssec.md): every zone signed, DS records in the parents, every resolver validating
    against the lab root's own key."""

    signature_validity: int = 3600  # seconds; online signer (BIND dnssec-policy on a primary), re-signed in time
    static_validity: int = 30 * 86400  # seconds; zones signed once by the orchestrator at `up`


@dataclass(frozen=True)
class Topology:
    name: str
    summary: str  # the file's `description:` (prose); a lab's *description* is its lab.json
    file: str
    networks: dict[str, Network]
    nodes: dict[str, Node]
    zones: dict[str, Zone]
    slot: int = 0
    pipeline: Pipeline | None = None
    dnssec: Dnssec | None = None
    placement: Placement = Placement()  # several engines only (lab.topology.placement)
    ipv6: bool = False  # a dual-stack lab: every network has an IPv6 subnet too (derived: ipv6_subnet)

    def subnet6(self, network: str) -> ipaddress.IPv6Network | None:
        return ipv6_subnet(self.networks[network].subnet) if self.ipv6 else None

    def addresses6(self, node: Node) -> dict[str, ipaddress.IPv6Address]:
        """network name -> the node's IPv6 address there ({} in an IPv4-only lab), in file order."""
        if not self.ipv6:
            return {}
        return {net: ipv6_address(self.networks[net].subnet, addr) for net, addr in node.addresses.items()}

    def address6_towards(self, node: Node, peer: Node) -> ipaddress.IPv6Address | None:
        """Like address_towards, the IPv6 address; None in an IPv4-only lab."""
        if not self.ipv6:
            return None
        for net, addr in node.addresses.items():
            if net in peer.addresses:
                return ipv6_address(self.networks[net].subnet, addr)
        return next(iter(self.addresses6(node).values()))

    def dynamic_range6(self, network: str) -> ipaddress.IPv6Network | None:
        block = self.dynamic_range(network)
        return ipv6_block(self.networks[network].subnet, block) if self.ipv6 and block is not None else None

    def by_role(self, role: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.role == role]

    def zones_of(self, node: str) -> list[Zone]:
        return [z for z in self.zones.values() if node in z.servers or z.primary == node]

    def address_towards(self, node: Node, peer: Node) -> ipaddress.IPv4Address:
        """The address `peer` uses to reach `node`: node's address on the first network they share."""
        for net, addr in node.addresses.items():
            if net in peer.addresses:
                return addr
        return node.address

    def dynamic_range(self, network: str) -> ipaddress.IPv4Network | None:
        """The highest block of the network's subnet (16 addresses, 8 in a subnet under /26) that holds no
        node's address and not the gateway: where an engine may hand out addresses of its own. None when
        every block holds one."""
        subnet = self.networks[network].subnet
        prefix = 28 if subnet.prefixlen <= 26 else 29
        if prefix <= subnet.prefixlen:
            return None
        used = {n.addresses[network] for n in self.nodes.values() if network in n.addresses}
        for block in reversed(list(subnet.subnets(new_prefix=prefix))):
            if subnet.network_address + 1 not in block and not any(a in block for a in used):
                return block
        return None

    def describe_role(self, node: Node) -> str:
        """Role as a person reads it: 'root', 'tld', 'primary (hidden)', 'secondary', 'resolver', ..."""
        if node.role != "authoritative":
            return node.role
        for zone in self.zones.values():
            if zone.primary == node.name:
                return "primary (hidden)"
            if node.name in zone.servers:
                if zone.primary:
                    return "secondary"
                return "root" if zone.origin == "." else ("tld" if zone.origin.count(".") == 1 else "authoritative")
        return "authoritative"

    def at_slot(self, slot: int) -> Topology:
        """The same topology with every subnet and node address moved by `slot` whole /20 blocks."""
        shift = (slot - self.slot) * SLOT_SIZE
        if shift == 0:
            return self
        networks = {
            name: Network(name, ipaddress.IPv4Network((int(n.subnet.network_address) + shift, n.subnet.prefixlen)))
            for name, n in self.networks.items()
        }
        nodes = {
            name: replace(n, addresses={net: ipaddress.IPv4Address(int(a) + shift) for net, a in n.addresses.items()})
            for name, n in self.nodes.items()
        }
        # Addresses that are data (zone records, the plans' pools) move too when they lie in a lab network: the
        # endpoint addresses a services network serves must stay the ones DNS hands out.
        move = functools.partial(_moved, [n.subnet for n in self.networks.values()], shift)
        zones = {origin: replace(z, records=tuple(replace(r, rdatas=tuple(move(d) for d in r.rdatas))
                                                  if r.type == "A" else r for r in z.records))
                 for origin, z in self.zones.items()}
        pipeline = self.pipeline and replace(self.pipeline, regions={
            name: replace(r, addresses=tuple(move(a) for a in r.addresses)) for name, r in self.pipeline.regions.items()})
        return replace(self, networks=networks, nodes=nodes, zones=zones, pipeline=pipeline, slot=slot)


def _moved(subnets: list[ipaddress.IPv4Network], shift: int, text: str) -> str:
    """An address inside one of `subnets` moved by `shift`; anything else as it is."""
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return text
    return str(address + shift) if any(address in subnet for subnet in subnets) else text
