"""A service instance at an endpoint address, with a capacity so that overload is real (docs/apps.md).

    python3 -m lab.agents.service '{"service": "dynamodb", "instance": "dynamodb-1",
        "listen": ["0.0.0.0", "::"], "port": 80, "capacity": 4, "queue": null,
        "service_time": 0.02, "jitter": 0.2, "service_times": {"/establish": 0.05}, "stats_every": 1}'

Protocol: HTTP/1.0. Any `GET PATH` is answered `200` with one JSON line saying which instance answered
({"service", "instance", "path", "served", "waited_s"}), so `curl http://ADDRESS/` works by hand. The
connection closes after the answer.

Capacity: `capacity` workers each serve one request at a time, taking `service_time` seconds (per path prefix
from `service_times`, the longest prefix wins) times a factor uniform in [1 - jitter, 1 + jitter]. Connections
beyond them wait in a FIFO queue of at most `queue` (null: unbounded); a connection that finds the queue full
is answered 503 at once. A request whose client gave up while it waited is still served — a server does not
know — and counted as `abandoned`: that wasted work is what keeps an overloaded service overloaded.

Output, one JSON line each on stdout: {"kind": "listening", ...} once, then every `stats_every` seconds
{"kind": "stats", "t", "service", "instance", "accepted", "served", "abandoned", "rejected", "errors",
"in_flight", "queued"} (counters since start, like a server's own), and a last stats line at exit. Stops
after `max_seconds` (default an hour) or on SIGTERM.
"""

from __future__ import annotations

import json
import queue
import random
import selectors
import signal
import socket
import sys
import threading
import time

READ_TIMEOUT = 2.0  # longest a worker waits for a request's head: a silent client cannot hold it longer
REJECT_READ = 0.5  # seconds a rejected client has to send its request before the 503
MAX_HEAD = 8192


class Service:
    def __init__(self, spec: dict, out=sys.stdout):
        self.service = spec["service"]
        self.instance = spec.get("instance", self.service)
        self.listen = list(spec.get("listen", ["0.0.0.0"]))
        self.port = int(spec.get("port", 80))
        self.capacity = int(spec.get("capacity", 4))
        self.queue_limit = spec.get("queue")
        self.service_time = float(spec.get("service_time", 0.01))
        self.service_times = {str(k): float(v) for k, v in (spec.get("service_times") or {}).items()}
        self.jitter = float(spec.get("jitter", 0.0))
        self.stats_every = float(spec.get("stats_every", 1.0))
        self.max_seconds = float(spec.get("max_seconds", 3600))
        if self.capacity < 1 or not 0 <= self.jitter < 1:
            raise ValueError("capacity must be at least 1 and jitter within [0, 1)")
        self.out = out
        self.rng = random.Random(spec.get("seed"))
        self.waiting: queue.Queue = queue.Queue(maxsize=int(self.queue_limit or 0))
        self.counts = dict.fromkeys(("accepted", "served", "abandoned", "rejected", "errors"), 0)
        self.in_flight = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sockets: list[socket.socket] = []

    # -- running --

    def run(self) -> None:
        self._bind()
        self._emit({"kind": "listening", "addresses": self.listen, "port": self.port,
                    "capacity": self.capacity, "queue": self.queue_limit})
        for _ in range(self.capacity):
            threading.Thread(target=self._work, daemon=True).start()
        started = next_stats = time.monotonic()
        with selectors.DefaultSelector() as selector:
            for sock in self.sockets:
                selector.register(sock, selectors.EVENT_READ)
            while not self.stopping.is_set() and time.monotonic() - started < self.max_seconds:
                for key, _ in selector.select(0.1):
                    self._accept(key.fileobj)
                if time.monotonic() >= next_stats:
                    self._emit_stats()
                    next_stats = max(next_stats + self.stats_every, time.monotonic())  # a late loop does not burst
        self._emit_stats()

    def _bind(self) -> None:
        for address in self.listen:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # "::" next to "0.0.0.0" must not claim the IPv4 port too
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address, self.port))
            sock.listen(1024)
            sock.setblocking(False)
            self.sockets.append(sock)

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(True)
        with self.lock:
            self.counts["accepted"] += 1
        try:
            self.waiting.put_nowait((conn, time.monotonic()))
        except queue.Full:
            with self.lock:
                self.counts["rejected"] += 1
            # Read the request first (bounded): closing with unread data resets the connection under the 503,
            # and a request that arrives just after the accept is not there yet for a non-blocking read.
            conn.settimeout(REJECT_READ)
            try:
                _read_path(conn)
            except OSError:
                pass
            _answer(conn, 503, {"service": self.service, "instance": self.instance, "error": "over capacity"})

    def _work(self) -> None:
        while True:
            conn, queued_at = self.waiting.get()
            with self.lock:
                self.in_flight += 1
            try:
                self._serve(conn, time.monotonic() - queued_at)
            finally:
                with self.lock:
                    self.in_flight -= 1

    def _serve(self, conn: socket.socket, waited: float) -> None:
        try:
            conn.settimeout(READ_TIMEOUT)
            path = _read_path(conn)
            if path is None:
                raise OSError("no request")
            time.sleep(self.cost(path))
            gone = _peer_gone(conn)
            with self.lock:
                self.counts["served"] += 1
                self.counts["abandoned"] += gone
                served = self.counts["served"]
            _answer(conn, 200, {"service": self.service, "instance": self.instance, "path": path,
                                "served": served, "waited_s": round(waited, 6)})
        except OSError:
            with self.lock:
                self.counts["errors"] += 1
            conn.close()

    def cost(self, path: str) -> float:
        """Seconds of work for a request to `path`."""
        prefixes = [p for p in self.service_times if path.startswith(p)]
        base = self.service_times[max(prefixes, key=len)] if prefixes else self.service_time
        with self.lock:
            factor = self.rng.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1.0
        return base * factor

    # -- output --

    def stats(self) -> dict:
        with self.lock:
            return {**self.counts, "in_flight": self.in_flight, "queued": self.waiting.qsize()}

    def _emit_stats(self) -> None:
        self._emit({"kind": "stats", **self.stats()})

    def _emit(self, line: dict) -> None:
        record = {"t": round(time.time(), 6), "service": self.service, "instance": self.instance, **line}
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()


def _read_path(conn: socket.socket) -> str | None:
    head = b""
    while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) < MAX_HEAD:
        chunk = conn.recv(1024)
        if not chunk:
            break
        head += chunk
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or parts[0] != b"GET":
        return None
    return parts[1].decode("latin-1")


def _peer_gone(conn: socket.socket) -> bool:
    """Whether the client has closed its side already (it timed out waiting)."""
    timeout = conn.gettimeout()
    conn.setblocking(False)  # a socket with a timeout would wait for data before it peeks
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
    finally:
        conn.settimeout(timeout)


def _answer(conn: socket.socket, status: int, body: dict) -> None:
    reason = {200: "OK", 503: "Service Unavailable"}[status]
    payload = (json.dumps(body) + "\n").encode()
    head = (f"HTTP/1.0 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
    try:
        conn.sendall(head + payload)
    except OSError:
        pass  # the client is gone: the work was done all the same
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    service = Service(json.loads(argv[1]))
    signal.signal(signal.SIGTERM, lambda *_: service.stopping.set())
    service.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
