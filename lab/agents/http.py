"""The lab's one HTTP/1.0 client exchange, for apps and workloads talking to a service (lab.agents.service).

An `Exchange` is one request on its own non-blocking socket with one deadline for connect, send and the whole
answer; a selector loop drives many (lab.agents.workload), `get` drives one (lab.agents.app). It ends as:

    ok        a 2xx answer            rejected  the service answered 503 (over capacity)
    refused   connection refused      timeout   no full answer before the deadline
    error     anything else (another status, a reset, a malformed answer): see `detail`
"""

from __future__ import annotations

import errno
import json
import selectors
import socket
import time

RESULTS = ("ok", "rejected", "refused", "timeout", "error")
MAX_ANSWER = 65536  # a service's answer is a line of JSON; more is a broken peer


class Exchange:
    def __init__(self, address: str, port: int, path: str, host: str, timeout: float,
                 clock=time.monotonic):
        self.address, self.port = address, int(port)
        self.request = f"GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: dnslab\r\n\r\n".encode()
        self.clock = clock
        self.started = clock()
        self.deadline = self.started + timeout
        self.result: str | None = None
        self.status: int | None = None
        self.body: dict | None = None
        self.detail: str | None = None
        self.seconds: float | None = None
        self._sent = 0
        self._answer = b""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        code = self.sock.connect_ex((address, self.port))
        if code not in (0, errno.EINPROGRESS):
            self._end_with_errno(code)

    @property
    def done(self) -> bool:
        return self.result is not None

    def events(self) -> int:
        """What the selector should wait for: writable until the request is out, then readable."""
        return selectors.EVENT_WRITE if self._sent < len(self.request) else selectors.EVENT_READ

    def step(self) -> None:
        """Make progress after the selector said the socket is ready (or to notice the deadline)."""
        if self.done:
            return
        if self.clock() >= self.deadline:
            self._end("timeout")
            return
        try:
            if self._sent < len(self.request):
                code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    self._end_with_errno(code)
                    return
                self._sent += self.sock.send(self.request[self._sent:])
                return
            chunk = self.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._end_with_errno(exc.errno or 0, str(exc))
            return
        if not chunk:  # HTTP/1.0: the service closes after its answer
            self._read_answer()
        elif len(self._answer) + len(chunk) > MAX_ANSWER:
            self._end("error", "answer too long")
        else:
            self._answer += chunk

    def expire(self) -> None:
        """Called when the deadline passed without the socket becoming ready."""
        if not self.done and self.clock() >= self.deadline:
            self._end("timeout")

    def close(self) -> None:
        self.sock.close()

    def _read_answer(self) -> None:
        head, _, body = self._answer.partition(b"\r\n\r\n")
        try:
            self.status = int(head.split(b" ", 2)[1])
        except (IndexError, ValueError):
            self._end("error", "malformed answer" if self._answer else "closed without an answer")
            return
        try:
            self.body = json.loads(body) if body.strip() else None
        except ValueError:
            self.body = None
        if 200 <= self.status < 300:
            self._end("ok")
        elif self.status == 503:
            self._end("rejected")
        else:
            self._end("error", f"HTTP {self.status}")

    def _end_with_errno(self, code: int, text: str | None = None) -> None:
        if code == errno.ECONNREFUSED:
            self._end("refused")
        elif code == errno.ETIMEDOUT:
            self._end("timeout")
        else:
            self._end("error", text or errno.errorcode.get(code, str(code)))

    def _end(self, result: str, detail: str | None = None) -> None:
        self.result, self.detail = result, detail
        self.seconds = round(self.clock() - self.started, 6)
        self.sock.close()


def get(address: str, port: int, path: str, host: str, timeout: float) -> Exchange:
    """One request, waited for in this thread; the finished Exchange."""
    exchange = Exchange(address, port, path, host, timeout)
    with selectors.DefaultSelector() as selector:
        while not exchange.done:
            selector.register(exchange.sock, exchange.events())
            ready = selector.select(max(0.0, exchange.deadline - time.monotonic()))
            selector.unregister(exchange.sock)
            if ready:
                exchange.step()
            else:
                exchange.expire()
    return exchange
