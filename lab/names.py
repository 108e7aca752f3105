"""Names in a lab: what a node, lab or playbook name may look like, and which lab a command means when it
is given none.

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
