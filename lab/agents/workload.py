"""A lease manager against the endpoint service: the cascade that outlasts a DNS outage (docs/apps.md).

    python3 -m lab.agents.workload '{"workload": "dwfm", "name": "dynamodb.us-east-1.cloud.test.", "port": 80,
        "leases": 100, "renew_every": 1, "ttl": 3, "request_timeout": 0.5,
        "throttle": null, "jitter": false, "retry_delay": 0.1, "backoff": {"base": 0.1, "cap": 2},
        "model": "glibc", "resolv_conf": {"nameservers": ["10.53.1.21"], "timeout": 1, "attempts": 1}}'

It keeps `leases` leases alive (lab.agents.leases) with requests `GET /renew/ID` and `GET /establish/ID` to
an address of `name` (a random one per request, as a client-side balancer would), each with its own
`request_timeout`. The name is resolved every `resolve_every` seconds by the app model `model`
(lab.agents.lookup); while resolution fails there is no address and every request fails at once.

Against a service whose capacity cannot serve all expired leases within the timeout, unthrottled
re-establishment (`throttle` null, `jitter` false) keeps the service's queue full of requests whose clients
have already given up: after DNS is healthy again goodput stays near zero — a metastable failure (Bronson et
al., HotOS 2021). `throttle` ({"max_concurrent": N} and/or {"rate": R, "burst": B}) with `jitter` true
recovers in bounded time.

Every `report_every` seconds one line: {"kind": "leases", "t", "workload", "leases": {state: count}, "ok",
"goodput" (successful requests per second), "sent", "timeouts", "rejected", "errors", "no_address",
"in_flight", "addresses"}; a last line {"kind": "summary", ...} after `max_seconds` or SIGTERM.
"""

from __future__ import annotations

import json
import random
import selectors
import signal
import sys
import threading
import time

from lab.agents import http, localcache, lookup
from lab.agents.leases import Admission, Leases

TICK = 0.02  # longest the loop sleeps: how late a due request may start


class Workload:
    def __init__(self, spec: dict, out=sys.stdout, resolver=None):
        self.workload = spec["workload"]
        self.name = spec["name"]
        self.port = int(spec.get("port", 80))
        self.timeout = float(spec.get("request_timeout", 0.5))
        self.resolve_every = float(spec.get("resolve_every", 1.0))
        self.report_every = float(spec.get("report_every", 1.0))
        self.max_seconds = float(spec.get("max_seconds", 3600))
        self.rng = random.Random(spec.get("seed"))
        backoff = spec.get("backoff", {})
        now = time.monotonic()
        self.leases = Leases(
            int(spec.get("leases", 100)), float(spec.get("renew_every", 1.0)), float(spec.get("ttl", 3.0)), now,
            self.rng, Admission.from_spec(spec.get("throttle"), now), bool(spec.get("jitter", False)),
            float(spec.get("retry_delay", 0.1)), float(backoff.get("base", 0.1)), float(backoff.get("cap", 2.0)))
        self.resolver = resolver if resolver is not None else lookup.build(spec.get("model", "glibc"), spec)
        self.addresses: tuple[str, ...] = ()
        self.out = out
        self.stopping = threading.Event()
        self.in_flight: dict[http.Exchange, tuple[int, str]] = {}
        self.selector = selectors.DefaultSelector()
        self.window = self._fresh_window()
        self.totals = self._fresh_window()

    def run(self) -> None:
        self._resolve()  # the first requests already have an address, as in a system that was running
        started = time.monotonic()
        threading.Thread(target=self._resolve_forever, daemon=True).start()
        next_report = started + self.report_every
        window_start = started
        while not self.stopping.is_set() and time.monotonic() - started < self.max_seconds:
            now = time.monotonic()
            for lease_id, kind in self.leases.due(now):
                self._send(lease_id, kind, now)
            self._poll()
            now = time.monotonic()
            if now >= next_report:
                self._report(now - window_start)
                window_start, next_report = now, next_report + self.report_every
        for exchange in list(self.in_flight):  # abandoned at the end, as a stopped client would
            exchange.close()
        self._emit({"kind": "summary", **{k: v for k, v in self.totals.items()}})

    def _resolve_forever(self) -> None:
        while not self.stopping.wait(self.resolve_every):
            self._resolve()

    def _resolve(self) -> None:
        answer = self.resolver.resolve(self.name)
        self.addresses = answer.addresses if answer.ok else ()

    def _send(self, lease_id: int, kind: str, now: float) -> None:
        addresses = self.addresses
        self._count("sent")
        if not addresses:
            self._count("no_address")
            self.leases.finished(lease_id, kind, False, now)
            return
        exchange = http.Exchange(self.rng.choice(addresses), self.port, f"/{kind}/{lease_id}",
                                 self.name.rstrip("."), self.timeout)
        if exchange.done:
            self._finish(exchange, lease_id, kind)
            return
        self.in_flight[exchange] = (lease_id, kind)
        self.selector.register(exchange.sock, exchange.events(), exchange)

    def _poll(self) -> None:
        if self.in_flight:
            for key, _ in self.selector.select(TICK):
                exchange = key.data
                before = exchange.events()
                exchange.step()
                if exchange.done:
                    self._done(exchange)
                elif exchange.events() != before:
                    self.selector.modify(exchange.sock, exchange.events(), exchange)
        else:
            self.stopping.wait(TICK)
        for exchange in [e for e in self.in_flight if not e.done]:
            exchange.expire()
            if exchange.done:
                self._done(exchange)

    def _done(self, exchange: http.Exchange) -> None:
        lease_id, kind = self.in_flight.pop(exchange)
        self.selector.unregister(exchange.sock)
        self._finish(exchange, lease_id, kind)

    def _finish(self, exchange: http.Exchange, lease_id: int, kind: str) -> None:
        ok = exchange.result == "ok"
        self._count({"ok": "ok", "timeout": "timeouts", "rejected": "rejected"}.get(exchange.result, "errors"))
        self.leases.finished(lease_id, kind, ok, time.monotonic())

    def _count(self, key: str) -> None:
        self.window[key] += 1
        self.totals[key] += 1

    def _report(self, seconds: float) -> None:
        self._emit({"kind": "leases", "leases": self.leases.counts(), **self.window,
                    "goodput": round(self.window["ok"] / seconds, 3) if seconds > 0 else 0.0,
                    "in_flight": len(self.in_flight), "addresses": len(self.addresses)})
        self.window = self._fresh_window()

    @staticmethod
    def _fresh_window() -> dict[str, int]:
        return dict.fromkeys(("sent", "ok", "timeouts", "rejected", "errors", "no_address"), 0)

    def _emit(self, line: dict) -> None:
        self.out.write(json.dumps({"t": round(time.time(), 6), "workload": self.workload, **line}) + "\n")
        self.out.flush()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    spec.setdefault("model", "glibc")
    daemon = localcache.prepare(spec)
    try:
        workload = Workload(spec)
        signal.signal(signal.SIGTERM, lambda *_: workload.stopping.set())
        workload.run()
    finally:
        localcache.stop(daemon)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
