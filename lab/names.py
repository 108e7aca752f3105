"""Names in a lab: what a node, lab or playbook name may look like, which lab a command means when it is
given none, and DNS names as the lab writes and compares them.

Pure. Lab names become Docker container and network names (`dnslab-<lab>-<node>`), hence DNS-label rules.
"""

from __future__ import annotations

import os
import re

# A DNS label's letters, at most 40 long: node, lab and playbook names (they end up in container names).
NODE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


def lab_name(name: str | None, default: str = "default") -> str:
    """The lab a command acts on: `--name`, else $DNSLAB_NAME, else `default` (the topology's name for
    commands that bring a playbook's lab up)."""
    return name or os.environ.get("DNSLAB_NAME") or default


def absolute(name: str) -> str:
    """`api.cloud.test` -> `api.cloud.test.`: names are absolute, as with dig. Case is kept (it is shown and
    sent as written); compare names with `name_key`."""
    return name if name.endswith(".") else name + "."


def name_key(name: str) -> str:
    """A DNS name as names are compared: absolute and lower case."""
    return absolute(name).lower()
