"""The prober's fast path: read an answer to an A question straight from the wire.

Building dnspython objects costs about 0.25 ms a message, most of the prober's CPU (make bench: the prober
managed 1/15 of dnsperf's rate). Almost every answer a run sees is plain: our id and question, no EDNS, A and
CNAME records, maybe an A in the authority section. `decode` reads exactly those and returns what
dns.message.from_wire would have given the prober — rcode, the A addresses in dnspython's rrset order with
duplicates merged, the smallest TTL of the last A rrset, the TC flag. Anything else (another id, another
type, an SOA, an OPT record, a malformed or truncated packet, a pointer dnspython would refuse) it declines
with None, and the prober asks dnspython. tests/unit/test_wire.py holds the two to the same answer on
thousands of generated and mangled messages.
"""

from __future__ import annotations

import struct

import dns.rcode

A, CNAME, IN = 1, 5, 1
RCODES = {value: dns.rcode.to_text(value) for value in range(16)}


class Declined(Exception):
    """Not a message this fast path reads exactly like dnspython: let dnspython read it."""


def question(query_wire: bytes) -> bytes:
    """The question section of a query we built (one uncompressed name, type, class), names lowercased."""
    end = 12
    while query_wire[end]:
        end += query_wire[end] + 1
    return query_wire[12:end + 1].lower() + query_wire[end + 1:end + 5]


def decode(wire: bytes, query_id: int, asked: bytes) -> tuple[str, list[str], int | None, bool] | None:
    """(rcode, addresses, ttl, truncated) of an answer to our A query `asked` (see `question`), or None."""
    try:
        return _decode(wire, query_id, asked)
    except (Declined, IndexError, struct.error):
        return None


def _decode(wire: bytes, query_id: int, asked: bytes) -> tuple[str, list[str], int | None, bool]:
    ident, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!6H", wire)
    if ident != query_id or len(wire) < 12 + len(asked):
        raise Declined
    if not flags & 0x8000 or (flags >> 11) & 0xF or qdcount != 1 or arcount:
        raise Declined  # not a response, not QUERY, or EDNS/additional records: dnspython's business
    end = 12 + len(asked)  # our question, its name compared as dnspython does (case-insensitively)
    if asked[-4:] != struct.pack("!HH", A, IN) or wire[12:end - 4].lower() != asked[:-4] \
            or wire[end - 4:end] != asked[-4:]:
        raise Declined
    rrsets: dict[tuple, list] = {}  # (owner, type) -> [addresses, ttl], in order of appearance
    offset = end
    for index in range(ancount + nscount):
        owner, offset = _name(wire, offset)
        rdtype, rdclass, ttl, rdlength = struct.unpack_from("!HHIH", wire, offset)
        offset += 10
        rdata = wire[offset:offset + rdlength]
        if rdclass != IN or len(rdata) != rdlength or ttl > 0x7FFFFFFF:
            raise Declined  # (dnspython versions differ on TTLs with the top bit set)
        if rdtype == CNAME:
            if _name(wire, offset)[1] != offset + rdlength:
                raise Declined  # the target name must fill the rdata exactly
        elif rdtype != A or rdlength != 4:
            raise Declined
        offset += rdlength
        if index >= ancount or rdtype != A:
            continue  # authority records and CNAMEs are checked, not kept
        entry = rrsets.setdefault((owner, rdtype), [[], ttl])
        address = "%d.%d.%d.%d" % tuple(rdata)
        if address not in entry[0]:
            entry[0].append(address)
        entry[1] = min(entry[1], ttl)
    if offset != len(wire):
        raise Declined  # trailing bytes: dnspython calls that an error
    addresses = [address for entry in rrsets.values() for address in entry[0]]
    ttl = list(rrsets.values())[-1][1] if rrsets else None
    return RCODES[flags & 0xF], addresses, ttl, bool(flags & 0x0200)


def _name(wire: bytes, offset: int) -> tuple[tuple[bytes, ...], int]:
    """A name at offset (its lowercased labels) and the offset after it, following compression pointers the
    way dnspython does: only backwards, 63-byte labels, 255-byte names."""
    labels, after, limit, length = [], None, offset, 1
    while True:
        count = wire[offset]
        if count == 0:
            break
        if count < 64:
            label = wire[offset + 1:offset + 1 + count]
            if len(label) != count:
                raise Declined
            labels.append(label.lower())
            length += count + 1
            offset += count + 1
        elif count >= 0xC0:
            target = (count & 0x3F) << 8 | wire[offset + 1]
            if target >= limit:
                raise Declined
            after = offset + 2 if after is None else after
            limit = offset = target
        else:
            raise Declined
    if length > 255:
        raise Declined
    return tuple(labels), offset + 1 if after is None else after
