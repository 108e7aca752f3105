"""Bring a lab up, tell its status, take it down: the composition of topology, rendering, image and runtime."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import dns.rdatatype

from lab import bundle, hosts as hosts_file, image, nodespec, nshelper, runtime, state
from lab.agentrun import exec_json
from lab.errors import InputError, LabError, LabNotFound, Timeout, TopologyError
from lab.parallel import in_background, parallel
from lab.nodespec import container_specs, plan_volume
from lab.runtime import Runtime
from lab.topology import appnodes, load as topology_load
from lab.topology.model import Topology
from lab.topology.render import render
from lab.topology.software import software_of

Progress = Callable[[str], None]
READY_TIMEOUT = 90.0


def runtime_for(lab: str | None = None) -> Runtime:
    """The engines a lab runs on: the hosts file of --hosts or $DNSLAB_HOSTS, else the one the lab was
    started with (lab.json), else the local engine."""
    path = hosts_file.hosts_file()
    if path is None and lab:
        recorded = (state.load_description(lab) or {}).get("hosts")
        path = Path(recorded) if recorded else None
    return runtime.connect(path)


def topology_hash(topology: Topology) -> str:
    """What the lab is made of, whatever file(s) it came from (an `extends:` chain included)."""
    return hashlib.sha256(repr(replace(topology, file="")).encode()).hexdigest()[:12]


def up(topology_path: str | Path | None = None, name: str | None = None, progress: Progress = lambda s: None,
       rt: Runtime | None = None, ready_timeout: float = READY_TIMEOUT) -> dict:
    """Start the lab (or finish starting it) and wait until every server answers; return its description."""
    description, ready = up_checking(topology_path, name, progress, rt, ready_timeout)
    ready()
    return description


def up_checking(topology_path: str | Path | None = None, name: str | None = None,
                progress: Progress = lambda s: None, rt: Runtime | None = None,
                ready_timeout: float = READY_TIMEOUT) -> tuple[dict, Callable[[], None]]:
    """`up`, but when every node of the lab already runs, the check that every server answers (execs in
    the servers and clients, 0.5-1 s) is left to the caller: (description, the check still to do, which
    raises what it found; a no-op when `up` did it). A run does it while its setup waits (lab.run.execute)."""
    path = Path(topology_path or topology_load.DEFAULT_TOPOLOGY)
    topology = topology_load.load(path)
    lab = name or topology.name
    if not topology_load.NODE_NAME.match(lab):
        raise InputError(f"lab name {lab!r} must be lower-case letters, digits and '-' (at most 40)")
    rt = rt or runtime_for()
    if topology.ipv6 and rt.hosts_file is not None:
        raise InputError(f"{topology.file}: a dual-stack topology (ipv6: true) runs on one engine only; the "
                         f"Swarm's overlays are not dual-stack in dnslab (docs/scaling.md): drop --hosts or ipv6")
    digest = topology_hash(topology)
    # Node containers only: fault sidecars (dnsdist, nft) carry the lab's label but are no nodes.
    existing = [c for c in rt.containers(lab) if c.node]
    if existing:
        other = {c.labels.get(runtime.TOPOLOGY) for c in existing} - {digest}
        if other:
            raise InputError(f"lab {lab!r} is already up with another topology; run 'dnslab down --name {lab}' "
                             f"first, or give this one another --name")
        if {c.node for c in existing} == set(topology.nodes):
            progress(f"lab {lab} exists: making sure every node runs")
            description = state.load_description(lab)
            if description is not None:
                woken = _resume(rt, existing)
                if not woken:  # every node was running: its servers have been answering, all asked at once
                    return description, lambda: _ready_with_helpers(rt, description, progress, ready_timeout,
                                                                    at_once=True)
                _ready_with_helpers(rt, description, progress, ready_timeout)
                return description, lambda: None
        progress(f"lab {lab} is incomplete (an earlier 'up' was interrupted): starting it afresh")
        rt.remove_lab(lab)
    elif rt.networks(lab) or rt.volumes(lab):
        rt.remove_lab(lab)

    placed = _placement(rt, topology)
    tag = image.ensure(rt.image_source(), progress)
    rt.spread_image(tag, progress, also=[f"{image.REPOSITORY}:latest"])
    # Held from choosing a slot until its networks exist: two `up`s at once (two labs, parallel tests) on one
    # engine must not pick one slot (every DNSLAB_HOME shares the engine's address space).
    with rt.lock("address-space"):
        topology = topology.at_slot(_free_slot(rt, topology))
        labels = {runtime.LAB: lab, runtime.TOPOLOGY: digest, runtime.STATE_DIR: str(state.lab_dir(lab)),
                  runtime.SLOT: str(topology.slot)}
        tsig = state.tsig_key(lab)
        keys = state.dnssec_keys(lab, list(topology.zones)) if topology.dnssec else None
        state.write_node_files(lab, render(topology, tsig, keys))
        description = describe(lab, topology, tag, path, placed, rt.hosts_file)
        state.save_description(lab, description)

        progress(f"creating {len(topology.networks)} networks and {len(topology.nodes)} containers")

        def create_network(net) -> None:
            try:
                subnet6 = topology.subnet6(net.name)
                rt.create_network(runtime.network_name(lab, net.name), str(net.subnet),
                                  {**labels, runtime.NETWORK: net.name}, _dynamic(rt, topology, net.name),
                                  str(subnet6) if subnet6 else None, _dynamic6(topology, net.name))
            except LabError as exc:  # e.g. a network made outside dnslab took the subnet
                raise LabError(f"{exc} (lab {lab}); run 'dnslab down --name {lab}' and try again") from None
        parallel(create_network, topology.networks.values())  # side by side: 0.07-0.1 s each
    if topology.pipeline is not None:
        # Created here with the lab's labels (Docker would make it unlabelled on first mount), so
        # `dnslab down` finds and removes it with everything else.
        rt.create_volume(plan_volume(lab), labels)
    _start_checking(rt, description, container_specs(lab, topology, tag, labels, placed), progress, ready_timeout)
    return description, lambda: None


def _start_checking(rt: Runtime, description: dict, specs: list[runtime.ContainerSpec], progress: Progress,
                    timeout: float) -> None:
    """Create and start every container, each as soon as it can (no barrier between creating all and starting
    all), and ask every authoritative server from its container as soon as that one runs, while the others
    start; then the resolvers, once every authoritative server answers (lab.lifecycle.answers). Raises
    Timeout naming every server that did not answer."""
    authoritative = _ready_plan(description)["aa"]
    checks: dict[str, Callable[[], dict]] = {}

    def bring_up(spec: runtime.ContainerSpec) -> None:
        rt.create(spec)
        rt.start(spec.name)
        if spec.name in authoritative:  # asked beside the next starts, not holding a worker of them
            checks[spec.name] = in_background(lambda: _answers_of(rt, "aa", spec.name, authoritative[spec.name],
                                                                  timeout, just_started=True), name=f"ready-{spec.node}")
    parallel(bring_up, specs)
    progress(f"waiting for every server of lab {description['lab']} to answer")
    problems = {node: why for check in checks.values() for node, why in check().items()}
    helpers = in_background(lambda: nshelper.start_all(rt, description), name="helpers")
    try:
        problems.update(answers(rt, description, timeout, wanted=("noerror",), just_started=True))
    finally:
        helpers()
    _raise_failing(description, problems, timeout)


def _ready_with_helpers(rt: Runtime, description: dict, progress: Progress, timeout: float,
                        at_once: bool = False) -> None:
    """Wait until every server answers; meanwhile each node's helper joins its namespace (lab.nshelper)."""
    failed: list[BaseException] = []

    def helpers() -> None:
        try:
            nshelper.start_all(rt, description)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the caller's thread
            failed.append(exc)
    thread = threading.Thread(target=helpers, daemon=True)
    thread.start()
    try:
        wait_ready(rt, description, progress, timeout, at_once)
    finally:
        thread.join()
    if failed:
        raise failed[0]


