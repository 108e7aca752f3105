"""Run one of lab.agents inside a lab container with a JSON argument and read its JSON answer."""

from __future__ import annotations

import json
import shlex
from typing import Any

from lab.errors import LabError
from lab import runtime
from lab.runtime import Runtime


def exec_json(rt: Runtime, container: str, module: str, payload: Any, timeout: float = 30,
              just_started: bool = False) -> Any:
    """`python3 -m MODULE PAYLOAD_JSON` in the container; its stdout parsed as JSON. Raises LabError with
    the last line it printed when it fails. `just_started`: the container may still be writing out its files
    (the agents' code among them: runtime.after_files)."""
    argv = ["python3", "-m", module, json.dumps(payload)]
    result = rt.exec(container, runtime.after_files(argv) if just_started else argv, timeout)
    if result.exit_code != 0:
        tail = result.output.strip().splitlines()[-1:] or [f"exit {result.exit_code}"]
        raise LabError(f"{module} failed in {container}: {tail[0]}")
    try:
        return json.loads(result.output)
    except json.JSONDecodeError:
        raise LabError(f"{module} in {container} printed no JSON: {shlex.quote(result.output[-200:])}") from None
