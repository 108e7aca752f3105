"""Bring your own DNS automation: a user's program in place of a built-in pipeline role (docs/automation.md).

Pure: what a role gets (its environment), how a plug-in is written in a topology or a playbook, and what a
role's stdout may carry (one JSON event per line). Docker work is in lab.enactors.roles.

A plug-in says, for a planner or an enactor, any of
    command  what runs instead of the built-in (a string runs under `sh -c`, a list as is)
    image    an image of the user's built on the lab image (`FROM dnslab:latest`)
    source   a directory of the user's, copied into the role's container at /automation, the command's
             working directory (default: the directory dnslab was started in, when a command is given)
and for an enactor also
    cleanup  a command the built-in enactor runs after each apply instead of its own clean-up
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lab.errors import InputError
from lab.runtime.base import File
from lab.validation import Problems

SOURCE_MOUNT = "/automation"
CONFIG = "/lab/node/pipeline.json"
TSIG_JSON = "/lab/node/tsig.json"
TSIG_KEYFILE = "/lab/node/tsig.key"
PLANS = "/plans"
# What a source directory's copy leaves out (a user's repository: its history, environments and caches),
# and how much it may hold: the copy goes into every role container of every run.
SOURCE_SKIP = {".git", ".hg", ".venv", "venv", "__pycache__", "node_modules", ".mypy_cache", ".pytest_cache",
               ".tox", ".dnslab-artifacts", "runs"}
SOURCE_LIMIT = 64 * 2**20

ROLES = ("planner", "enactor")
FIELDS = {"planner": ("command", "image", "source"), "enactor": ("command", "image", "source", "cleanup")}


@dataclass(frozen=True)
class Automation:
    """A user's program for one pipeline role; None fields keep the built-in's."""

    command: tuple[str, ...] | None = None
    image: str | None = None
    source: str | None = None  # absolute host path
    cleanup: tuple[str, ...] | None = None

    @property
    def builtin(self) -> bool:
        return self == Automation()

    def over(self, base: Automation) -> Automation:
        """This plug-in's fields over `base`'s (a playbook's over a topology's)."""
        return replace(base, **{k: v for k, v in vars(self).items() if v is not None})

    def digest(self) -> str:
        """What a container label holds: a role container is recreated when its plug-in changes."""
        return hashlib.sha256(json.dumps(self.plain(), sort_keys=True).encode()).hexdigest()[:12]

    def plain(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items() if v is not None}

    def describe(self) -> str:
        """How a person names it in an error: the command, else the image."""
        if self.command:
            return _shown(self.command)
        return f"image {self.image}" if self.image else "built-in"


def _shown(argv: tuple[str, ...]) -> str:
    return argv[2] if argv[:2] == ("sh", "-c") else " ".join(argv)


def command_argv(value: str | list) -> tuple[str, ...]:
    return ("sh", "-c", value) if isinstance(value, str) else tuple(str(v) for v in value)


def parse(problems: Problems, spec: Any, role: str, what: str, base_dir: Path) -> Automation:
    """The plug-in keys of a topology node or a playbook section (the caller checks for other keys)."""
    found: dict[str, Any] = {}
    for key in ("command", "cleanup"):
        if key not in spec or key not in FIELDS[role]:
            continue
        value = spec[key]
        if isinstance(value, str) and value.strip() or (
                isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value)):
            found[key] = command_argv(value)
        else:
            problems.at(spec, f"{what}: {key} must be a non-empty string (run by sh -c) or a list of words, "
                              f"not {value!r}", key, value=True)
    if "image" in spec:
        if isinstance(spec["image"], str) and spec["image"].strip():
            found["image"] = spec["image"].strip()
        else:
            problems.at(spec, f"{what}: image must be an image name, e.g. my-enactor:latest", "image", value=True)
    if "source" in spec:
        source = spec["source"]
        path = (base_dir / str(source)).resolve() if isinstance(source, str) else None
        if path is None or not path.is_dir():
            problems.at(spec, f"{what}: source {source!r} is not a directory (relative paths start at "
                              f"{base_dir})", "source", value=True)
        else:
            found["source"] = str(path)
    if ("command" in found or "cleanup" in found) and "source" not in found:
        found["source"] = str(Path(os.getcwd()).resolve())
    return Automation(**found)


# ---- what a role gets --------------------------------------------------------------------------------------


def environment(role: str, node: str, zone: str, primary: str, automation: Automation) -> dict[str, str]:
    """The contract's environment of every pipeline container, built-in or not (docs/automation.md)."""
    env = {
        "DNSLAB_ROLE": role, "DNSLAB_NODE": node, "DNSLAB_ZONE": zone, "DNSLAB_PRIMARY": primary,
        "DNSLAB_CONFIG": CONFIG, "DNSLAB_TSIG": TSIG_JSON, "DNSLAB_TSIG_KEYFILE": TSIG_KEYFILE,
        "DNSLAB_PLANS": PLANS, "DNSLAB_SETTINGS": f"{PLANS}/settings.json",
        "DNSLAB_STATUS": f"{PLANS}/status/{node}.json",
    }
    if automation.cleanup:
        env["DNSLAB_CLEANUP_COMMAND"] = json.dumps(list(automation.cleanup))
    return env


