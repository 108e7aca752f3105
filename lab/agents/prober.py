"""Probe resolvers from a client container: one JSON line per query on stdout, written the moment it is known.

    python3 -m lab.agents.prober '{"client": "client1", "rate": 5, "timeout": 2,
        "targets": [{"resolver": "unbound", "server": "10.53.1.21"},
                    {"resolver": "unbound", "server": "fd00:53:a35:100::15", "transport": 6}],
        "queries": [["dynamodb.us-east-1.cloud.test.", "A"]], "stdin": true}'

Every 1/rate seconds a round starts: one query to every target, cycling through `queries`. Each query
has its own socket and deadline in one selector loop, so a slow or lost answer never holds up the next
round. A target's `transport` (4 or 6, from the server's address) is the IP version the query goes over;
every line says it. Lines follow docs/records.md (probes.jsonl). With `"dnssec": true` every query carries EDNS and the AD
bit, and each line also says whether the answer was validated (`ad`) and which Extended DNS Errors came
with it (`ede`, RFC 8914).

With `"hold": true` it sends nothing until a first line comes on stdin (a run starts its probers while its
setup waits and lets them go when it ends: their python has started by then). With `"stdin": true` it stops
sending when its stdin ends: the orchestrator closes it to stop the prober,
and the engine closes it when the orchestrator dies (so no prober outlives its run); in any case after
`max_seconds`. Then it waits for the queries in flight to be answered or time out, prints their lines and a
last line `{"summary": {"client": ..., "sent": N, "printed": N}}`, and exits.
Every query sent thus gets exactly one line. Runs with the image's python3 and dnspython 2.3 only.
"""

from __future__ import annotations

import json
import random
import selectors
import socket
import sys
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from lab.agents import wire as fastwire
from lab.agents.ask import _text as rdata_text  # one way to turn rdata into the text probes record
from lab.agents.ask import ede_codes

MAX_WAIT = 0.05  # longest the loop sleeps: how late a round may start or a stop be seen


class Prober:
    def __init__(self, spec: dict, out=sys.stdout, stop: threading.Event | None = None):
        self.client = spec["client"]
        self.interval = 1.0 / float(spec["rate"])
        self.timeout = float(spec.get("timeout", 2.0))
        self.targets = spec["targets"]
        self.queries = [tuple(q) for q in spec["queries"]]
        # Each question is built once; a query is its wire form under a fresh id. A questions also get the
        # fast path's view of themselves (lab.agents.wire).
        self.dnssec = bool(spec.get("dnssec"))
        self.wires = {q: _query(*q, dnssec=self.dnssec).to_wire() for q in self.queries}
        self.asked = {q: fastwire.question(w) if q[1].upper() == "A" else None for q, w in self.wires.items()}
        self.stop = stop or threading.Event()  # set: send no more, drain and say the summary
        self.max_seconds = float(spec.get("max_seconds", 3600))
        self.out = out
        self.selector = selectors.DefaultSelector()
        self.in_flight: dict[socket.socket, dict] = {}
        self.sent = self.printed = 0
        self.seq = 0
        self.round = 0

    def run(self) -> None:
        started = time.monotonic()
        next_round = started
        while self._may_send(started):
            now = time.monotonic()
            if now >= next_round:
                self._send_round()
                # A starved loop does not burst to catch up: it keeps the rate, not the missed rounds.
                next_round = max(next_round + self.interval, now)
            self._poll(min(MAX_WAIT, max(0.0, next_round - time.monotonic())))
        while self.in_flight:  # drain: every query sent gets its line
            self._poll(MAX_WAIT)
        self._emit({"summary": {"client": self.client, "sent": self.sent, "printed": self.printed}})

    def _may_send(self, started: float) -> bool:
        return not self.stop.is_set() and time.monotonic() - started <= self.max_seconds

    def _send_round(self) -> None:
        name, qtype = self.queries[self.round % len(self.queries)]
        self.round += 1
        for target in self.targets:
            self._send(target, name, qtype)

    def _send(self, target: dict, name: str, qtype: str) -> None:
        self.seq += 1
        query_id = random.getrandbits(16)
        query = query_id.to_bytes(2, "big") + self.wires[(name, qtype)][2:]
        family = socket.AF_INET6 if ":" in target["server"] else socket.AF_INET
        record = {"t": time.time(), "client": self.client, "resolver": target["resolver"], "name": name,
                  "type": qtype, "rcode": None, "answers": [], "ttl": None, "latency_ms": None, "error": None,
                  "seq": self.seq, "transport": 6 if family == socket.AF_INET6 else 4}
        if self.dnssec:
            record.update(ad=None, ede=None)  # known once an answer comes
        self.sent += 1
        sock = None
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.sendto(query, (target["server"], int(target.get("port", 53))))
        except OSError as exc:
            if sock is not None:
                sock.close()
            record["error"] = f"send failed: {exc.strerror or exc}"
            self._emit(record)
            return
        self.in_flight[sock] = {"record": record, "query": query, "id": query_id, "asked": self.asked[(name, qtype)],
                                "deadline": time.monotonic() + self.timeout,
                                "sent": time.monotonic(), "server": target["server"]}
        self.selector.register(sock, selectors.EVENT_READ)

    def _poll(self, wait: float) -> None:
        if self.in_flight:
            for key, _ in self.selector.select(wait):
                self._receive(key.fileobj)
        elif wait > 0:
            time.sleep(wait)
        now = time.monotonic()
        for sock, pending in list(self.in_flight.items()):
            if now >= pending["deadline"]:
                pending["record"]["error"] = "timeout"
                self._finish(sock)

    def _receive(self, sock: socket.socket) -> None:
        pending = self.in_flight.get(sock)
        if pending is None:
            return
        try:
            wire, source = sock.recvfrom(65535)
        except BlockingIOError:
            return
        except OSError as exc:  # e.g. ICMP port unreachable reported on the socket
            pending["record"]["error"] = f"receive failed: {exc.strerror or exc}"
            self._finish(sock)
            return
        if source[0] != pending["server"]:
            return  # not from the resolver we asked: keep waiting for the real answer
        record = pending["record"]
        answer = read(wire, pending["query"], record["type"], pending["id"], pending["asked"])
        if answer is None:
            return  # a stray or spoofed datagram with another id: the real answer may still come
        if isinstance(answer, str):
            record["error"] = answer
        else:
            if self.dnssec:
                record.update(dnssec_fields(wire))
            record["latency_ms"] = round((time.monotonic() - pending["sent"]) * 1000, 3)
            record["rcode"], record["answers"], record["ttl"], truncated = answer
            if truncated:  # a stub would retry over TCP; say so rather than look empty
                record["error"] = "truncated"
        self._finish(sock)

    def _finish(self, sock: socket.socket) -> None:
        pending = self.in_flight.pop(sock)
        self.selector.unregister(sock)
        sock.close()
        self._emit(pending["record"])

    def _emit(self, line: dict) -> None:
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()
        if "summary" not in line:
            self.printed += 1


