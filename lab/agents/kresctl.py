"""Ask a running Knot Resolver over its control socket, as `kresc` would, and print what it answers.

    python3 -m lab.agents.kresctl 'stats.list()' 'worker.stats()'

kresd (5.x, started as `kresd -n -c CONFIG /var/cache/knot-resolver`) listens on
/var/cache/knot-resolver/control/<pid>; it greets with a "> " prompt and ends every answer with one. The
answers are printed one after the other, as kresd wrote them (lab.serverstats.knot_resolver reads them).
"""

from __future__ import annotations

import glob
import socket
import sys

CONTROL = "/var/cache/knot-resolver/control/*"
PROMPT = b"> "


def ask(commands: list[str], pattern: str = CONTROL, timeout: float = 2.0) -> str:
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise RuntimeError(f"no Knot Resolver control socket matches {pattern}: is kresd running?")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(paths[0])
        _until_prompt(sock)  # the greeting
        return "".join(_ask(sock, command) for command in commands)


def _ask(sock: socket.socket, command: str) -> str:
    sock.sendall(command.encode() + b"\n")
    return _until_prompt(sock)[: -len(PROMPT)].decode()


def _until_prompt(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(PROMPT):
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("kresd closed its control socket mid-answer")
        data += chunk
    return data


def main(argv: list[str]) -> int:
    sys.stdout.write(ask(argv[1:] or ["stats.list()"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
