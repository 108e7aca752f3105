"""Sample what one authoritative server holds, from inside its network namespace: one JSON line per change.

    python3 -m lab.agents.truth '{"server": "sec-knot", "queries": [["api.cloud.test.", "A"]],
                                  "interval": 0.1, "timeout": 0.3, "stdin": true}'

It runs in a helper sharing the server's network namespace (lab.truthwatch) and asks 127.0.0.1 without
recursion. Why there: a dns-answer fault's redirect to dnsdist matches DNS *arriving from outside* the
namespace (lab.faults.nftrules.redirect), and network faults exempt loopback, so this sees what the server
itself holds, never a lie told in front of it. Why a helper and not an exec in the server's container: the
server's CPU share (a flood lab gives it 1 %) and its freezer (pause) are not this program's.

Every `interval` seconds it asks each query once and prints a line when what the server answers changes
(the first answer is a change): `{"t", "server", "name", "type", "rcode", "aa", "answers", "ttl", "cname",
"error"}` (docs/records.md, truth.jsonl). `ttl` of a negative answer is its SOA's negative TTL (RFC 2308).
A query that gets no answer prints `rcode` null and the error once, when that starts. After its first round
it prints `{"t", "server", "sampler": "started"}`.

With `"stdin": true` it stops when its stdin ends (the run closes it; the engine does when the orchestrator
dies), in any case after `max_seconds`. When every query fails and the namespace has no interface but
loopback left, the server's container was restarted and this helper is left in its old namespace: it says
so on stderr and exits 3 (the run starts a new one). Runs with the image's python3 and dnspython 2.3 only.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from lab.agents.ask import _text as rdata_text  # the text probes record, so answers compare as equal
from lab.agents.prober import stop_at_end_of

ORPHANED_EXIT = 3


def observe(address: str, name: str, rdtype: str, timeout: float) -> dict:
    """What the server answers for (name, type), as the fields of a truth line."""
    query = dns.message.make_query(name, rdtype)
    query.flags &= ~dns.flags.RD
    seen = {"rcode": None, "aa": False, "answers": [], "ttl": None, "cname": [], "error": None}
    try:
        response = dns.query.udp(query, address, timeout=timeout)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(query, address, timeout=timeout)
    except dns.exception.Timeout:
        return seen | {"error": "timeout"}
    except Exception as exc:  # noqa: BLE001 - refused, unreachable: an observation, never a crash
        return seen | {"error": f"{type(exc).__name__}: {exc}"}
    wanted = dns.rdatatype.from_text(rdtype)
    seen.update(rcode=dns.rcode.to_text(response.rcode()), aa=bool(response.flags & dns.flags.AA))
    for rrset in response.answer:
        if rrset.rdtype == wanted:
            seen["answers"] += [rdata_text(rdata) for rdata in rrset]
            seen["ttl"] = rrset.ttl
        elif rrset.rdtype == dns.rdatatype.CNAME:
            seen["cname"] += [rdata.to_text() for rdata in rrset]
    if not seen["answers"]:
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.SOA:  # how long resolvers may cache this negative answer
                seen["ttl"] = min(rrset.ttl, min(rdata.minimum for rdata in rrset))
    seen["answers"].sort()
    return seen


def only_loopback() -> bool:
    """True when the namespace has no interface but lo: its container is gone or was restarted."""
    try:
        with open("/proc/net/dev") as lines:
            names = [line.split(":")[0].strip() for line in lines.readlines()[2:]]
    except OSError:
        return False
    return all(name == "lo" for name in names)


def run(spec: dict, out=sys.stdout, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    server, address = spec["server"], spec.get("address", "127.0.0.1")
    interval, timeout = float(spec.get("interval", 0.1)), float(spec.get("timeout", 0.3))
    queries = [tuple(q) for q in spec["queries"]]
    deadline = time.monotonic() + float(spec.get("max_seconds", 4 * 3600))
    last: dict[tuple, tuple] = {}
    started = False
    while time.monotonic() < deadline and not stop.is_set():
        round_start = time.monotonic()
        failed = 0
        for name, rdtype in queries:
            seen = observe(address, name, rdtype, timeout)
            failed += seen["rcode"] is None
            # An error is printed when it starts, not each time its text changes.
            state = ("error",) if seen["rcode"] is None else \
                (seen["rcode"], seen["aa"], tuple(seen["answers"]), seen["ttl"], tuple(seen["cname"]))
            if last.get((name, rdtype)) != state:
                last[(name, rdtype)] = state
                emit(out, {"t": time.time(), "server": server, "name": name, "type": rdtype, **seen})
        if not started:
            started = True
            emit(out, {"t": time.time(), "server": server, "sampler": "started"})
        if failed == len(queries) and only_loopback():
            print(f"truth sampler for {server}: its namespace has only loopback left (container restarted)",
                  file=sys.stderr, flush=True)
            return ORPHANED_EXIT
        stop.wait(max(0.0, interval - (time.monotonic() - round_start)))
    return 0


def emit(out, line: dict) -> None:
    out.write(json.dumps(line) + "\n")
    out.flush()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    stop = threading.Event()
    if spec.get("stdin"):
        stop_at_end_of(sys.stdin, stop)
    return run(spec, stop=stop)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
