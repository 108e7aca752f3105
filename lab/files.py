"""Files on the orchestrator's side, written so that a reader (another dnslab process, or the next one after
this one was killed) sees the old file or the new one, never half of one.

The agents in containers keep their own copy (lab.agents.plans.PlanStore.write_json): they import nothing
outside lab.agents. Locks across processes are lab.runtime's.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomically(path: Path, text: str, mode: int = 0o666) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`. `mode` (less the umask)
    holds from the file's creation on, so a secret (0o600) is never readable by others for a moment."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