def _placement(rt: Runtime, topology: Topology) -> dict[str, str]:
    """node -> host on several engines (the topology's placement, checked against the hosts file); {} on one."""
    if rt.hosts_file is None:
        return {}
    problems = topology.placement.problems(rt.hosts)
    if problems:
        raise TopologyError(problems)
    placed = topology.placement.assign(topology.nodes.values(), rt.hosts)
    if nodespec.spread_agents(topology, placed) and nodespec.plan_store_node(topology) is None:
        raise InputError(f"{topology.file}: the pipeline's agents are placed on several hosts "
                         f"({', '.join(sorted({placed[a.name] for a in topology.by_role('agent')}))}), which share "
                         f"no volume: add a plan store node, e.g. `planstore: {{role: agent, software: planstore, "
                         f"networks: {{core: ADDRESS}}}}` (compose/az3.yml)")
    return placed


def _dynamic(rt: Runtime, topology: Topology, network: str) -> str | None:
    """On several engines, the part of a network the Swarm may use for its own endpoints (none of the nodes')."""
    if rt.hosts_file is None:
        return None
    block = topology.dynamic_range(network)
    if block is None:
        raise InputError(f"{topology.file}: network {network!r} ({topology.networks[network].subnet}) has no block "
                         f"of 16 addresses free of nodes: across engines the Swarm needs one for its own endpoints "
                         f"(e.g. leave .240-.255 of a /24 free)")
    return str(block)


