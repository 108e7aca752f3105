"""Zone data as plain lists, and the pure edits zone-data faults make: find RRsets, turn a change into
RFC 2136 operations (lab.agents.update's format) or into an edited zone file, serial arithmetic. Pure.

An RRset is [name, type, ttl, [rdata text, ...]] with an absolute name (see lab.agents.zonedump).
"""

from __future__ import annotations

import functools

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.zone

from lab.agents.zonedump import rrsets_of

SERIAL_MOD = 2**32


def absolute(name: str) -> str:
    """Names are always absolute, as with dig: `api.cloud.test` and `api.cloud.test.` are the same name."""
    return name.rstrip(".").lower() + "."


def find(rrsets: list[list], name: str, rdtype: str) -> list | None:
    name, rdtype = name.lower(), rdtype.upper()
    return next((r for r in rrsets if r[0].lower() == name and r[1] == rdtype), None)


def restore_ops(previous: list[list]) -> list[list]:
    """Operations that put these RRsets back exactly (TTL and every value)."""
    return [["replace", name, ttl, rdtype, values] for name, rdtype, ttl, values in previous]


def parse(text: str, origin: str) -> list[list]:
    return rrsets_of(dns.zone.from_text(text, origin, relativize=False, check_origin=False))


@functools.lru_cache(maxsize=16)  # a fault compares against the same original again and again; read-only
def signed_rrsets(text: str, origin: str) -> dict[tuple[str, str], list[str]]:
    """Every RRset of a zone file with the signatures over it, by (owner, type): "TTL value" per record and
    "TTL RRSIG value" per signature (lab.agents.ask's `records` of a query with DNSSEC OK), sorted. Cached
    (parsing a signed zone of 30 records takes dnspython 10-30 ms): the result must not be changed."""
    zone = dns.zone.from_text(text, origin, relativize=False, check_origin=False)
    found: dict[tuple[str, str], list[str]] = {}
    for name, rdataset in zone.iterate_rdatasets():
        if rdataset.rdtype == dns.rdatatype.RRSIG:
            key, texts = (rdataset.covers, [f"{rdataset.ttl} RRSIG {rd.to_text()}" for rd in rdataset])
        else:
            key, texts = (rdataset.rdtype, [f"{rdataset.ttl} {rd.to_text()}" for rd in rdataset])
        found.setdefault((name.to_text(), dns.rdatatype.to_text(key)), []).extend(texts)
    return {key: sorted(texts) for key, texts in found.items()}


def changed(old: str, new: str, origin: str) -> dict[tuple[str, str], list[str]]:
    """The RRsets (with their signatures) that differ between two versions of a zone file and that a server
    can be asked for: (owner, type) -> what `new` holds ([] where it holds none), in order of name and type.
    At a delegation only its NS and DS: a question for anything else there (the parent's NSEC) is referred."""
    before, after = signed_rrsets(old, origin), signed_rrsets(new, origin)
    keys = before.keys() | after.keys()
    cuts = {name for name, rdtype in keys if rdtype == "NS" and name != origin.lower()}
    return {key: after.get(key, []) for key in sorted(keys)
            if before.get(key) != after.get(key) and (key[0] not in cuts or key[1] in ("NS", "DS"))}


def edit(text: str, origin: str, ops: list[list]) -> str:
    """The zone file with `ops` (replace / delete, as in lab.agents.update) applied."""
    zone = dns.zone.from_text(text, origin, relativize=False, check_origin=False)
    for op in ops:
        kind, name, *rest = op
        node_name = dns.name.from_text(name)
        if kind == "delete":
            if rest:
                zone.delete_rdataset(node_name, rest[0])
            else:
                zone.delete_node(node_name)
        elif kind == "replace":
            ttl, rdtype, values = rest
            rdataset = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), ttl=ttl)
            for value in values:
                rdataset.add(dns.rdata.from_text(dns.rdataclass.IN, rdataset.rdtype, value, origin=None))
            zone.replace_rdataset(node_name, rdataset)
        else:
            raise ValueError(f"unknown zone operation {kind!r}")
    return "; edited by a dnslab fault; the rendered original is kept next to it\n" + zone.to_text(relativize=False)


def zone_file(origin: str, rrsets: list[list], serial: int | None = None) -> str:
    """A zone file holding exactly these RRsets, SOA first, with the SOA serial replaced if given."""
    lines = [f"$ORIGIN {origin}"]
    ordered = sorted(rrsets, key=lambda r: (r[1] != "SOA", r[0], r[1]))
    for name, rdtype, ttl, values in ordered:
        for value in values:
            if rdtype == "SOA" and serial is not None:
                fields = value.split()
                fields[2] = str(serial)
                value = " ".join(fields)
            lines.append(f"{name} {ttl} IN {rdtype} {value}")
    return "\n".join(lines) + "\n"


def soa_serial(rrsets: list[list], origin: str) -> int:
    soa = find(rrsets, origin, "SOA")
    if soa is None:
        raise ValueError(f"zone {origin} has no SOA")
    return int(soa[3][0].split()[2])


def with_serial(soa_value: str, serial: int) -> str:
    fields = soa_value.split()
    fields[2] = str(serial % SERIAL_MOD)
    return " ".join(fields)


def serial_gt(a: int, b: int) -> bool:
    """RFC 1982: is serial a newer than serial b?"""
    return a != b and (a - b) % SERIAL_MOD < 2**31


def regressed(serial: int, by: int) -> int:
    return (serial - by) % SERIAL_MOD


def serial_after(current: int, original: int) -> int:
    """The serial that makes a regressed zone newer again than both its current serial and what the
    secondaries hold (`original`)."""
    base = current if serial_gt(current, original) else original
    return (base + 1) % SERIAL_MOD


def in_zone(name: str, zone: str) -> bool:
    name, zone = name.lower(), zone.lower()
    return zone == "." or name == zone or name.endswith("." + zone)
