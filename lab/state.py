"""Where a lab keeps its files on the orchestrator's side: rendered configs, zone files, its TSIG key, its description.

    $DNSLAB_HOME (default ~/.local/state/dnslab)/labs/<lab>/
        lab.json        the resolved topology (after slot moves) that `status`, `dig` and runs read
        tsig.key        the lab's update key, mode 0600, never printed; copied (0600) as tsig.json into
                        the directory of every node that sends or checks updates
        dnssec-keys.json  a signed lab's KSK and ZSK per zone, mode 0600 (lab.signing.keys)
        nodes/<node>/   the node's rendered files, as they were put into its container at /lab/node
                        (the record of what was rendered: a sweep restores edited zone files from it)
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
from pathlib import Path

from lab.files import write_atomically
from lab.topology.render import Tsig

TSIG_NAME = "dnslab-update."
TSIG_ALGORITHM = "hmac-sha256"


def home() -> Path:
    return Path(os.environ.get("DNSLAB_HOME") or Path.home() / ".local" / "state" / "dnslab")


def lab_dir(lab: str) -> Path:
    return home() / "labs" / lab


def tsig_key(lab: str) -> Tsig:
    """The lab's TSIG key, generated on first use and kept private (0600) in the lab directory."""
    path = lab_dir(lab) / "tsig.key"
    if path.exists():
        data = json.loads(path.read_text())
        return Tsig(data["name"], data["algorithm"], data["secret"])
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Tsig(TSIG_NAME, TSIG_ALGORITHM, base64.b64encode(secrets.token_bytes(32)).decode())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"name": key.name, "algorithm": key.algorithm, "secret": key.secret}, out)
    return key


def dnssec_keys(lab: str, zones: list[str]) -> dict[str, list[dict]]:
    """The lab's DNSSEC keys (zone -> [KSK, ZSK]), generated on first use, kept (0600) across `up`s so DS
    records and trust anchors stay what resolvers may have cached. Never committed, never printed."""
    from lab.signing import keys as K  # here: signing needs `cryptography`, an unsigned lab does not

    path = lab_dir(lab) / "dnssec-keys.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    missing = [z for z in zones if z not in known]
    if missing:
        known.update({z: [K.generate(z, "ksk"), K.generate(z, "zsk")] for z in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(known), mode=0o600)
    return {z: known[z] for z in zones}


def write_node_files(lab: str, rendered: dict[str, dict[str, str]]) -> None:
    """Write every node's rendered files afresh (old journals and state go with the old files)."""
    nodes = lab_dir(lab) / "nodes"
    if nodes.exists():
        shutil.rmtree(nodes)
    for node, files in rendered.items():
        for rel, content in files.items():
            path = nodes / node / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            # Configs that carry the TSIG secret or a DNSSEC private key stay private to the host's owner.
            if "secret" in content or "PrivateKey:" in content:
                path.chmod(0o600)


def node_dir(lab: str, node: str) -> Path:
    return lab_dir(lab) / "nodes" / node


def save_description(lab: str, description: dict) -> None:
    write_atomically(lab_dir(lab) / "lab.json", json.dumps(description, indent=2))


def load_description(lab: str) -> dict | None:
    path = lab_dir(lab) / "lab.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def forget(lab: str) -> None:
    shutil.rmtree(lab_dir(lab), ignore_errors=True)
