"""Send one RFC 2136 update (TSIG-signed unless told otherwise) and print its outcome as JSON.

    python3 -m lab.agents.update '{"server": "10.53.0.10", "zone": "cloud.test.", "key": "/lab/node/tsig.json",
        "prereq": [["rrset_value", "x", "TXT", ["gen=6"]]],
        "ops": [["replace", "x", 5, "A", ["192.0.2.1"]], ["delete", "y"], ["delete", "z", "A"]]}'

`key` null sends it unsigned (the primary must refuse it). `key` is a path to the key file (read here,
inside the container) or the key itself ({"name", "algorithm", "secret"}: the orchestrator sends it to the
primary's kept helper over that helper's stdin, lab.zoneupdate) — never on a command line or in a log.
"""

from __future__ import annotations

import json
import sys
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdataset
import dns.tsig
import dns.tsigkeyring
import dns.update

ALGORITHMS = {"hmac-sha256": dns.tsig.HMAC_SHA256, "hmac-sha512": dns.tsig.HMAC_SHA512}


def build(spec: dict) -> dns.update.UpdateMessage:
    keyring = algorithm = None
    if spec.get("key"):
        key = spec["key"]
        if isinstance(key, str):
            with open(key) as f:
                key = json.load(f)
        keyring = dns.tsigkeyring.from_text({key["name"]: key["secret"]})
        algorithm = ALGORITHMS[key["algorithm"]]
    update = dns.update.UpdateMessage(spec["zone"], keyring=keyring, keyalgorithm=algorithm)
    for prereq in spec.get("prereq", []):
        kind, name, *rest = prereq
        if kind == "rrset_value":  # the RRset exists with exactly these values (compare-and-set)
            rdtype, values = rest
            update.present(name, dns.rdataset.from_text("IN", rdtype, 0, *values))
        elif kind == "rrset_exists":
            update.present(name, rest[0])
        elif kind == "rrset_absent":
            update.absent(name, rest[0])
        elif kind == "name_absent":
            update.absent(name)
        else:
            raise ValueError(f"unknown prerequisite {kind!r}")
    for op in spec.get("ops", []):
        kind, name, *rest = op
        if kind == "replace":
            ttl, rdtype, values = rest
            update.replace(name, ttl, rdtype, *values)
        elif kind == "add":
            ttl, rdtype, values = rest
            update.add(name, ttl, rdtype, *values)
        elif kind == "delete":
            update.delete(name, *rest)
        else:
            raise ValueError(f"unknown update operation {kind!r}")
    return update


def send(spec: dict) -> dict:
    start = time.time()
    result = {"t": start, "rcode": None, "error": None, "latency_ms": None}
    try:
        response = dns.query.tcp(build(spec), spec["server"], timeout=float(spec.get("timeout", 3)))
        result["rcode"] = dns.rcode.to_text(response.rcode())
        result["latency_ms"] = round((time.time() - start) * 1000, 3)
    except dns.exception.Timeout:
        result["error"] = "timeout"
    except (OSError, dns.exception.DNSException, ValueError, KeyError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


if __name__ == "__main__":
    print(json.dumps(send(json.loads(sys.argv[1]))))
