"""The service agent and the HTTP exchange on loopback: answers, real overload (waiting, timing out, work done
for clients that left), a full queue answered 503, and a workload keeping its leases against it."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab.agents import http
from lab.agents.lookup import Answer
from lab.agents.service import Service
from lab.agents.workload import Workload


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve():
    """Start a Service on loopback; every one started is stopped at the end."""
    started = []

    def start(**spec) -> tuple[Service, int]:
        port = free_port()
        service = Service({"service": "svc", "instance": "svc-1", "listen": ["127.0.0.1"], "port": port,
                           "stats_every": 0.2, **spec}, out=io.StringIO())
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        started.append((service, thread))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not service.sockets:
            time.sleep(0.01)
        return service, port

    yield start
    for service, thread in started:
        service.stopping.set()
        thread.join(timeout=5)


def until(condition, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the service never got there"
        time.sleep(0.01)


def test_a_request_is_answered_by_the_instance_it_reached(serve):
    _, port = serve(capacity=2, service_time=0.0)
    exchange = http.get("127.0.0.1", port, "/whoami", "svc.test", 2.0)
    assert (exchange.result, exchange.status) == ("ok", 200)
    assert exchange.body["instance"] == "svc-1" and exchange.body["path"] == "/whoami"


def test_requests_over_capacity_wait_time_out_and_are_served_all_the_same(serve):
    service, port = serve(capacity=1, service_time=0.4)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: http.get("127.0.0.1", port, "/", "svc", 1.0).result, range(6)))
    # One worker, 0.4 s a request: the first two finish within the 1 s timeout, the others wait too long.
    assert sorted(results) == ["ok", "ok", "timeout", "timeout", "timeout", "timeout"]
    until(lambda: service.stats()["served"] == 6)
    stats = service.stats()
    assert stats["served"] == 6 and stats["abandoned"] == 4 and stats["rejected"] == 0


def test_a_full_queue_is_answered_503_at_once(serve):
    service, port = serve(capacity=1, queue=1, service_time=1.0)
    with ThreadPoolExecutor(4) as pool:
        futures = []
        # In order: the first is being served, the second waits in the queue, the others find it full.
        for wanted in ({"in_flight": 1}, {"queued": 1}, {"rejected": 1}, {"rejected": 2}):
            futures.append(pool.submit(http.get, "127.0.0.1", port, "/", "svc", 3.0))
            until(lambda: all(service.stats()[key] == value for key, value in wanted.items()))
        exchanges = [f.result() for f in futures]
    assert [e.result for e in exchanges] == ["ok", "ok", "rejected", "rejected"]
    assert all(e.seconds < 0.2 for e in exchanges[2:])
    assert service.stats()["rejected"] == 2


def test_cost_by_longest_path_prefix_with_jitter(serve):
    service, _ = serve(service_time=0.01, service_times={"/lease": 0.1, "/lease/establish": 0.5}, jitter=0.2,
                       seed=4)
    assert service.cost("/other") == pytest.approx(0.01, rel=0.2)
    assert service.cost("/lease/renew/1") == pytest.approx(0.1, rel=0.2)
    costs = [service.cost("/lease/establish/1") for _ in range(100)]
    assert 0.4 <= min(costs) < max(costs) <= 0.6


def test_an_exchange_to_a_closed_port_is_refused():
    assert http.get("127.0.0.1", free_port(), "/", "svc", 1.0).result == "refused"


def test_the_service_reports_its_counters_as_json_lines(serve):
    service, port = serve(capacity=1, service_time=0.0)
    http.get("127.0.0.1", port, "/", "svc", 1.0)
    time.sleep(0.5)
    lines = [json.loads(line) for line in service.out.getvalue().splitlines()]
    assert lines[0]["kind"] == "listening" and lines[0]["port"] == port
    stats = [line for line in lines if line["kind"] == "stats"]
    assert stats and stats[-1]["served"] == 1 and stats[-1]["instance"] == "svc-1"


class FixedResolver:
    def __init__(self, answer: Answer):
        self.answer = answer

    def resolve(self, name):
        return self.answer


def test_a_workload_keeps_its_leases_alive_while_the_service_answers_and_loses_them_without_dns(serve):
    _, port = serve(capacity=2, service_time=0.001)
    out = io.StringIO()
    resolver = FixedResolver(Answer("ok", ("127.0.0.1",)))
    workload = Workload({"workload": "wl", "name": "svc.test.", "port": port, "leases": 20, "renew_every": 0.2,
                         "ttl": 0.6, "request_timeout": 0.5, "resolve_every": 0.1, "report_every": 0.25,
                         "max_seconds": 2.0, "seed": 1}, out=out, resolver=resolver)
    thread = threading.Thread(target=workload.run)
    thread.start()
    time.sleep(1.0)
    resolver.answer = Answer("timeout", ())  # DNS gone: no address, every request fails at once
    thread.join(timeout=10)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    reports = [line for line in lines if line["kind"] == "leases"]
    healthy = [r for r in reports if r["t"] < lines[0]["t"] + 0.8]
    assert healthy and all(r["leases"]["active"] == 20 for r in healthy), healthy
    assert sum(r["goodput"] for r in healthy) / len(healthy) == pytest.approx(100, rel=0.3)  # 20 leases / 0.2 s
    assert reports[-1]["leases"]["active"] == 0 and reports[-1]["no_address"] > 0
    assert lines[-1]["kind"] == "summary" and lines[-1]["ok"] > 0
