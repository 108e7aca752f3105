"""Load and validate a topology file: every problem at once, each with file:line:col.

This module reads the whole and `extends`, `zones`, `pipeline` and `dnssec`; `networks`, `nodes` and
`options` are lab.topology.nodes.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from lab import bundle
from lab.agents import settings as pipeline_settings
from lab.duration import parse_duration
from lab.errors import InputError, TopologyError
from lab.names import NODE_NAME
from lab.validation import Problems, check_keys, shown, get, one_of, suggest
from lab.topology import appnodes, nodes as nodes_section, placement
from lab.topology.model import (PRIMARY_SOFTWARE, ROLE_SOFTWARE, Dnssec, Node, Pipeline, Record, Region,
                                Topology, Zone)
from lab.yamlsrc import Map, Seq, YamlSyntaxError, load as load_yaml, merge

TOP_FIELDS = ("name", "description", "extends", "networks", "nodes", "zones", "pipeline", "options", "dnssec",
              "placement", "ipv6")
DNSSEC_FIELDS = ("enabled", "signature_validity", "static_validity")
PIPELINE_FIELDS = ("zone", "regions")
REGION_FIELDS = ("endpoints", "addresses")
ZONE_FIELDS = ("servers", "primary", "ttl", "negative_ttl", "records")

DEFAULT_TOPOLOGY = bundle.DEFAULT_TOPOLOGY


def load(path: str | Path) -> Topology:
    """Read a topology file; raise TopologyError listing every problem found."""
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        raise TopologyError([exc.problem]) from None
    return from_document(doc, str(path))


def from_document(doc: object, file: str) -> Topology:
    problems = Problems(file)
    if not isinstance(doc, Map):
        problems.at(doc, "a topology must be a mapping with networks, nodes and zones")
        raise TopologyError(problems)
    doc = resolve_extends(doc, file)
    check_keys(problems, doc, TOP_FIELDS, "topology", required=("networks", "nodes", "zones"))
    name = get(problems, doc, "name", str, "topology", Path(file).stem)
    if not NODE_NAME.match(str(name)):
        problems.at(doc, f"topology name {name!r} must be lower-case letters, digits and '-'", "name", value=True)
    summary = get(problems, doc, "description", str, "topology", "")
    networks = nodes_section.networks(problems, get(problems, doc, "networks", dict, "topology", Map()))
    raw_nodes = get(problems, doc, "nodes", dict, "topology", Map())
    role_options = nodes_section.role_options(problems, get(problems, doc, "options", dict, "topology", Map()))
    nodes = nodes_section.nodes(problems, raw_nodes, networks, Path(file).resolve().parent, role_options)
    appnodes.check_nodes(problems, raw_nodes, nodes)
    zones = _zones(problems, get(problems, doc, "zones", dict, "topology", Map()), nodes, set(raw_nodes))
    pipeline = _pipeline(problems, doc, nodes, zones)
    dnssec = _dnssec(problems, doc)
    ipv6 = get(problems, doc, "ipv6", bool, "topology", False)  # dual-stack: IPv6 subnets derived from IPv4 ones
    own_hosts = {n: found for n, spec in raw_nodes.items() if isinstance(spec, Map) and "host" in spec
                 and (found := placement.node_host(problems, spec, f"node {n!r}")) is not None}
    placed = placement.parse(problems, get(problems, doc, "placement", dict, "topology", None), own_hosts,
                             ROLE_SOFTWARE)
    if problems:
        raise TopologyError(problems)
    return Topology(name=name, summary=summary, file=file, networks=networks, nodes=nodes, zones=zones,
                    pipeline=pipeline, dnssec=dnssec, placement=placed, ipv6=bool(ipv6))


def _dnssec(problems: Problems, doc: Map) -> Dnssec | None:
    """The `dnssec:` section: absent or `enabled: false` is an unsigned lab."""
    if doc.get("dnssec") is None:
        return None
    raw = get(problems, doc, "dnssec", dict, "topology", Map())
    check_keys(problems, raw, DNSSEC_FIELDS, "dnssec")
    if not get(problems, raw, "enabled", bool, "dnssec", True):
        return None
    seconds = {}
    for key, low in (("signature_validity", 30), ("static_validity", 60)):
        value = raw.get(key)
        if value is None:
            continue
        try:
            seconds[key] = int(parse_duration(str(value)))
        except ValueError as exc:
            problems.at(raw, f"dnssec {key}: {exc}", key, value=True)
            continue
        if not low <= seconds[key] <= 366 * 86400:
            problems.at(raw, f"dnssec {key} must be between {low}s and 366 days, not {value!r}", key, value=True)
    return Dnssec(**seconds)


# ---- extends: a topology built on another one -------------------------------------------------------------


def resolve_extends(doc: Map, file: str, seen: tuple[str, ...] = ()) -> Map:
    """The document with its `extends: BASE.yml` chain merged in (paths relative to the extending file,
    `dnslab:NAME` for a topology dnslab bundles: lab.bundle). A base's own name never carries over: an
    extending topology is named by itself or its file."""
    if "extends" not in doc:
        return doc
    problems = Problems(file)
    base_name = get(problems, doc, "extends", str, "topology")
    if problems:
        raise TopologyError(problems)
    try:
        path = bundle.referenced(base_name, Path(file).parent).resolve()
    except InputError as exc:
        raise TopologyError([doc.problem(f"extends: {exc}", "extends", value=True)]) from None
    if str(path) in seen or str(path) == str(Path(file).resolve()):
        raise TopologyError([doc.problem(f"extends {base_name!r} forms a cycle: a topology cannot extend itself",
                                         "extends", value=True)])
    try:
        base = load_yaml(path)
    except YamlSyntaxError as exc:
        if exc.problem.line:
            raise TopologyError([exc.problem]) from None
        raise TopologyError([doc.problem(f"extends {base_name!r}: {exc.problem.message} (paths are relative to "
                                         f"{Path(file).name}{bundle.hint_for_missing(base_name)})", "extends",
                                         value=True)]) from None
    if not isinstance(base, Map):
        raise TopologyError([doc.problem(f"extends {base_name!r}: that file is not a topology mapping",
                                         "extends", value=True)])
    base = resolve_extends(base, str(path), (*seen, str(Path(file).resolve())))
    base = _without(base, ("name", "extends"))
    return _without(merge(base, doc), ("extends",))


def _without(mapping: Map, keys: tuple[str, ...]) -> Map:
    """A copy of `mapping` (positions kept) without `keys`."""
    if not any(key in mapping for key in keys):
        return mapping
    empty = Map()
    empty.file, empty.line, empty.col = mapping.file, mapping.line, mapping.col
    empty.key_pos, empty.value_pos = {}, {}
    result = merge(empty, mapping)
    for key in keys:
        result.pop(key, None)
    return result


def _pipeline(problems: Problems, doc: Map, nodes: dict[str, Node], zones: dict[str, Zone]) -> Pipeline | None:
    """The `pipeline:` section: the zone the enactors update, regional plans with their endpoints and
    address pools, and default settings (lab.agents.settings, by their short names)."""
    agents = [n for n in nodes.values() if n.role == "agent"]
    if doc.get("pipeline") is None:
        if agents:
            problems.at(doc, f"agent nodes ({', '.join(a.name for a in agents)}) need a `pipeline:` section with "
                             f"zone and regions (see compose/enactors.yml)")
        return None
    raw = get(problems, doc, "pipeline", dict, "topology", Map())
    short = {key.split(".", 1)[1]: key for key in pipeline_settings.SETTINGS}
    check_keys(problems, raw, PIPELINE_FIELDS + tuple(short), "pipeline", required=PIPELINE_FIELDS)
    settings = {}
    for key, value in raw.items():
        if key in short:
            message = pipeline_settings.problem(short[key], value)
            if message:
                problems.at(raw, f"pipeline: {message}", key, value=True)
            else:
                settings[key] = value
    zone = _pipeline_zone(problems, raw, zones)
    regions = _regions(problems, get(problems, raw, "regions", dict, "pipeline", Map()), zone)
    planners = [a.name for a in agents if a.software == "planner"]
    stores = [a.name for a in agents if a.software == "planstore"]
    if len(stores) > 1:
        problems.at(raw, f"the pipeline takes at most one planstore node; found {', '.join(stores)}")
    if len(planners) != 1 or not any(a.software == "enactor" for a in agents):
        problems.at(raw, f"the pipeline needs exactly one planner node and at least one enactor node "
                         f"(role: agent, software: planner / enactor); planners: {', '.join(planners) or 'none'}")
    primary = nodes.get(zones[zone].primary) if zone in zones and zones[zone].primary else None
    for agent in agents:
        if primary is not None and not set(agent.addresses) & set(primary.addresses):
            problems.at(raw, f"agent {agent.name!r} shares no network with the primary {primary.name!r}: "
                             f"it could not send updates", "zone", value=True)
    return Pipeline(zone or ".", regions, settings)


def _pipeline_zone(problems: Problems, raw: Map, zones: dict[str, Zone]) -> str | None:
    text = get(problems, raw, "zone", str, "pipeline")
    if text is None:
        return None
    try:
        zone = dns.name.from_text(text).to_text()
    except dns.exception.DNSException as exc:
        problems.at(raw, f"pipeline zone {text!r} is not a valid DNS name: {exc}", "zone", value=True)
        return None
    if zone not in zones or not zones[zone].primary:
        dynamic = [z.origin for z in zones.values() if z.primary]
        problems.at(raw, f"pipeline zone {zone!r} must be a zone of this topology with a primary that takes "
                         f"updates; such zones: {one_of(dynamic) or 'none'}", "zone", value=True)
        return None
    return zone


def _regions(problems: Problems, raw: Map, zone: str | None) -> dict[str, Region]:
    regions: dict[str, Region] = {}
    owner: dict[str, str] = {}
    origin = dns.name.from_text(zone) if zone else None
    for region, spec in raw.items():
        what = f"pipeline region {region!r}"
        if not isinstance(spec, Map):
            problems.at(raw, f"{what} must be a mapping with endpoints and addresses", region, value=True)
            continue
        check_keys(problems, spec, REGION_FIELDS, what, required=REGION_FIELDS)
        endpoints = []
        names = get(problems, spec, "endpoints", list, what, Seq())
        for i, text in enumerate(names):
            try:
                name = dns.name.from_text(str(text), origin=origin)
            except dns.exception.DNSException as exc:
                problems.at(names, f"{what}: endpoint {text!r} is not a valid DNS name: {exc}", i)
                continue
            if origin is not None and not name.is_subdomain(origin):
                problems.at(names, f"{what}: endpoint {name} is outside the zone {zone}", i)
            elif name.to_text() in owner:
                problems.at(names, f"{what}: endpoint {name} already belongs to region {owner[name.to_text()]!r}", i)
            else:
                owner[name.to_text()] = str(region)
                endpoints.append(name.to_text())
        addresses = []
        pool = get(problems, spec, "addresses", list, what, Seq())
        for i, text in enumerate(pool):
            try:
                addresses.append(str(ipaddress.ip_address(str(text))))
            except ValueError:
                problems.at(pool, f"{what}: {text!r} is not an IPv4 or IPv6 address", i)
        if "endpoints" in spec and not names:
            problems.at(spec, f"{what} needs at least one endpoint", "endpoints", value=True)
        if "addresses" in spec and not pool:
            problems.at(spec, f"{what} needs at least one address", "addresses", value=True)
        regions[str(region)] = Region(tuple(endpoints), tuple(addresses))
    if not raw:
        problems.at(raw, "the pipeline needs at least one region")
    return regions


def _zones(problems: Problems, raw: Map, nodes: dict[str, Node], declared: set) -> dict[str, Zone]:
    """Zones; `declared` holds every node name in the file, so a node that was itself invalid (already
    reported) is not reported again as unknown where a zone names it."""
    zones: dict[str, Zone] = {}
    for origin, spec in raw.items():
        what = f"zone {origin!r}"
        try:
            origin_name = dns.name.from_text(str(origin))
        except dns.exception.DNSException as exc:
            problems.at(raw, f"{what} is not a valid DNS name: {exc}", origin)
            continue
        origin_text = origin_name.to_text()
        if spec is None:
            spec = Map()
            spec.file, (spec.line, spec.col) = raw.file, raw.where(origin)
        if not isinstance(spec, Map):
            problems.at(raw, f"{what} must be a mapping with servers (and optionally primary, ttl, records)",
                        origin, value=True)
            continue
        check_keys(problems, spec, ZONE_FIELDS, what, required=("servers",))
        servers = get(problems, spec, "servers", list, what, [])
        for i, server in enumerate(servers):
            _check_server(problems, servers, i, server, nodes, declared, what, ("bind", "knot", "nsd"))
        if "servers" in spec and not servers:
            problems.at(spec, f"{what} needs at least one server", "servers", value=True)
        primary = get(problems, spec, "primary", str, what)
        if primary is not None:
            _check_server(problems, spec, "primary", primary, nodes, declared, what, PRIMARY_SOFTWARE)
            if primary in servers:
                problems.at(spec, f"{what}: the hidden primary {primary!r} must not also be a public server",
                            "primary", value=True)
        ttl = _ttl(problems, spec, "ttl", what, 300)
        negative_ttl = _ttl(problems, spec, "negative_ttl", what, ttl)
        records = _records(problems, get(problems, spec, "records", dict, what, Map()), origin_name, what)
        zones[origin_text] = Zone(origin_text, tuple(str(s) for s in servers), primary, ttl, negative_ttl, records)
    if raw and "." not in zones and not problems:
        problems.at(raw, "the topology needs a root zone '.': resolvers know only the lab root")
    for origin, zone in zones.items():
        if origin != "." and _parent(origin, zones) is None and "." in zones:
            problems.at(raw, f"zone {origin!r} has no parent zone in the topology to delegate it", origin)
    return zones


def _check_server(problems: Problems, container, key, server, nodes, declared: set, what: str,
                  software: tuple[str, ...]) -> None:
    if not isinstance(server, str):
        problems.at(container, f"{what}: a server must be a node name, not {shown(server)}", key, value=True)
        return
    if server in declared and server not in nodes:
        return
    if server not in nodes:
        problems.at(container, f"{what}: unknown node {server!r}{suggest(str(server), nodes)}", key, value=True)
        return
    node = nodes[server]
    if node.role != "authoritative" or node.software not in software:
        problems.at(container, f"{what}: node {server!r} is a {node.role} running {node.software}; "
                               f"this needs an authoritative server running {' or '.join(software)}",
                    key, value=True)


def _ttl(problems: Problems, spec: Map, key: str, what: str, default: int) -> int:
    value = get(problems, spec, key, int, what, default)
    if not 0 <= value <= 604800:
        problems.at(spec, f"{what}: {key} must be between 0 and 604800 seconds", key, value=True)
        return default
    return value


def _records(problems: Problems, raw: Map, origin: dns.name.Name, what: str) -> tuple[Record, ...]:
    records = []
    for owner, rrsets in raw.items():
        try:
            name = dns.name.from_text(str(owner), origin=origin)
        except dns.exception.DNSException as exc:
            problems.at(raw, f"{what}: record name {owner!r} is invalid: {exc}", owner)
            continue
        if not name.is_subdomain(origin):
            problems.at(raw, f"{what}: record {name} is outside the zone", owner)
            continue
        if not isinstance(rrsets, Map):
            problems.at(raw, f"{what}: record {owner!r} must map types to values, like {{A: [192.0.2.1]}}",
                        owner, value=True)
            continue
        for rtype, values in rrsets.items():
            try:
                rdtype = dns.rdatatype.from_text(str(rtype))
            except dns.exception.DNSException:
                problems.at(rrsets, f"{what}: {owner}: unknown record type {rtype!r}", rtype)
                continue
            if not isinstance(values, list):
                values = Seq([values]) if isinstance(values, (str, int)) else values
            if not isinstance(values, list) or not values:
                problems.at(rrsets, f"{what}: {owner} {rtype} must be a value or a non-empty list", rtype, value=True)
                continue
            texts = []
            for value in values:
                text = _rdata_text(rdtype, str(value))
                try:
                    dns.rdata.from_text(dns.rdataclass.IN, rdtype, text, origin=origin)
                except (dns.exception.DNSException, ValueError) as exc:
                    problems.at(rrsets, f"{what}: {owner} {rtype} value {value!r} is invalid: {exc}", rtype,
                                value=True)
                    continue
                texts.append(text)
            records.append(Record(name.to_text(), dns.rdatatype.to_text(rdtype), tuple(texts)))
    return tuple(records)


def _rdata_text(rdtype: dns.rdatatype.RdataType, value: str) -> str:
    """TXT values are written plainly in the topology; zone files need them quoted."""
    if rdtype == dns.rdatatype.TXT and not value.startswith('"'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _parent(origin: str, zones: dict) -> str | None:
    name = dns.name.from_text(origin).parent()
    while True:
        if name.to_text() in zones:
            return name.to_text()
        if name == dns.name.root:
            return None
        name = name.parent()


def parent_zone(origin: str, zones: dict) -> str | None:
    return _parent(origin, zones) if origin != "." else None