def _query(name: str, qtype: str, dnssec: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, qtype)
    if dnssec:  # EDNS (without it no EDE can come back) and AD: "tell me whether you validated" (RFC 6840)
        query.use_edns(0, 0, 1232)
        query.flags |= dns.flags.AD
    return query


def dnssec_fields(wire: bytes) -> dict:
    """`ad` and `ede` of an answer (read already: it parses)."""
    try:
        response = dns.message.from_wire(wire)
    except Exception:  # noqa: BLE001 - read() has reported the answer as bad already
        return {"ad": None, "ede": []}
    return {"ad": bool(response.flags & dns.flags.AD), "ede": ede_codes(response)}


def read(wire: bytes, query: bytes, qtype: str, query_id: int, asked: bytes | None):
    """What an answer to `query` says: (rcode, answers of qtype, their TTL, truncated); an error text when
    it cannot be read; None when it is not an answer to this query. The fast path first, then dnspython."""
    if asked is not None:
        fast = fastwire.decode(wire, query_id, asked)
        if fast is not None:
            return fast
    try:
        response = dns.message.from_wire(wire)
    except Exception as exc:  # noqa: BLE001 - a malformed answer is an observation
        return f"bad answer: {type(exc).__name__}"
    if not dns.message.from_wire(query).is_response(response):
        return None
    wanted, answers, ttl = dns.rdatatype.from_text(qtype), [], None
    for rrset in response.answer:
        if rrset.rdtype == wanted:
            answers += [rdata_text(rdata) for rdata in rrset]
            ttl = rrset.ttl
    return dns.rcode.to_text(response.rcode()), answers, ttl, bool(response.flags & 0x0200)


def stop_at_end_of(stream, stop: threading.Event) -> None:
    """Set `stop` when the stream ends (a daemon thread reads it: the prober's loop never blocks on it)."""
    def read() -> None:
        while stream.readline():
            pass
        stop.set()
    threading.Thread(target=read, name="stdin", daemon=True).start()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    stop = threading.Event()
    if spec.get("hold") and not sys.stdin.readline():  # started ahead: a first line says go, its end stop
        stop.set()
    if spec.get("stdin"):
        stop_at_end_of(sys.stdin, stop)
    Prober(spec, stop=stop).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
