"""The prober (lab.agents.prober) against a tiny DNS responder on loopback: one line per query, also when
answers are lost, and a clean stop when told (its stdin ends)."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time

import dns.message
import dns.rrset

from lab.agents.prober import Prober


def responder(drop_every: int = 0, delay: float = 0.0):
    """A UDP server on 127.0.0.1 answering A 192.0.2.1 (TTL 5); drops every `drop_every`-th query."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve():
        count = 0
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(65535)
            except socket.timeout:
                continue
            count += 1
            if drop_every and count % drop_every == 0:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            response.answer.append(dns.rrset.from_text(query.question[0].name, 5, "IN", "A", "192.0.2.1"))
            time.sleep(delay)
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock.getsockname()[1], lambda: (stop.set(), thread.join(), sock.close())


def run_prober(port, sends: int, timeout=0.3, rate=20) -> tuple[list[dict], int]:
    """Run a prober until it has sent `sends` queries, then stop it; (every line, queries sent by then).

    Stopped by a count, not a time: on a loaded machine a second may hold any number of rounds, and the
    assertions below must not depend on how fast this machine is today."""
    stopping = threading.Event()
    out = io.StringIO()
    spec = {"client": "client1", "rate": rate, "timeout": timeout,
            "targets": [{"resolver": "a", "server": "127.0.0.1", "port": port},
                        {"resolver": "b", "server": "127.0.0.1", "port": port}],
            "queries": [["x.test.", "A"], ["y.test.", "A"]]}
    prober = Prober(spec, out, stopping)
    thread = threading.Thread(target=prober.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while prober.sent < sends and time.monotonic() < deadline:
        time.sleep(0.005)
    sent_at_stop = prober.sent
    stopping.set()
    thread.join(60)
    assert not thread.is_alive(), "the prober did not stop"
    return [json.loads(line) for line in out.getvalue().splitlines()], sent_at_stop


def test_every_query_gets_exactly_one_line_and_a_summary_closes_the_output(tmp_path):
    port, stop = responder(drop_every=3)
    try:
        lines, sent_at_stop = run_prober(port, sends=40)
    finally:
        stop()
    *probes, summary = lines
    assert summary["summary"]["sent"] == len(probes) == summary["summary"]["printed"]
    assert sorted(p["seq"] for p in probes) == list(range(1, len(probes) + 1))
    # It stops sending at once: at most the round in progress (one query per target) after the stop.
    assert sent_at_stop >= 40 and len(probes) <= sent_at_stop + 2
    timeouts = [p for p in probes if p["error"] == "timeout"]
    answered = [p for p in probes if p["rcode"] == "NOERROR"]
    assert timeouts and answered and len(timeouts) + len(answered) == len(probes)
    assert all(p["answers"] == ["192.0.2.1"] and p["ttl"] == 5 and p["latency_ms"] > 0 for p in answered)
    assert all(p["latency_ms"] is None and p["rcode"] is None for p in timeouts)
    assert {p["resolver"] for p in probes} == {"a", "b"} and {p["name"] for p in probes} == {"x.test.", "y.test."}


def test_a_slow_answer_does_not_hold_up_the_next_rounds(tmp_path):
    port, stop = responder(delay=0.25)  # the responder answers one query at a time, each 250 ms late
    try:
        lines, _ = run_prober(port, sends=16, timeout=10.0, rate=10)
    finally:
        stop()
    *probes, summary = lines
    assert summary["summary"]["sent"] == len(probes) >= 16
    # Answers come back one per 250 ms at best, rounds of two queries start every 100 ms: a prober that
    # waited for a round's answers before the next round could never start one while the previous round's
    # last query was unanswered. This one does, for most rounds, however slow the machine: nothing here
    # compares against the clock, only the order of sends and answers.
    by_seq = sorted(probes, key=lambda p: p["seq"])
    rounds = [(by_seq[i - 1], by_seq[i]) for i in range(2, len(by_seq), 2)]  # (last of a round, first of next)
    overlapping = sum(1 for last, first in rounds if first["t"] < last["t"] + last["latency_ms"] / 1000)
    assert overlapping >= len(rounds) // 2, [(p["seq"], p["t"], p["latency_ms"]) for p in by_seq]


def test_the_end_of_stdin_stops_the_prober():
    """What the engine does when the orchestrator closes the exec's stdin, or dies: the prober stops."""
    spec = {"client": "c", "rate": 5, "timeout": 0.2, "stdin": True,
            "targets": [{"resolver": "a", "server": "127.0.0.1", "port": 9}], "queries": [["x.test.", "A"]]}
    done = subprocess.run([sys.executable, "-m", "lab.agents.prober", json.dumps(spec)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=20)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0 and lines[-1]["summary"]["sent"] == len(lines) - 1 <= 1


def test_a_held_prober_sends_nothing_until_its_first_line_and_stops_at_the_end_of_stdin():
    """How a run starts its probers while its setup waits: nothing is sent before `go`; without one, nothing."""
    port, stop = responder()
    try:
        spec = {"client": "c", "rate": 20, "timeout": 0.5, "stdin": True, "hold": True,
                "targets": [{"resolver": "a", "server": "127.0.0.1", "port": port}], "queries": [["x.test.", "A"]]}
        held = subprocess.Popen([sys.executable, "-m", "lab.agents.prober", json.dumps(spec)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        went = time.time()
        held.stdin.write("go\n")
        held.stdin.flush()
        time.sleep(0.3)
        held.stdin.close()
        lines = [json.loads(line) for line in held.stdout.read().splitlines()]
        assert held.wait(10) == 0
        probes = lines[:-1]
        assert probes and all(p["t"] >= went for p in probes), "nothing sent before go"
        assert lines[-1]["summary"]["sent"] == len(probes)
        never = subprocess.run([sys.executable, "-m", "lab.agents.prober", json.dumps(spec)],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
        assert [json.loads(line) for line in never.stdout.splitlines()] == [
            {"summary": {"client": "c", "sent": 0, "printed": 0}}]
    finally:
        stop()
