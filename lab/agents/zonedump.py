"""Transfer a zone (AXFR) from a server and print its RRsets as JSON: the exact data a zone-data fault
must put back.

    python3 -m lab.agents.zonedump '{"server": "10.53.0.10", "zone": "cloud.test.", "names": null}'

prints [[name, type, ttl, [rdata text, ...]], ...] with absolute names, optionally only for `names`.
"""

from __future__ import annotations

import json
import sys

import dns.query
import dns.rdatatype
import dns.zone


def rrsets_of(zone: dns.zone.Zone, names: list[str] | None = None) -> list[list]:
    """Every RRset of a zone loaded with relativize=False, as plain JSON-able lists, sorted."""
    wanted = {n.lower().rstrip(".") + "." for n in names} if names else None
    found = []
    for name, rdataset in zone.iterate_rdatasets():
        text = name.to_text()
        if wanted is not None and text.lower() not in wanted:
            continue
        found.append([text, dns.rdatatype.to_text(rdataset.rdtype), rdataset.ttl,
                      sorted(rdata.to_text() for rdata in rdataset)])
    return sorted(found)


def dump(spec: dict) -> list[list]:
    zone = dns.zone.from_xfr(dns.query.xfr(spec["server"], spec["zone"], relativize=False,
                                           timeout=float(spec.get("timeout", 5)), lifetime=15),
                             relativize=False)
    return rrsets_of(zone, spec.get("names"))


if __name__ == "__main__":
    print(json.dumps(dump(json.loads(sys.argv[1]))))
