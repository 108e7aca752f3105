"""The lab's DNSSEC keys: one KSK and one ZSK per signed zone, ECDSA P-256 (algorithm 13), kept as plain
data so they can live in the lab directory (0600) and be written in BIND's key-file format for a primary
that signs online. Pure.

A key is {"zone": "cloud.test.", "role": "ksk"|"zsk", "secret": base64 of the 32-byte private scalar}.
"""

from __future__ import annotations

import base64
import time

import dns.dnssec
import dns.name
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = dns.dnssec.Algorithm.ECDSAP256SHA256
FLAGS = {"ksk": 257, "zsk": 256}  # ZONE, plus SEP for the key-signing key


def generate(zone: str, role: str) -> dict:
    scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return {"zone": zone, "role": role, "secret": base64.b64encode(scalar.to_bytes(32, "big")).decode()}


def private_key(key: dict) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(base64.b64decode(key["secret"]), "big"), ec.SECP256R1())


def dnskey(key: dict):
    """The DNSKEY rdata of a key."""
    return dns.dnssec.make_dnskey(private_key(key).public_key(), ALGORITHM, flags=FLAGS[key["role"]])


def tag(key: dict) -> int:
    return dns.dnssec.key_id(dnskey(key))


def ds_text(key: dict) -> str:
    """The DS rdata (SHA-256) a parent publishes for this key."""
    return dns.dnssec.make_ds(dns.name.from_text(key["zone"]), dnskey(key), "SHA256").to_text()


def bind_files(key: dict, created: float | None = None) -> dict[str, str]:
    """K<zone>+013+<tag>.key and .private, as dnssec-keygen writes them: BIND's dnssec-policy adopts
    keys it finds in its key-directory when they match the policy."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(created if created is not None else time.time()))
    base = f"K{key['zone']}+{ALGORITHM.value:03d}+{tag(key):05d}"
    public = f"{key['zone']} IN DNSKEY {dnskey(key).to_text()}\n"
    private = (f"Private-key-format: v1.3\nAlgorithm: {ALGORITHM.value} (ECDSAP256SHA256)\n"
               f"PrivateKey: {key['secret']}\nCreated: {stamp}\nPublish: {stamp}\nActivate: {stamp}\n")
    return {f"{base}.key": public, f"{base}.private": private}
