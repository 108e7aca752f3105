"""A server's zone file, read and replaced from inside the server's own container (run there by the node's
kept loop, lab.agents.nshelper: no exec, no engine call per change).

    read({"path": "/lab/node/zones/test.zone"})                          -> the text, or None
    write({"path": ..., "text": "...", "signal": "HUP"})                  -> None

`write` replaces the file in one rename (the server never reads half a file; mode and owner as before) and
signals the container's PID 1, the server (BIND, Knot and NSD all load changed zone files on SIGHUP). The
caller then asks the server (lab.agents.ask, `until: records`) to know when the reload took effect.
"""

from __future__ import annotations

import os
import signal


def read(spec: dict) -> str | None:
    try:
        with open(spec["path"], encoding="utf-8") as file:
            return file.read()
    except FileNotFoundError:
        return None


def write(spec: dict) -> None:
    path = spec["path"]
    before = os.stat(path)
    temporary = f"{path}.dnslab-new"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(spec["text"])
    os.chmod(temporary, before.st_mode & 0o7777)
    if (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
        os.chown(temporary, before.st_uid, before.st_gid)
    os.replace(temporary, path)
    if spec.get("signal"):
        os.kill(1, getattr(signal, f"SIG{spec['signal']}"))
