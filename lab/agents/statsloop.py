"""A server's own statistics, read every few seconds inside its container, one JSON line each, for as long as
the run keeps stdin open (lab.run.appstreams reads them; lab.serverstats parses the text).

    python3 -m lab.agents.statsloop '{"command": ["unbound-control", "stats_noreset"], "every": 1}'

    {"t": 1796179653.4, "exit_code": 0, "output": "..."}

One long-lived process instead of an exec per sample: a paused server freezes this loop with it and it goes
on after the unpause, where an exec into a paused container would hang the engine's exec (runc joins the
frozen cgroup) and with it the unpause.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from lab.agents.prober import stop_at_end_of


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    every, command = float(spec.get("every", 1.0)), list(spec["command"])
    deadline = time.monotonic() + float(spec.get("max_seconds", 6 * 3600))
    stop = threading.Event()
    stop_at_end_of(sys.stdin, stop)
    while not stop.is_set() and time.monotonic() < deadline:
        began = time.monotonic()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=max(2.0, every * 2))
            line = {"t": round(time.time(), 6), "exit_code": done.returncode, "output": done.stdout}
        except (OSError, subprocess.TimeoutExpired) as exc:
            line = {"t": round(time.time(), 6), "exit_code": None, "output": "", "error": str(exc)[:200]}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        stop.wait(max(0.0, every - (time.monotonic() - began)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
