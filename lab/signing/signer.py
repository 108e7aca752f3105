"""The offline signer: a zone file in, the same zone signed (DNSKEY, RRSIG, NSEC) out. Pure.

Static zones (the lab root, test., any zone without a primary) are signed by the orchestrator when the lab
is rendered and again by the DNSSEC faults, which sign *wrongly* on purpose: with a validity already past,
with a rolled key, with a denial for a name that exists. A zone with a BIND primary is signed online by
BIND itself (dnssec-policy) and never passes through here.
"""

from __future__ import annotations

import base64
import functools

import dns.dnssec
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

from lab.signing import keys as K

# Records the signer makes: taking them out of a signed zone gives back the data that was signed.
SIGNER_TYPES = (dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.NSEC3PARAM,
                dns.rdatatype.DNSKEY)
# Signatures start this long before "now": clocks of the lab's containers are the host's, but a resolver
# must never see a signature that is not valid yet because its inception rounds up.
INCEPTION_SLACK = 3600


def _zone(text: str, origin: str) -> dns.zone.Zone:
    return dns.zone.from_text(text, origin, relativize=False, check_origin=False)


@functools.lru_cache(maxsize=16)  # faults re-sign the same rendered original again and again
def unsigned(text: str, origin: str) -> str:
    """The zone without what a signer adds (DNSKEY, RRSIG, NSEC/NSEC3)."""
    zone = _zone(text, origin)
    with zone.writer() as txn:
        for name, rdataset in list(txn.iterate_rdatasets()):
            if rdataset.rdtype in SIGNER_TYPES:
                txn.delete(name, rdataset.rdtype, rdataset.covers)
    return zone.to_text(relativize=False)


def sign(text: str, origin: str, zone_keys: list[dict], inception: float, expiration: float,
         dnskey_ttl: int | None = None) -> str:
    """`text` (unsigned, or signed before: old signatures go) signed with `zone_keys`: every key is published,
    KSKs sign the DNSKEY RRset, ZSKs the rest. `dnskey_ttl`: default, that of the DNSKEY RRset `text` holds,
    else the SOA's."""
    if dnskey_ttl is None:  # re-signing keeps the DNSKEY TTL the zone was first signed with
        dnskey_ttl = _dnskey_ttl(text, origin)
    zone = _zone(unsigned(text, origin), origin)
    pairs = [(K.private_key(k), K.dnskey(k)) for k in zone_keys]
    dns.dnssec.sign_zone(zone, keys=pairs, dnskey_ttl=dnskey_ttl, inception=inception, expiration=expiration)
    return zone.to_text(relativize=False)


@functools.lru_cache(maxsize=16)
def _dnskey_ttl(text: str, origin: str) -> int | None:
    published = _zone(text, origin).get_rdataset(origin, dns.rdatatype.DNSKEY)
    return published.ttl if published is not None else None


def corrupt(text: str, origin: str, names: list[str] | None) -> tuple[str, list[str]]:
    """Flip a bit in the signature of every RRSIG owned by `names` (None: every name below the apex), as a
    broken signer would publish them. Returns the zone and the names whose signatures were corrupted."""
    zone = _zone(text, origin)
    wanted = None if names is None else {dns.name.from_text(n) for n in names}
    touched = []
    with zone.writer() as txn:
        for name, rdataset in list(txn.iterate_rdatasets()):
            if rdataset.rdtype != dns.rdatatype.RRSIG or rdataset.covers in (dns.rdatatype.NSEC,):
                continue
            if (wanted is None and name == zone.origin) or (wanted is not None and name not in wanted):
                continue
            bad = [rr.replace(signature=bytes([rr.signature[0] ^ 0x01]) + rr.signature[1:]) for rr in rdataset]
            txn.delete(name, dns.rdatatype.RRSIG, rdataset.covers)
            for rr in bad:
                txn.add(name, rdataset.ttl, rr)
            touched.append(name.to_text())
    return zone.to_text(relativize=False), sorted(set(touched))


def verify(text: str, origin: str, now: float | None = None) -> list[str]:
    """Owner names whose RRsets do not validate against the zone's own DNSKEY RRset (what a signer that
    checks its output before publishing catches). Delegations and glue carry no signatures and are skipped."""
    zone = _zone(text, origin)
    apex = zone.origin
    dnskey = zone.get_rrset(apex, dns.rdatatype.DNSKEY)
    bad = set()
    for name, node in zone.items():
        for rdataset in node:
            if rdataset.rdtype == dns.rdatatype.RRSIG:
                continue
            sigs = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.RRSIG, rdataset.rdtype)
            if sigs is None:
                continue  # unsigned: delegation NS, glue
            try:
                dns.dnssec.validate((name, rdataset), (name, sigs), {apex: dnskey} if dnskey else {}, now=now)
            except dns.dnssec.ValidationFailure:
                bad.add(name.to_text())
    return sorted(bad)


def expirations(text: str, origin: str) -> list[int]:
    """Expiration times (Unix seconds) of every RRSIG in the zone."""
    zone = _zone(text, origin)
    return [rr.expiration for _, _, rr in zone.iterate_rdatas() if rr.rdtype == dns.rdatatype.RRSIG]


def without(text: str, origin: str, name: str, rdtype: str | None = None) -> str:
    """The zone without one RRset (or every RRset of `name`)."""
    zone = _zone(text, origin)
    node = dns.name.from_text(name)
    if rdtype is None:
        zone.delete_node(node)
    else:
        zone.delete_rdataset(node, rdtype)
        zone.delete_rdataset(node, dns.rdatatype.RRSIG, dns.rdatatype.from_text(rdtype))
    return zone.to_text(relativize=False)


def trust_anchor(root_ksk: dict) -> dict[str, str]:
    """What resolvers are told about the lab root: its KSK as DNSKEY and DS rdata text."""
    dnskey = K.dnskey(root_ksk)
    return {"dnskey": dnskey.to_text(), "ds": K.ds_text(root_ksk), "tag": str(K.tag(root_ksk)),
            "key": base64.b64encode(dnskey.key).decode()}
