"""Unbound's remote control spoken directly, from unbound's network namespace (run by its kept helper,
lab.agents.nshelper): what `unbound-control` sends, without starting it per command.

    run({"commands": ["flush_zone ."], "port": 8953})  -> the answer of each command

The lab renders `control-interface: 127.0.0.1` with `control-use-cert: no`, so the channel is plain TCP on
loopback: a line "UBCT1 COMMAND", then the answer until the server closes. An answer starting with
"error" raises (the helper reports it).
"""

from __future__ import annotations

import socket

VERSION = 1  # UNBOUND_CONTROL_VERSION


def command(line: str, port: int = 8953, timeout: float = 5.0) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"UBCT{VERSION} {line}\n".encode())
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    text = answer.decode("utf-8", "replace")
    if text.startswith("error"):
        raise RuntimeError(f"unbound-control {line}: {text.strip()}")
    return text


def run(spec: dict) -> list[str]:
    return [command(line, int(spec.get("port", 8953))) for line in spec["commands"]]
