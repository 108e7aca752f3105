"""A long run's records made up, as many as asked for and in file order (a timeout's line comes after the
answers to later probes, as a prober writes it): for tests and benchmarks of the wrap-up (judging and
drawing) without a lab. Deterministic for a given count and seed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

from tests.support.records import T0

RATE = 32.0  # probes a second, as the soak playbook
CLIENTS = ("client1", "client2")
RESOLVERS = ("unbound", "bind-resolver", "knot-resolver", "pdns-recursor")
NAME, GEN_NAME = "dynamodb.us-east-1.cloud.test.", "_gen.dynamodb.us-east-1.cloud.test."
FAULT_EVERY, FAULT_FOR = 120.0, 30.0  # a fault on one resolver every 2 minutes, for 30 s
TIMEOUT_LAG = 64  # lines written between a timed-out probe's send and its line


def duration(count: int) -> float:
    return count / RATE


def events(count: int) -> list[dict]:
    """run_started, a fault injected and cleared every FAULT_EVERY seconds, steps, run_finished."""
    found = [{"t": T0, "source": "runner", "event": "run_started", "playbook": "synthetic", "seed": 1, "lab": "t"}]
    end = duration(count)
    for index, start in enumerate(range(10, int(end) - int(FAULT_FOR), int(FAULT_EVERY))):
        fault = {"id": f"f{index}", "kind": ("servfail", "partition", "empty-rrset")[index % 3],
                 "target": RESOLVERS[index % len(RESOLVERS)]}
        found.append({"t": T0 + start - 0.5, "source": "runner", "event": "step_started", "index": index + 1,
                      "step": f"fault {fault['kind']}", "phase": "step"})
        found.append({"t": T0 + start, "source": "runner", "event": "fault_injected", **fault, "params": {},
                      "chosen": {}})
        found.append({"t": T0 + start + FAULT_FOR, "source": "runner", "event": "fault_cleared", **fault})
        found.append({"t": T0 + start + FAULT_FOR + 0.1, "source": "runner", "event": "step_finished",
                      "index": index + 1, "step": f"fault {fault['kind']}", "ok": True, "error": None,
                      "phase": "step"})
    found.append({"t": T0 + end + 1, "source": "runner", "event": "run_finished", "verdict": "fail"})
    return found


def probes(count: int, seed: int = 1) -> Iterator[dict]:
    """`count` probe records in the order a prober writes them."""
    rng = random.Random(seed)
    late: list[tuple[int, dict]] = []
    for number in range(count):
        while late and late[0][0] <= number:
            yield late.pop(0)[1]
        record = _probe(number, rng)
        if record["error"] == "timeout":
            late.append((number + TIMEOUT_LAG, record))
        else:
            yield record
    for _, record in late:
        yield record


def _probe(number: int, rng: random.Random) -> dict:
    t = number / RATE
    client, resolver = CLIENTS[number % 2], RESOLVERS[(number // 2) % len(RESOLVERS)]
    gen_query = number % 8 >= 6
    name, qtype = (GEN_NAME, "TXT") if gen_query else (NAME, "A" if number % 3 else "AAAA")
    generation = 1 + int(t // 45)
    if gen_query and rng.random() < 0.01:
        generation = max(1, generation - 1)  # now and then a stale plan's marker
    answers = ([f'"gen={generation}"'] if gen_query else
               ["192.0.2.10", "192.0.2.11"] if qtype == "A" else ["2001:db8::10"])
    rcode: str | None = "NOERROR"
    in_fault = t >= 10 and (t - 10) % FAULT_EVERY < FAULT_FOR
    index = int((t - 10) // FAULT_EVERY) if t >= 10 else -1
    if in_fault and resolver == RESOLVERS[index % len(RESOLVERS)]:
        rcode, answers = [("SERVFAIL", []), (None, []), ("NOERROR", [])][index % 3]
    elif rng.random() < 0.004:
        rcode, answers = "NXDOMAIN", []
    elif rng.random() < 0.002:
        rcode, answers = None, []
    if rcode == "NOERROR" and answers and rng.random() < 0.003:
        answers = ["198.51.100.66"]  # a lie
    truth = None if not answers else "unheld" if answers == ["198.51.100.66"] else \
        "stale" if rng.random() < 0.002 else "held"
    return {
        "t": round(T0 + t + rng.random() * 0.004, 6), "client": client, "resolver": resolver, "name": name,
        "type": qtype, "rcode": rcode, "answers": answers, "ttl": 5 if answers else None,
        "latency_ms": None if rcode is None else round(rng.lognormvariate(0.3, 0.8), 3),
        "error": "timeout" if rcode is None else None, "seq": number // 8, "transport": 4,
        "server": f"10.53.1.{21 + RESOLVERS.index(resolver)}", "truth": truth,
        **({"ede": [22]} if rcode == "SERVFAIL" else {}),
    }


CHECK_SPECS = [
    {"check": "never_empty"},
    {"check": "never_empty", "types": ["A"], "resolvers": ["unbound", "knot-resolver"]},
    {"check": "expect_rcode", "rcode": "SERVFAIL", "min_count": 10},
    {"check": "expect_rcode", "rcode": "TIMEOUT"},
    {"check": "expect_rcode", "rcode": "REFUSED"},
    {"check": "availability", "min": 0.99},
    {"check": "availability", "min": 0.5, "per_resolver": False, "window": [5, 200]},
    {"check": "fleet_availability", "min": 0.99},
    {"check": "fleet_availability", "min": 0.9, "min_resolvers": 4, "bucket": 2.0},
    {"check": "latency", "p50_ms": 5, "p99_ms": 20},
    {"check": "latency", "p99_ms": 1000, "clients": ["client2"]},
    {"check": "recovers_within", "seconds": 5},
    {"check": "recovers_within", "seconds": 5, "fault": "servfail", "stable": 5},
    {"check": "no_regression", "names": [GEN_NAME]},
    {"check": "no_regression", "names": [GEN_NAME], "grace": 2},
    {"check": "answers_valid"},
    {"check": "expect_answers", "answers": ["198.51.100.66"]},
    {"check": "expect_answers", "answers": ["203.0.113.9"]},
    {"check": "forbid_answers", "answers": ["198.51.100.66"]},
    {"check": "forbid_answers", "answers": ["203.0.113.9"], "names": ["nothing.test"]},
]


def write_run(run_dir: Path, count: int, seed: int = 1) -> Path:
    """A run directory with `count` probe lines and its events (no truth.jsonl: the probes carry their verdict)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "probes.jsonl", "w") as out:
        for record in probes(count, seed):
            out.write(json.dumps(record) + "\n")
    with open(run_dir / "events.jsonl", "w") as out:
        for record in events(count):
            out.write(json.dumps(record) + "\n")
    return run_dir
