"""The real local caches some app models put between glibc and the lab's resolvers: nscd and dnsmasq, started
by the app agent as its own children (so an app container's command is just `python3 -m lab.agents.app ...`).

Both write their logs to the agent's stderr, never its stdout (the app's records). `start` returns once the
daemon answers, or raises RuntimeError saying why it did not: an app must not begin while glibc would still
bypass the cache (glibc stops asking an nscd that was not there for a while, see docs/apps.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from lab.agents import stubconf

CONFIG_DIR = Path("/run/dnslab")
NSCD_SOCKET = Path("/var/run/nscd/socket")
READY_WITHIN = 5.0


def prepare(spec: dict) -> subprocess.Popen | None:
    """Write resolv.conf from `resolv_conf` and start the model's daemon; the daemon (or None) to stop at exit.

    For `dnsmasq`, glibc asks the local dnsmasq, which forwards to the nameservers `resolv_conf` names."""
    stub = dict(spec["resolv_conf"])
    if spec["model"] == "dnsmasq":
        stub["nameservers"] = ["127.0.0.1"]
    path = spec.get("write_resolv_conf", "/etc/resolv.conf")
    if path:
        write_resolv_conf(path, stubconf.resolv_conf(**stub))
    return start(spec["model"], spec)


def start(model: str, settings: dict) -> subprocess.Popen | None:
    """Start the daemon `model` needs (None for models without one)."""
    if model == "nscd":
        text = stubconf.nscd_conf(**settings.get("nscd", {}))
        return _start("nscd", text, ["nscd", "-F", "-f"], _nscd_ready)
    if model == "dnsmasq":
        servers = settings["resolv_conf"]["nameservers"]
        text = stubconf.dnsmasq_conf(servers, **settings.get("dnsmasq", {}))
        return _start("dnsmasq", text, ["dnsmasq", "--keep-in-foreground", "-C"], _dnsmasq_ready)
    return None


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        process.kill()


def _start(name: str, config: str, command: list[str], ready) -> subprocess.Popen:
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    path = CONFIG_DIR / f"{name}.conf"
    path.write_text(config)
    if name == "nscd":
        NSCD_SOCKET.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(command + [str(path)], stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno(),
                               stderr=sys.stderr.fileno())
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before it answered (see its log above)")
        if ready():
            return process
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"{name} did not answer within {READY_WITHIN:.0f} s")


def _nscd_ready() -> bool:
    return NSCD_SOCKET.exists()


def _dnsmasq_ready() -> bool:
    """dnsmasq listens on 127.0.0.1:53 (UDP): seen in /proc without sending a query that would fill its cache."""
    try:
        table = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(line.split()[1] == "0100007F:0035" for line in table if len(line.split()) > 1)


def write_resolv_conf(path: str | os.PathLike, text: str) -> None:
    """Put the rendered resolv.conf in place; a read-only file that already says the same is fine."""
    target = Path(path)
    try:
        if target.read_text() == text:
            return
    except OSError:
        pass
    try:
        target.write_text(text)
    except OSError as exc:
        raise RuntimeError(f"cannot write {target} ({exc.strerror}): put the rendered resolv.conf there "
                           "before the app starts, or give the app a writable one") from None
