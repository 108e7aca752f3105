"""The plan store served over HTTP, for pipeline agents that share no disk (a lab across engines: a Docker
volume lives on one engine). The `planstore` node runs the server over its own /plans; the agents talk to it
with `HttpPlanStore`, which has every method of lab.agents.plans.PlanStore. On one engine the agents keep
sharing the volume as before (`open_store` picks by DNSLAB_PLANS_URL).

    python3 -m lab.agents.planstore              # the server: port 8053 on every address, the store at /plans

    GET    /names/FOLDER     ["gen-000001.json", ...]   ("" = the top level)
    GET    /files/NAME       the JSON document, or 404
    PUT    /files/NAME       store the body (atomically, as PlanStore.write_json)
    DELETE /files/NAME       {"removed": true|false}
    GET    /statuses         every agent's status document in one answer

Runs inside containers: Debian's python3 and the standard library only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lab.agents import plans

PORT = 8053
NAME = re.compile(r"^(status/)?[A-Za-z0-9][A-Za-z0-9_.-]*$")  # no "..", no absolute paths, no temp files
FOLDERS = ("", "status")
PATIENCE = 120.0  # seconds a call keeps retrying an unreachable server (a partitioned zone) before it raises


class StoreUnreachable(OSError):
    """The plan store did not answer for PATIENCE seconds."""


class HttpPlanStore(plans.PlanStore):
    """The plan store behind a planstore server. A call that cannot reach it retries (a network fault in
    the agent's zone holds the agent, as a hung shared disk would) and raises StoreUnreachable after
    `patience` seconds."""

    def __init__(self, url: str, patience: float = PATIENCE, timeout: float = 2.0):
        super().__init__("/nonexistent")
        self.url = url.rstrip("/")
        self.patience = patience
        self.timeout = timeout

    def _call(self, method: str, path: str, body: bytes | None = None):
        deadline = time.monotonic() + self.patience
        while True:
            request = urllib.request.Request(self.url + path, data=body, method=method,
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return None
                if exc.code < 500:
                    raise ValueError(f"plan store {method} {path}: {exc.code} {exc.read()[:200]!r}") from None
                problem = f"{exc.code}"
            except (OSError, json.JSONDecodeError) as exc:  # refused, timed out, reset, cut off
                problem = str(exc)
            if time.monotonic() > deadline:
                raise StoreUnreachable(f"plan store {self.url} did not answer {method} {path} for "
                                       f"{self.patience:.0f}s: {problem}")
            time.sleep(0.2)

    def names(self, folder: str = "") -> list[str]:
        return list(self._call("GET", f"/names/{folder}") or [])

    def read_json(self, name: str, default=None):
        found = self._call("GET", f"/files/{name}")
        return default if found is None else found

    def write_json(self, name: str, data) -> None:
        self._call("PUT", f"/files/{name}", json.dumps(data, sort_keys=True).encode())

    def remove(self, name: str) -> bool:
        return bool((self._call("DELETE", f"/files/{name}") or {}).get("removed"))

    def statuses(self) -> dict[str, dict]:
        return dict(self._call("GET", "/statuses") or {})


def open_store(root: str | Path = "/plans") -> plans.PlanStore:
    """The store an agent uses: the server named by DNSLAB_PLANS_URL, else the shared directory."""
    url = os.environ.get("DNSLAB_PLANS_URL")
    return HttpPlanStore(url) if url else plans.PlanStore(root)


# ---- the server -------------------------------------------------------------------------------------------


def handler(store: plans.PlanStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, code: int, data=None) -> None:
            body = b"" if data is None else json.dumps(data, sort_keys=True).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _name(self, prefix: str) -> str | None:
            name = self.path[len(prefix):]
            return name if NAME.match(name) and ".." not in name else None

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path == "/statuses":
                return self._answer(200, store.statuses())
            if self.path.startswith("/names/"):
                folder = self.path[len("/names/"):]
                return self._answer(200, store.names(folder)) if folder in FOLDERS else self._answer(400)
            if self.path.startswith("/files/") and (name := self._name("/files/")):
                found = store.read_json(name)
                return self._answer(404) if found is None else self._answer(200, found)
            return self._answer(400)

        def do_PUT(self) -> None:  # noqa: N802
            name = self._name("/files/") if self.path.startswith("/files/") else None
            try:
                data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            except (ValueError, json.JSONDecodeError):
                data, name = None, None
            if name is None:
                return self._answer(400)
            store.write_json(name, data)
            return self._answer(200, {"stored": name})

        def do_DELETE(self) -> None:  # noqa: N802
            name = self._name("/files/") if self.path.startswith("/files/") else None
            if name is None:
                return self._answer(400)
            return self._answer(200, {"removed": store.remove(name)})

        def log_message(self, format, *args) -> None:  # noqa: A002 - quiet: agents call it many times a second
            pass

    return Handler


def serve(root: str | Path = "/plans", port: int = PORT) -> None:
    server = ThreadingHTTPServer(("0.0.0.0", port), handler(plans.PlanStore(root)))
    server.daemon_threads = True
    print(json.dumps({"t": round(time.time(), 6), "source": os.environ.get("DNSLAB_NODE", "planstore"),
                      "event": "planstore_listening", "port": port}), flush=True)
    server.serve_forever()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # PID 1: `docker stop` would wait 10 s otherwise
    serve(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DNSLAB_PLANS", "/plans"))


if __name__ == "__main__":
    main()
