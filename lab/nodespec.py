"""What each node's container is made of: its image and command, its addresses, its labels, and the files it
starts with (the node's rendered configs, the agents' code, a user's automation) — put into it through the
runtime, so the engine needs no disk shared with the orchestrator. Also what `dnslab export compose` writes."""

from __future__ import annotations

import functools
import json
from dataclasses import replace

from lab import automation, bundle, image, runtime, state
from lab.agents import planstore
from lab.automation import Automation
from lab.runtime import File
from lab.topology import appnodes
from lab.topology.model import Topology
from lab.topology.software import software_of

PACKAGE_DIR = bundle.PACKAGE
PLAN_STORE_MOUNT = "/plans"  # where pipeline agents see the plan store (lab/agents/plans.py)
# Every node's command runs behind this: its files written out if they came in its environment (at its first
# start: runtime.UNPACK), the lab's own resolv.conf (never Docker's embedded DNS), and the script a fault may
# have left to run once before the server starts again (runtime.ON_START).
PROLOGUE = (f"{runtime.UNPACK}cat {runtime.NODE_DIR}/resolv.conf > /etc/resolv.conf; "
            f"if [ -f {runtime.ON_START} ]; then sh {runtime.ON_START}; rm -f {runtime.ON_START}; fi; exec \"$@\"")


def _container_spec(lab: str, topology: Topology, node_name: str, tag: str, labels: dict,
                    plugin: Automation | None = None, placed: dict[str, str] | None = None) -> runtime.ContainerSpec:
    node = topology.nodes[node_name]
    host = (placed or {}).get(node_name)
    soft = software_of(node.role, node.software)
    spec = runtime.ContainerSpec(
        lab=lab, node=node.name, image=tag, command=soft.command_for(topology.ipv6),
        entrypoint=["sh", "-c", PROLOGUE, "dnslab-node"],
        addresses={net: str(addr) for net, addr in node.addresses.items()},
        addresses6={net: str(addr) for net, addr in topology.addresses6(node).items()},
        labels={**labels, runtime.NODE: node.name, runtime.ROLE: node.role, runtime.SOFTWARE: node.software},
        files={**node_files(lab, node.name), **agent_code()}, tmpfs={d: "" for d in soft.writable},
        environment=dict(image.ENVIRONMENT), nano_cpus=int(float(node.options.get("cpus") or 0) * 1e9),
        host=host, unpacks=True,
    )
    if node.role == "service":  # its agent is its command, its settings the argument
        spec = replace(spec, command=[*spec.command, json.dumps(appnodes.agent_spec(topology, node))])
    if node.role != "agent":
        return spec
    return _as_agent(spec, topology, node.automation if plugin is None else plugin, plan_store_url(topology, node, placed))


def node_files(lab: str, node: str) -> dict[str, File]:
    """The node's rendered files (lab.state keeps them on this side), as they go into its container."""
    root = state.node_dir(lab, node)
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []:
        files[f"{runtime.NODE_DIR}/{path.relative_to(root).as_posix()}"] = File(path.read_bytes(),
                                                                                path.stat().st_mode & 0o777)
    return files


@functools.cache
def agent_code() -> dict[str, File]:
    """lab.agents (what runs inside containers), on the containers' PYTHONPATH: read from this package, so a
    code change needs no image rebuild, only a new container."""
    files = {f"{runtime.SOURCE_DIR}/lab/__init__.py": File.of((PACKAGE_DIR / "__init__.py").read_bytes())}
    for path in sorted(bundle.AGENTS.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR.parent).as_posix()
        files[f"{runtime.SOURCE_DIR}/{rel}"] = File.of(path.read_bytes())
    return files


def agent_spec(lab: str, topology: Topology, node: str, tag: str, labels: dict,
               plugin: Automation, placed: dict[str, str] | None = None) -> runtime.ContainerSpec:
    """One pipeline agent's container with `plugin` in place of what the topology says (lab.enactors.roles)."""
    return _container_spec(lab, topology, node, tag, labels, plugin, placed)


def spread_agents(topology: Topology, placed: dict[str, str] | None) -> bool:
    """Do the pipeline's agents run on more than one engine? Then they share no volume."""
    return len({(placed or {}).get(n.name) for n in topology.by_role("agent")}) > 1


def plan_store_node(topology: Topology):
    return next((n for n in topology.by_role("agent") if n.software == "planstore"), None)


def plan_store_url(topology: Topology, node, placed: dict[str, str] | None) -> str | None:
    """Where an agent finds the plan store when the agents are spread over engines: the planstore node over
    HTTP (lab.agents.planstore). None on one engine: the agents share the volume, as they always did."""
    store = plan_store_node(topology)
    if store is None or store.name == node.name or not spread_agents(topology, placed):
        return None
    return f"http://{topology.address_towards(store, node)}:{planstore.PORT}"


def _as_agent(spec: runtime.ContainerSpec, topology: Topology, plugin: Automation,
              store_url: str | None = None) -> runtime.ContainerSpec:
    """A pipeline agent: the built-in planner or enactor, or the user's program in its place, with the
    environment of the automation contract (docs/automation.md), its source copied in and the plan store
    mounted (the volume on its engine; across engines the planstore node serves the store, `store_url`)."""
    node = topology.nodes[spec.node]
    primary = topology.nodes[topology.zones[topology.pipeline.zone].primary]
    env = automation.environment(node.software, node.name, topology.pipeline.zone,
                                 str(topology.address_towards(primary, node)), plugin)
    files = {**spec.files, **(automation.source_files(plugin.source) if plugin.source else {})}
    return replace(
        spec, image=plugin.image or spec.image, command=list(plugin.command or spec.command), files=files,
        unpacks=not plugin.image,  # a user's image (built on ours) may run as another user: its files are put in
        labels={**spec.labels, runtime.AUTOMATION: plugin.digest()},
        environment={**spec.environment, **env, **({"DNSLAB_PLANS_URL": store_url} if store_url else {})},
        volumes={plan_volume(spec.lab): {"bind": PLAN_STORE_MOUNT, "mode": "rw"}},  # the shared plan store
        working_dir=automation.SOURCE_MOUNT if plugin.source else None)


def plan_volume(lab: str) -> str:
    return f"dnslab-{lab}-plans"


def container_specs(lab: str, topology: Topology, tag: str, labels: dict,
                    placed: dict[str, str] | None = None) -> list[runtime.ContainerSpec]:
    """Every node's container spec, in topology order (also what `dnslab export compose` writes); `placed`:
    node -> host on several engines."""
    return [_container_spec(lab, topology, name, tag, labels, placed=placed) for name in topology.nodes]