def tsig_keyfile(name: str, algorithm: str, secret: str) -> str:
    """The update key in BIND's syntax, for `nsupdate -k`."""
    return f'key "{name}" {{\n\talgorithm {algorithm};\n\tsecret "{secret}";\n}};\n'


# ---- what a role's stdout may carry ---------------------------------------------------------------------

# Events the lab acts on (playbook waits, checks, the report) and the fields it reads from them, with types.
# Other event names are allowed and recorded as they are.
EVENT_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "plan_produced": {"generation": int},
    "apply_started": {"generation": int},
    "endpoint_applied": {"generation": int, "endpoint": str, "index": int},
    "apply_finished": {"generation": int},
    "retry": {"endpoint": str},
    "refused": {"endpoint": str, "reason": str},
    "cleanup_deleted": {"generations": list},
    "stuck": {"reason": str},
}


def event_problem(line: str) -> str | None:
    """Why one stdout line of a role is not an event of the contract, or None when it is one."""
    text = line.strip()
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return "is not JSON"
    if not isinstance(record, dict):
        return "is JSON but not an object"
    event = record.get("event")
    if not isinstance(event, str) or not event:
        return "has no \"event\" name"
    t = record.get("t")
    if t is not None and (not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t)):
        return f"has a \"t\" that is no Unix time ({t!r})"
    for name, kind in EVENT_FIELDS.get(event, {}).items():
        value = record.get(name)
        if value is None:
            return f"is a {event} event without \"{name}\""
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"is a {event} event whose \"{name}\" is {type(value).__name__}, not {_type_name(kind)}"
    return None


def _type_name(kind) -> str:
    return {int: "an integer", str: "a string", list: "a list"}.get(kind, str(kind))


def source_files(source: str) -> dict[str, File]:
    """A plug-in's source directory as files under /automation (modes kept: scripts stay executable).
    Raises InputError naming the directory when it holds more than SOURCE_LIMIT."""
    root = Path(source)
    files, total = {}, 0
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SOURCE_SKIP)
        for name in sorted(names):
            path = Path(directory) / name
            if not path.is_file() or path.is_symlink():
                continue
            total += path.stat().st_size
            if total > SOURCE_LIMIT:
                raise InputError(f"the automation source {root} holds more than {SOURCE_LIMIT // 2**20} MB; "
                                 f"point `source:` at the directory with your program")
            files[f"{SOURCE_MOUNT}/{path.relative_to(root).as_posix()}"] = File(path.read_bytes(),
                                                                              path.stat().st_mode & 0o777)
    return files
