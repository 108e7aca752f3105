"""Export a lab as a docker-compose project: the same containers, networks, addresses, configs and labels,
for people who want to run the world without dnslab (and as the baseline `make bench` measures `up` against).

The export is self-contained: every file dnslab puts into a container (rendered configs, agent code, a
user's automation) is written next to the compose file and bind-mounted where dnslab would put it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from lab import automation, runtime, state
from lab.nodespec import container_specs
from lab.errors import LabNotFound
from lab.topology import load as topology_load

COMPOSE_FILE = "docker-compose.yml"


def compose_document(description: dict, nodes_dir: str = "./nodes") -> dict:
    """The compose document (file format 2.4, which docker-compose 1.x and Compose v2 both read) for a
    lab description as saved by `dnslab up`."""
    lab = description["lab"]
    topology = topology_load.load(description["topology"]).at_slot(description["slot"])

    services, named_volumes = {}, {}
    for spec in container_specs(lab, topology, description["image"], {runtime.LAB: lab}):
        volumes = [f"{name}:{mount['bind']}:{mount['mode']}" for name, mount in spec.volumes.items()]
        named_volumes.update({name: {"name": name, "labels": {runtime.LAB: lab}} for name in spec.volumes})
        volumes += [f"{nodes_dir}/{spec.node}:{runtime.NODE_DIR}:rw", f"./source:{runtime.SOURCE_DIR}:ro"]
        if any(path.startswith(automation.SOURCE_MOUNT + "/") for path in spec.files):
            volumes.append(f"./automation/{spec.node}:{automation.SOURCE_MOUNT}:ro")
        services[spec.node] = {
            "image": spec.image,
            "container_name": f"{runtime.container_name(lab, spec.node)}",
            "hostname": spec.node,
            "command": spec.command,
            "labels": spec.labels,
            "environment": spec.environment,
            "volumes": volumes,
            "tmpfs": list(spec.tmpfs),
            "networks": {runtime.network_name(lab, net): {"ipv4_address": addr,
                                                          **({"ipv6_address": spec.addresses6[net]}
                                                             if net in spec.addresses6 else {})}
                         for net, addr in spec.addresses.items()},
            **({"cap_add": spec.cap_add} if spec.cap_add else {}),
            **({"working_dir": spec.working_dir} if spec.working_dir else {}),
        }
    networks = {
        runtime.network_name(lab, net.name): {
            "name": runtime.network_name(lab, net.name),
            "internal": True,
            "labels": {runtime.LAB: lab, runtime.NETWORK: net.name},
            "ipam": {"config": [{"subnet": str(net.subnet)},
                                *([{"subnet": str(topology.subnet6(net.name))}] if topology.ipv6 else [])]},
            **({"enable_ipv6": True} if topology.ipv6 else {}),  # compose file format 2.4 takes it
        }
        for net in topology.networks.values()
    }
    document = {"version": "2.4", "services": services, "networks": networks}
    if named_volumes:  # the enactor pipeline's plan store
        document["volumes"] = named_volumes
    return document


def export_compose(lab: str, out_dir: str | Path) -> Path:
    """Write OUT_DIR/docker-compose.yml and OUT_DIR/nodes/ for a lab that is (or was) up."""
    description = state.load_description(lab)
    if description is None:
        raise LabNotFound(f"no lab named {lab!r} has been rendered; run 'dnslab up --name {lab}' first")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for folder in ("nodes", "source", "automation"):
        shutil.rmtree(out / folder, ignore_errors=True)
    _write_files(lab, description, out)
    path = out / COMPOSE_FILE
    header = (f"# Lab {lab!r} exported by `dnslab export compose` from {description['topology']}.\n"
              f"# Run: docker-compose -f {path.name} up -d  ·  remove: docker-compose down (or dnslab down --name {lab})\n")
    path.write_text(header + yaml.safe_dump(compose_document(description), sort_keys=False))
    return path


def _write_files(lab: str, description: dict, out: Path) -> None:
    """What dnslab would put into each container, where compose_document's binds expect it."""
    topology = topology_load.load(description["topology"]).at_slot(description["slot"])
    for spec in container_specs(lab, topology, description["image"], {runtime.LAB: lab}):
        for path, file in spec.files.items():
            for prefix, folder in ((runtime.NODE_DIR, out / "nodes" / spec.node), (runtime.SOURCE_DIR, out / "source"),
                                   (automation.SOURCE_MOUNT, out / "automation" / spec.node)):
                if path.startswith(prefix + "/"):
                    target = folder / path[len(prefix) + 1:]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(file.content)
                    target.chmod(file.mode)
