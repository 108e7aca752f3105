"""Render a topology into per-node files (server configs, zone files, root hints): a pure function.

Each node's files land in its own directory, mounted at /lab/node inside its container; nothing is ever
edited inside a container by hand.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import jinja2

from lab import automation
from lab.agents import settings as pipeline_settings
from lab.signing import keys as dnssec_keys, signer
from lab.topology.load import parent_zone
from lab.topology.model import Node, Topology, Zone
from lab.topology.software import software_of

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("lab.topology", "templates"),
    undefined=jinja2.StrictUndefined,  # a missing variable is a bug, never an empty string in a config
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

INITIAL_SERIAL = 1


@dataclass(frozen=True)
class Tsig:
    name: str
    algorithm: str
    secret: str


def render(topology: Topology, tsig: Tsig, keys: dict[str, list[dict]] | None = None,
           now: float | None = None) -> dict[str, dict[str, str]]:
    """node name -> {path relative to the node directory: file content}. A signed topology (`dnssec:`) needs
    `keys` (zone -> [KSK, ZSK], lab.state.dnssec_keys); static zones are signed as of `now`."""
    if topology.dnssec is not None and keys is None:
        raise ValueError("a signed topology is rendered with its keys")
    signed = _SignedZones(topology, keys or {}, time.time() if now is None else now)
    return {node.name: render_node(topology, node, tsig, signed) for node in topology.nodes.values()}


class _SignedZones:
    """Zone files (signed once per zone however many servers load it), key files, the root's trust anchor."""

    def __init__(self, topology: Topology, keys: dict[str, list[dict]], now: float):
        self.topology, self.keys, self.now, self.cache = topology, keys, now, {}

    @property
    def on(self) -> bool:
        return self.topology.dnssec is not None

    def zone_text(self, zone: Zone) -> str:
        if zone.origin not in self.cache:
            text = zone_text(self.topology, zone, self.keys if self.on else None)
            if self.on and zone.primary is None:  # a primary's zone is signed online by BIND
                text = signer.sign(text, zone.origin, self.keys[zone.origin], self.now - signer.INCEPTION_SLACK,
                                   self.now + self.topology.dnssec.static_validity, dnskey_ttl=zone.ttl)
            self.cache[zone.origin] = text
        return self.cache[zone.origin]

    def anchor(self) -> dict | None:
        return signer.trust_anchor(self.keys["."][0]) if self.on else None


def render_node(topology: Topology, node: Node, tsig: Tsig, signed: _SignedZones | None = None) -> dict[str, str]:
    signed = signed or _SignedZones(topology, {}, 0)
    files: dict[str, str] = {"resolv.conf": _resolv_conf(topology, node)}
    soft = software_of(node.role, node.software)
    zones = [_zone_context(topology, zone, node) for zone in topology.zones_of(node.name)]
    if node.role == "authoritative":
        for zone in topology.zones_of(node.name):
            if zone.primary is None or zone.primary == node.name:
                files[f"zones/{zone_file(zone)}"] = signed.zone_text(zone)
            if signed.on and zone.primary == node.name:
                for key in signed.keys[zone.origin]:
                    files.update({f"keys/{name}": text for name, text in dnssec_keys.bind_files(key).items()})
    if node.role == "agent" or any(z.primary == node.name for z in topology.zones.values()):
        # The update key travels as a file (0600), so it is never on a command line or in a log.
        files["tsig.json"] = json.dumps({"name": tsig.name, "algorithm": tsig.algorithm, "secret": tsig.secret})
    if node.role == "agent" and topology.pipeline is not None:
        files["pipeline.json"] = json.dumps(pipeline_config(topology, node), indent=2)
        files["tsig.key"] = automation.tsig_keyfile(tsig.name, tsig.algorithm, tsig.secret)  # for nsupdate -k
    if node.role == "resolver":
        files["root.hints"] = _ENV.get_template("root.hints.j2").render(root_hints=root_hints(topology))
    if soft.template:
        files[soft.config] = _ENV.get_template(soft.template).render(
            node=node, zones=zones, tsig=tsig, root_hints=root_hints(topology), tlds=lab_tlds(topology),
            anchor=signed.anchor(), dnssec=topology.dnssec, ipv6=topology.ipv6)
    if node.role == "resolver" and node.software == "pdns-recursor" and signed.on:
        files["recursor.lua"] = _ENV.get_template("recursor.lua.j2").render(anchor=signed.anchor())
    return files


def pipeline_config(topology: Topology, node: Node) -> dict:
    """What a pipeline agent reads at /lab/node/pipeline.json (lab.agents.agent): its name, the zone and
    the address of its primary as seen from the agent, the regional plans, the agents, default settings."""
    pipeline = topology.pipeline
    primary = topology.nodes[topology.zones[pipeline.zone].primary]
    return {
        "node": node.name,
        "zone": pipeline.zone,
        "primary": str(topology.address_towards(primary, node)),
        "agents": [n.name for n in topology.by_role("agent") if n.software != "planstore"],  # who a reset holds
        "enactors": [n.name for n in topology.by_role("agent") if n.software == "enactor"],  # in topology order
        **{key: value for key, value in pipeline.plain().items() if key != "zone"},
        # Every tunable with its value (defaults under the topology's): a user's program reads these, then
        # the plan store's settings.json over them (docs/automation.md).
        "settings": {**pipeline_settings.defaults(), **pipeline.settings},
    }


