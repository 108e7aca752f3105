"""Probe and event records as the runner writes them (docs/records.md), for tests of checks, conditions,
reports and the matrix: one factory each, so a new record field is added in one place."""

from __future__ import annotations

T0 = 1_700_000_000.0  # when every synthetic run starts
NAME = "dynamodb.us-east-1.cloud.test."
ADDRESS = "192.0.2.1"


def probe(t: float = 0.0, resolver: str = "unbound", rcode: str | None = "NOERROR", answers: list[str] | None = None,
          **fields) -> dict:
    """A probe `t` seconds into the run, from client1 for NAME A. A NOERROR answer is ADDRESS unless
    `answers` says otherwise; rcode None is a timeout. Any other field as a keyword (client, name, seq, ...)."""
    if answers is None:
        answers = [ADDRESS] if rcode == "NOERROR" else []
    return {
        "t": T0 + t, "client": "client1", "resolver": resolver, "name": NAME, "type": "A", "rcode": rcode,
        "answers": list(answers), "ttl": 30 if answers else None, "latency_ms": None if rcode is None else 2.5,
        "error": "timeout" if rcode is None else None, "seq": round(t * 20),
    } | fields


def event(t: float, name: str, source: str = "runner", **fields) -> dict:
    """An event `t` seconds into the run."""
    return {"t": T0 + t, "source": source, "event": name, **fields}


def fault(name: str, t: float, fault_id: str | None = "f1", kind: str = "partition", target: str = "auth1") -> dict:
    """A fault_injected / fault_cleared event of the runner `t` seconds into the run."""
    return event(t, name, id=fault_id, kind=kind, target=target)