def _dynamic6(topology: Topology, network: str) -> str | None:
    """Where Docker may hand out IPv6 addresses of its own on a dual-stack network (its gateway is ::1, out
    of every node's way like the IPv4 one): the IPv6 counterpart of the free block."""
    block = topology.dynamic_range6(network)
    return str(block) if block is not None else None


def _resume(rt: Runtime, existing: list[runtime.Container]) -> list[str]:
    """Unpause or start every node container that does not run; the names of those it woke."""
    woken = []
    for container in existing:
        if container.state == "paused":
            rt.unpause(container.name)
        elif container.state != "running":
            rt.start(container.name)
        else:
            continue
        woken.append(container.name)
    return woken


def _free_slot(rt: Runtime, topology: Topology) -> int:
    """The first slot whose subnets overlap no network of the engine: two labs can then run side by side."""
    taken = []
    for subnet, name in rt.taken_subnets():
        try:
            taken.append((ipaddress.ip_network(subnet, strict=False), name))
        except ValueError:
            continue
    for slot in range(64):
        moved = topology.at_slot(slot)
        if not any(n.subnet.overlaps(t) for n in moved.networks.values() for t, _ in taken):
            return slot
    clash = ", ".join(sorted({name for _, name in taken}))
    raise LabError(f"no free address space for the lab's networks (Docker networks in the way: {clash})")


def describe(lab: str, topology: Topology, tag: str, path: Path, placed: dict[str, str] | None = None,
             hosts_file: Path | None = None) -> dict:
    """The resolved lab as plain data: what status, dig and runs need without re-reading the topology."""
    # The service name: the first record of a zone with a primary, else of any zone with records.
    service = next((z for z in topology.zones.values() if z.primary and z.records), None) or \
        next((z for z in topology.zones.values() if z.records), None)
    return {
        "lab": lab,
        "topology": str(path),
        "slot": topology.slot,
        "image": tag,
        "created": time.time(),
        "hosts": str(hosts_file) if hosts_file else None,  # the hosts file of a lab across engines
        "networks": {n.name: str(n.subnet) for n in topology.networks.values()},
        "ipv6": topology.ipv6,  # dual-stack: every network has an IPv6 subnet, every node an address on it
        "networks6": {n.name: str(topology.subnet6(n.name)) for n in topology.networks.values()} if topology.ipv6 else {},
        "nodes": {
            n.name: {"role": n.role, "software": n.software, "function": topology.describe_role(n),
                     "addresses": {net: str(a) for net, a in n.addresses.items()}, "options": n.options,
                     "addresses6": {net: str(a) for net, a in topology.addresses6(n).items()},
                     "container": runtime.container_name(lab, n.name), "host": (placed or {}).get(n.name),
                     **({"agent": appnodes.agent_spec(topology, n)} if n.role in appnodes.ROLES else {})}
            for n in topology.nodes.values()
        },
        "zones": {z.origin: {"servers": list(z.servers), "primary": z.primary, "ttl": z.ttl,
                             "negative_ttl": z.negative_ttl} for z in topology.zones.values()},
        "dnssec": {"signature_validity": topology.dnssec.signature_validity,
                   "static_validity": topology.dnssec.static_validity} if topology.dnssec else None,
        "probe_name": service.records[0].name if service else ".",
        "probe_type": service.records[0].type if service else "SOA",
        **({"pipeline": _describe_pipeline(lab, topology)} if topology.pipeline else {}),
    }


def _describe_pipeline(lab: str, topology: Topology) -> dict:
    agents = topology.by_role("agent")
    return {**topology.pipeline.plain(), "volume": plan_volume(lab),
            "planner": next(a.name for a in agents if a.software == "planner"),
            "enactors": [a.name for a in agents if a.software == "enactor"]}


def resolver_address(description: dict, resolver: str, client_node: str, transport: int = 4) -> str:
    """The address `client_node` uses to reach `resolver` (its IPv6 one for transport 6): on a network both
    are on."""
    res = description["nodes"][resolver]["addresses"]
    cli = description["nodes"][client_node]["addresses"]
    for net, addr in res.items():
        if net in cli:
            if transport == 6:
                found = description["nodes"][resolver].get("addresses6", {}).get(net)
                if found is None:
                    raise InputError(f"resolver {resolver!r} has no IPv6 address: lab {description['lab']!r} "
                                     f"is not dual-stack (topology `ipv6: true`)")
                return found
            return addr
    raise InputError(f"client {client_node!r} shares no network with resolver {resolver!r}")


