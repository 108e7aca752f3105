"""The command loop of a helper kept in a node's network namespace (lab.nshelper starts it over an exec), or
of the node's own container (lab.nshelper, `inside`).

Reads one JSON request per line on stdin and answers one JSON line on stdout, until stdin closes (the
orchestrator went away: the loop ends, the helper itself stays for the next one). A request is a list of
steps run in order, stopping at the first that fails:

    {"steps": [{"nft": "RULESET"}, {"sh": "SCRIPT"}, {"console": "LUA", "wait": 5}]}
    -> {"ok": true, "outputs": ["", "...", "..."]}  or  {"ok": false, "outputs": [...], "error": "..."}

`nft` feeds a ruleset to `nft -f -` (one atomic transaction); `call` runs a function of another lab agent
({"call": "run", "module": "ask", "source": "...", "arg": {...}}: its source is sent along and kept, the
answer is the function's result as JSON), so a question asked from the node's namespace needs no exec; `console` runs a command on the helper's
dnsdist console, spoken here directly (libsodium's secretbox through ctypes) rather than by starting a
`dnsdist -c` client per command (tens of milliseconds each): the key is read from the helper's own
config file, so it never leaves the container. `wait` retries connecting that long (dnsdist starting).

Standard library only: it runs in the lab image's python3, passed as `python3 -c` (nothing to copy in).
"""

import base64
import ctypes
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

CONFIG = "/tmp/dnsdist.conf"
CONSOLE = ("127.0.0.1", 5199)
MAC = 16  # crypto_secretbox_MACBYTES
NONCE = 24  # crypto_secretbox_NONCEBYTES


class Console:
    """dnsdist's console protocol: both sides send a random nonce; each direction then uses half of each,
    counting up in its first four bytes (big-endian) per message; a message is its 32-bit length and the
    secretbox of the text."""

    def __init__(self, wait: float):
        self.sodium = ctypes.CDLL("libsodium.so.23")
        self.sodium.sodium_init()
        deadline = time.monotonic() + wait
        while True:
            try:
                with open(CONFIG) as config:
                    self.key = base64.b64decode(re.search(r'setKey\("([^"]+)"\)', config.read()).group(1))
                self.sock = socket.create_connection(CONSOLE, timeout=10)
                break
            except (OSError, AttributeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ours = os.urandom(NONCE)
        self.sock.sendall(ours)
        theirs = self._read(NONCE)
        half = NONCE // 2
        self.reading = bytearray(ours[:half] + theirs[half:])
        self.writing = bytearray(theirs[:half] + ours[half:])
        self.run("")  # an empty command answers empty: a wrong key would close the connection here

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            piece = self.sock.recv(count - len(data))
            if not piece:
                raise ConnectionError("dnsdist closed the console connection")
            data += piece
        return data

    @staticmethod
    def _next(nonce: bytearray) -> None:
        nonce[:4] = struct.pack(">I", (struct.unpack(">I", bytes(nonce[:4]))[0] + 1) & 0xFFFFFFFF)

    def run(self, line: str) -> str:
        text = line.encode()
        box = ctypes.create_string_buffer(len(text) + MAC)
        self.sodium.crypto_secretbox_easy(box, text, ctypes.c_ulonglong(len(text)), bytes(self.writing), self.key)
        self._next(self.writing)
        self.sock.sendall(struct.pack(">I", len(text) + MAC) + box.raw)
        (size,) = struct.unpack(">I", self._read(4))
        if size == 0:
            return ""
        sealed = self._read(size)
        plain = ctypes.create_string_buffer(size - MAC)
        if self.sodium.crypto_secretbox_open_easy(plain, sealed, ctypes.c_ulonglong(size), bytes(self.reading),
                                                  self.key) != 0:
            raise ConnectionError("the console's answer does not decrypt (another key?)")
        self._next(self.reading)
        return plain.raw.decode("utf-8", "replace")


console = None
modules: dict[str, dict] = {}


def call(step: dict) -> str:
    """A function of an agent module whose source came with the step (kept, by its text, for the next)."""
    module = modules.get(step["module"])
    if module is None or module["__source__"] != step["source"]:
        module = {"__name__": f"lab.agents.{step['module']}", "__source__": step["source"]}
        exec(compile(step["source"], f"lab/agents/{step['module']}.py", "exec"), module)
        modules[step["module"]] = module
    return json.dumps(module[step["call"]](step["arg"]))


def run_step(step: dict) -> tuple[bool, str]:
    global console
    if "call" in step:
        return True, call(step)
    if "nft" in step:
        done = subprocess.run(["nft", "-f", "-"], input=step["nft"], capture_output=True, text=True, check=False)
        return done.returncode == 0, done.stdout + done.stderr
    if "sh" in step:
        done = subprocess.run(["sh", "-c", step["sh"]], capture_output=True, text=True, check=False)
        return done.returncode == 0, done.stdout + done.stderr
    for attempt in (1, 2):  # a connection dnsdist dropped (it was restarted) is made again once
        try:
            if console is None:
                console = Console(float(step.get("wait", 0)))
            said = console.run(step["console"])
            return not said.startswith("Error"), said
        except OSError as exc:
            console = None
            if attempt == 2:
                return False, f"dnsdist console: {exc}"
    return False, "unreachable"


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        outputs, error = [], ""
        try:
            for step in json.loads(line)["steps"]:
                ok, said = run_step(step)
                outputs.append(said)
                if not ok:
                    error = said.strip()[-300:] or "failed"
                    break
        except Exception as exc:  # noqa: BLE001 - every request gets an answer line, whatever broke
            error = f"{type(exc).__name__}: {exc}"
        sys.stdout.write(json.dumps({"ok": not error, "outputs": outputs, "error": error}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
