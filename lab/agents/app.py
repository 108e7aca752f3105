"""An application: resolve a name, make a request to the address, over and over; one JSON line per attempt.

    python3 -m lab.agents.app '{"app": "app-jvm", "model": "jvm", "name": "dynamodb.us-east-1.cloud.test.",
        "port": 80, "path": "/", "rate": 2, "request_timeout": 1,
        "resolv_conf": {"nameservers": ["10.53.1.21"], "timeout": 1, "attempts": 2},
        "cache": {"positive": 30, "negative": 10}, "retry": {"policy": "backoff", "max": 3}}'

Models (lab.agents.lookup, docs/apps.md): `glibc`, `nscd`, `dnsmasq` (real daemons the agent starts as its
children, lab.agents.localcache), `jvm`, `stale-on-error`. The agent first writes /etc/resolv.conf from
`resolv_conf` (for `dnsmasq` it points at the local dnsmasq, which forwards to those nameservers); set
`write_resolv_conf` to null when the orchestrator has put the file in place itself.

`workers` users (default 1) each start a request every workers/rate seconds (closed loop: a user whose
lookup hangs sends nothing meanwhile). A failed attempt is retried by `retry` (lab.agents.retry) before the
user's next request. Every attempt is one line on stdout:

    {"kind": "attempt", "t", "app", "model", "name", "cycle", "retry", "addresses", "address",
     "resolution": ok|nxdomain|nodata|servfail|timeout|error, "source": system|cache|negative-cache|stale,
     "underlying", "request": ok|rejected|refused|timeout|error|no-address, "status", "instance",
     "resolve_s", "request_s", "latency_s", "detail"}

and a last line {"kind": "summary", "app", "attempts"} at the end (after `max_seconds` or SIGTERM).
Address families: `family` any|ipv4|ipv6 picks what getaddrinfo asks for, `prefer` ipv4|ipv6 reorders the
answer; "race" (Happy Eyeballs, RFC 8305) is the hook a dual-stack lab will fill — refused until then.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import threading
import time

from lab.agents import http, localcache, lookup, retry

PREFERENCES = (None, "ipv4", "ipv6")


class App:
    def __init__(self, spec: dict, out=sys.stdout, resolver=None):
        self.app = spec["app"]
        self.model = spec["model"]
        self.name = spec["name"]
        self.port = int(spec.get("port", 80))
        self.path = spec.get("path", "/")
        self.workers = int(spec.get("workers", 1))
        self.interval = self.workers / float(spec.get("rate", 1))
        self.request_timeout = float(spec.get("request_timeout", 2))
        self.pick = spec.get("pick", "first")
        self.prefer = spec.get("prefer")
        if self.prefer == "race":
            raise ValueError("prefer: race (Happy Eyeballs) is not implemented yet: use ipv4, ipv6 or leave it out")
        if self.prefer not in PREFERENCES or self.pick not in ("first", "random"):
            raise ValueError(f"prefer must be ipv4 or ipv6 and pick first or random, "
                             f"got {self.prefer!r}, {self.pick!r}")
        self.retry = retry.validate(spec.get("retry", {}))
        self.max_seconds = float(spec.get("max_seconds", 3600))
        self.resolver = resolver if resolver is not None else lookup.build(self.model, spec)
        self.rng = random.Random(spec.get("seed"))
        self.out = out
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.attempts = 0
        self.cycles = 0

    def run(self) -> None:
        started = time.monotonic()
        threads = [threading.Thread(target=self._user, args=(started, index), daemon=True)
                   for index in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._emit({"kind": "summary", "app": self.app, "attempts": self.attempts, "cycles": self.cycles})

    def _user(self, started: float, index: int) -> None:
        next_start = started + index * self.interval / self.workers  # users spread over one interval
        while not self.stopping.is_set():
            now = time.monotonic()
            if now - started >= self.max_seconds:
                return
            if now < next_start:
                self.stopping.wait(next_start - now)
                continue
            self.cycle()
            next_start = max(next_start + self.interval, time.monotonic())  # no burst to catch up

    def cycle(self) -> list[dict]:
        """One user request: an attempt, and its retries while they fail; the attempts' lines."""
        with self.lock:
            self.cycles += 1
            cycle = self.cycles
        lines = []
        waits = [None] + retry.delays(self.retry, self.rng)
        for number, wait in enumerate(waits):
            if wait:
                if self.stopping.wait(wait):
                    break
            line = self.attempt(cycle, number)
            lines.append(line)
            if line["request"] == "ok":
                break
        return lines

    def attempt(self, cycle: int, number: int) -> dict:
        t = time.time()
        began = time.monotonic()
        answer = self.resolver.resolve(self.name)
        line = {"kind": "attempt", "t": round(t, 6), "app": self.app, "model": self.model, "name": self.name,
                "cycle": cycle, "retry": number, "addresses": list(answer.addresses), "address": None,
                "resolution": answer.outcome, "source": answer.source, "underlying": answer.underlying,
                "request": "no-address", "status": None, "instance": None, "resolve_s": answer.seconds,
                "request_s": None, "latency_s": None, "detail": answer.detail}
        address = self.choose(answer.addresses) if answer.ok else None
        if address is not None:
            exchange = http.get(address, self.port, self.path, self.name.rstrip("."), self.request_timeout)
            line.update(address=address, request=exchange.result, status=exchange.status,
                        instance=(exchange.body or {}).get("instance"), request_s=exchange.seconds,
                        detail=exchange.detail or line["detail"])
        line["latency_s"] = round(time.monotonic() - began, 6)
        self._emit(line)
        return line

    def choose(self, addresses) -> str | None:
        """The address the application connects to: getaddrinfo's first (what most clients do), or a random one."""
        ordered = list(addresses)
        if self.prefer is not None:
            v6 = self.prefer == "ipv6"
            ordered.sort(key=lambda a: (":" in a) != v6)  # stable: keeps getaddrinfo's order within a family
        if not ordered:
            return None
        with self.lock:
            return ordered[0] if self.pick == "first" else self.rng.choice(ordered)

    def _emit(self, line: dict) -> None:
        with self.lock:
            if line["kind"] == "attempt":
                self.attempts += 1
            self.out.write(json.dumps(line) + "\n")
            self.out.flush()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    daemon = localcache.prepare(spec)
    try:
        app = App(spec)
        signal.signal(signal.SIGTERM, lambda *_: app.stopping.set())
        app.run()
    finally:
        localcache.stop(daemon)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