def _ready_plan(description: dict) -> dict[str, dict]:
    """Which container asks what to decide the lab is ready: every authoritative server for the SOA of each
    zone it serves (asked from itself), then every resolver for a service name (asked from a client)."""
    auth, resolve = {}, {}
    for origin, zone in description["zones"].items():
        for server in [*zone["servers"], *([zone["primary"]] if zone["primary"] else [])]:
            node = description["nodes"][server]
            auth.setdefault(node["container"], []).append(
                {"server": next(iter(node["addresses"].values())), "name": origin, "type": "SOA",
                 "qtype": dns.rdatatype.SOA.value, "rd": False, "node": server})
    clients = [n for n, v in description["nodes"].items() if v["role"] == "client"]
    for resolver, node in description["nodes"].items():
        if node["role"] != "resolver":
            continue
        for client_node in clients:
            try:
                addr = resolver_address(description, resolver, client_node)
            except InputError:
                continue
            resolve.setdefault(description["nodes"][client_node]["container"], []).append(
                {"server": addr, "name": description["probe_name"], "type": description["probe_type"],
                 "qtype": dns.rdatatype.from_text(description["probe_type"]).value, "node": resolver})
            break
    return {"aa": auth, "noerror": resolve}


def answers(rt: Runtime, description: dict, deadline: float = 0, running: set[str] | None = None,
            at_once: bool = False, wanted: tuple[str, ...] = ("aa", "noerror"),
            just_started: bool = False) -> dict[str, str | None]:
    """node -> None when the server answers as it should, else what it did instead. With a deadline,
    keep asking until every server answers or the deadline (seconds) runs out. `running`: ask only from
    these containers (a paused or stopped one cannot run the question). The resolvers are asked once the
    authoritative servers answer (a resolver would keep a failure it got from one still starting), or
    `at_once` beside them: for servers that have been running, one round of execs instead of two. `wanted`:
    the rounds to ask ("aa": the authoritative servers, "noerror": the resolvers); `just_started`: see
    exec_json."""
    plans = [(until, container, queries) for until, plan in _ready_plan(description).items()
             for container, queries in plan.items() if running is None or container in running]
    rounds = [plans] if at_once else [[p for p in plans if p[0] == until] for until in wanted]
    problems: dict[str, str | None] = {}
    for items in rounds:
        for found in parallel(lambda item: _answers_of(rt, *item, deadline, just_started), items):
            problems.update(found)
    return problems


def _answers_of(rt: Runtime, until: str, container: str, queries: list[dict], deadline: float,
                just_started: bool = False) -> dict[str, str | None]:
    """node -> None or what it did instead, for the queries asked from one container (`until`: see answers;
    `just_started`: see exec_json). A server not listening yet refuses at once and is asked again 0.05 s
    later (lab.agents.ready)."""
    results = exec_json(rt, container, "lab.agents.ready",
                        {"queries": queries, "until": until, "deadline": deadline, "timeout": 1, "every": 0.05},
                        timeout=deadline + 15, just_started=just_started)
    problems: dict[str, str | None] = {}
    for query, result in zip(queries, results):
        good = result["rcode"] == "NOERROR" and (until != "aa" or result["aa"])
        problem = None if good else f"{result['rcode'] or result['error']} for {query['name']} {query['type']}"
        problems[query["node"]] = problems.get(query["node"]) or problem
    return problems


def wait_ready(rt: Runtime, description: dict, progress: Progress,
               timeout: float = READY_TIMEOUT, at_once: bool = False) -> None:
    progress(f"waiting for every server of lab {description['lab']} to answer")
    _raise_failing(description, answers(rt, description, timeout, at_once=at_once), timeout)


def _raise_failing(description: dict, problems: dict[str, str | None], timeout: float) -> None:
    failing = {node: why for node, why in problems.items() if why}
    if failing:
        raise Timeout(f"lab {description['lab']} not ready after {timeout:.0f}s: "
                      + "; ".join(f"{node} ({why})" for node, why in failing.items())
                      + f". See 'docker logs dnslab-{description['lab']}-NODE'")


def not_up(lab: str) -> LabNotFound:
    """The error for a command on a lab that is not up, with the `up` that starts *that* lab: `dnslab up
    --name X` alone would start the default world under the name X."""
    if lab == "default":
        how = "'dnslab up'"
    elif f"{lab}.yml" in bundle.topologies():  # a bundled topology's name is its lab's name
        how = f"'dnslab up -t {lab}'"
    else:
        how = f"'dnslab up --name {lab} -t TOPOLOGY' (without -t it is the default world)"
    return LabNotFound(f"no lab named {lab!r} is up; start it with {how}, or run a playbook, which brings "
                       "its lab up")