def zone_file(zone: Zone) -> str:
    return "root.zone" if zone.origin == "." else f"{zone.origin.rstrip('.')}.zone"


def _zone_context(topology: Topology, zone: Zone, node: Node) -> dict:
    primary = topology.nodes[zone.primary] if zone.primary else None
    return {
        "origin": zone.origin,
        "file": zone_file(zone),
        "id": zone_file(zone).removesuffix(".zone").replace(".", "-"),
        "primary": zone.primary,
        "primary_address": str(topology.address_towards(primary, node)) if primary else None,
        "notify": [str(topology.address_towards(topology.nodes[s], primary)) for s in zone.servers] if primary else [],
    }


def root_hints(topology: Topology) -> list[dict[str, str]]:
    root = topology.zones["."]
    return [{"name": root.ns_name(s), "address": str(topology.nodes[s].address),
             "address6": _address6(topology, s)} for s in root.servers]


def _address6(topology: Topology, node: str) -> str | None:
    """A server's first IPv6 address (its AAAA in root hints and glue), None in an IPv4-only lab."""
    found = topology.addresses6(topology.nodes[node])
    return str(next(iter(found.values()))) if found else None


def _addresses(topology: Topology, zone: Zone, node: str) -> list[str]:
    """The A (and, dual-stack, AAAA) records of a name server: in its zone, or as glue in the parent."""
    lines = [f"{zone.ns_name(node)} IN A {topology.nodes[node].address}"]
    if (address6 := _address6(topology, node)) is not None:
        lines.append(f"{zone.ns_name(node)} IN AAAA {address6}")
    return lines


def lab_tlds(topology: Topology) -> list[str]:
    """Top-level names the lab serves. Resolvers must not treat them as special-use names (RFC 6761):
    Unbound and Knot Resolver answer NXDOMAIN for test. themselves unless told otherwise."""
    return sorted({z.origin.split(".")[-2] + "." for z in topology.zones.values() if z.origin != "."})


def zone_text(topology: Topology, zone: Zone, keys: dict[str, list[dict]] | None = None) -> str:
    """The zone file: SOA, NS and addresses of its servers, delegations with glue (and DS records when
    `keys` holds the child's KSK), then its records. Unsigned: signing is lab.signing.signer's job."""
    origin = zone.origin
    mailbox = f"hostmaster.{origin}" if origin != "." else "hostmaster.ns."
    lines = [
        f"; Zone {origin}: rendered by dnslab from {topology.file}; do not edit.",
        f"$ORIGIN {origin}",
        f"$TTL {zone.ttl}",
        # refresh is long on purpose: secondaries learn of changes by NOTIFY, not by polling.
        # A negative answer is cached for min(SOA TTL, SOA minimum) (RFC 2308): the SOA lives at least as
        # long as negative_ttl, so negative_ttl is what resolvers really keep a denial for.
        f"@ {max(zone.ttl, zone.negative_ttl)} IN SOA {zone.ns_name(zone.servers[0])} {mailbox} "
        f"{INITIAL_SERIAL} 3600 600 86400 {zone.negative_ttl}",
    ]
    lines += [f"@ IN NS {zone.ns_name(s)}" for s in zone.servers]
    lines += [line for s in zone.servers for line in _addresses(topology, zone, s)]
    for child in topology.zones.values():
        if child.origin != "." and parent_zone(child.origin, topology.zones) == origin:
            lines.append(f"; delegation of {child.origin}")
            lines += [f"{child.origin} IN NS {child.ns_name(s)}" for s in child.servers]
            lines += [line for s in child.servers for line in _addresses(topology, child, s)]
            if keys and child.origin in keys:
                lines += [f"{child.origin} IN DS {dnssec_keys.ds_text(k)}" for k in keys[child.origin]
                          if k["role"] == "ksk"]
    for record in zone.records:
        ttl = f" {record.ttl}" if record.ttl is not None else ""
        lines += [f"{record.name}{ttl} IN {record.type} {rdata}" for rdata in record.rdatas]
    return "\n".join(lines) + "\n"


def _resolv_conf(topology: Topology, node: Node) -> str:
    """Clients look names up through the first lab resolver they can reach; everyone else through none.

    Mounted over /etc/resolv.conf so nothing in the lab falls back to Docker's embedded DNS (which would
    forward to the host's resolvers, outside the closed world)."""
    if node.role == "client":
        for resolver in topology.by_role("resolver"):
            if set(resolver.addresses) & set(node.addresses):
                return f"nameserver {topology.address_towards(resolver, node)}\n"
    return "nameserver 127.0.0.1\n"