def status(lab: str, rt: Runtime | None = None) -> list[dict]:
    """Every node of the lab: name, role, software, version, address, state, and whether it answers."""
    rt = rt or runtime_for(lab)
    description = state.load_description(lab)
    found = {c.node: c for c in rt.containers(lab) if c.node}
    if not found and not description:
        raise not_up(lab)
    nodes = description["nodes"] if description else {n: {} for n in found}
    versions = software_versions(rt, description, found) if description else {}
    running = {c.name for c in found.values() if c.state == "running"}
    health = answers(rt, description, running=running, at_once=True) if description and running else {}
    rows = []
    for name, node in nodes.items():
        container = found.get(name)
        rows.append({
            "name": name,
            "role": node.get("function", container.labels.get(runtime.ROLE) if container else "?"),
            "software": node.get("software", container.labels.get(runtime.SOFTWARE) if container else "?"),
            "version": versions.get((node.get("role"), node.get("software")), ""),
            "host": node.get("host") or (container.labels.get(runtime.HOST) if container else None),
            "address": " ".join(node.get("addresses", {}).values()),
            "state": container.state if container else "missing",
            # Servers: do they answer right now? Clients have nothing to ask.
            "answers": ("yes" if health.get(name, "") is None else health.get(name) or "-"),
        })
    return rows


def software_versions(rt: Runtime, description: dict, found: dict) -> dict:
    """(role, software) -> version text, asked once per image and cached next to the labs."""
    cache = state.home() / "versions" / f"{description['image'].replace(':', '-')}.json"
    if cache.exists():
        table = json.loads(cache.read_text())
        return {tuple(k.split("/", 1)): v for k, v in table.items()}
    running = next((c for c in found.values() if c.state == "running"), None)
    if running is None:
        return {}
    kinds = {(n["role"], n["software"]) for n in description["nodes"].values()}
    script = "; ".join(f"echo \"{r}/{s}=$({software_of(r, s).version} | head -1)\"" for r, s in sorted(kinds))
    result = rt.exec(running.name, script, timeout=20)
    table = {}
    for line in result.output.splitlines():
        key, _, value = line.partition("=")
        if "/" in key:
            table[key] = _short_version(value)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(table))
    return {tuple(k.split("/", 1)): v for k, v in table.items()}


def _short_version(text: str) -> str:
    match = re.search(r"\d+\.\d+(\.\d+)?", text)
    return match.group(0) if match else text.strip()[:30]


def down(lab: str | None, all_labs: bool = False, rt: Runtime | None = None) -> dict[str, dict]:
    """Remove every resource of one lab (or of all labs) by label; returns what went, per lab."""
    rt = rt or runtime_for(None if all_labs else lab)
    names = sorted(rt.labs()) if all_labs else [lab]
    removed = {}
    for name in names:
        removed[name] = rt.remove_lab(name)
        state.forget(name)
    return removed


def dig(lab: str, qname: str, qtype: str = "A", via: str = "all", client_node: str | None = None,
        rt: Runtime | None = None, transport: int = 4) -> list[dict]:
    """Ask every (or one) resolver from a client container (at its IPv6 address for transport 6); one result
    per resolver."""
    rt = rt or runtime_for(lab)
    description = state.load_description(lab)
    if description is None or not rt.containers(lab):
        raise not_up(lab)
    nodes = description["nodes"]
    resolvers = [n for n, v in nodes.items() if v["role"] == "resolver"]
    clients = [n for n, v in nodes.items() if v["role"] == "client"]
    if via != "all":
        if via not in resolvers:
            raise InputError(f"--via {via!r} is not a resolver of lab {lab!r}; resolvers: {', '.join(resolvers)}")
        resolvers = [via]
    if client_node is None:
        if not clients:
            raise InputError(f"lab {lab!r} has no client node to ask from")
        client_node = clients[0]
    elif client_node not in clients:
        raise InputError(f"--client {client_node!r} is not a client of lab {lab!r}; clients: {', '.join(clients)}")
    queries = [{"server": resolver_address(description, r, client_node, transport), "name": qname, "type": qtype}
               for r in resolvers]
    results = exec_json(rt, nodes[client_node]["container"], "lab.agents.ask",
                                {"queries": queries, "timeout": 3})
    for resolver, result in zip(resolvers, results):
        result["resolver"] = resolver
        result["client"] = client_node
        result["transport"] = transport
    return results


