"""A generated large topology (many resolvers and clients) and memory figures for the scale benchmark."""

from __future__ import annotations

import yaml

from lab import runtime
from lab.parallel import parallel

RESOLVER_KINDS = ["unbound", "bind", "knot-resolver", "pdns-recursor"]


def topology_text(resolvers: int, clients: int) -> str:
    """Root + TLD + hidden primary + 2 secondaries, then `resolvers` resolvers (all four kinds in turn)
    and `clients` clients on a /22 edge network."""
    nodes = {
        "root": {"role": "authoritative", "software": "bind", "networks": {"core": "10.60.0.2"}},
        "tld": {"role": "authoritative", "software": "knot", "networks": {"core": "10.60.0.3"}},
        "primary": {"role": "authoritative", "software": "bind", "networks": {"core": "10.60.0.10"}},
        "sec-knot": {"role": "authoritative", "software": "knot", "networks": {"core": "10.60.0.11"}},
        "sec-nsd": {"role": "authoritative", "software": "nsd", "networks": {"core": "10.60.0.12"}},
    }
    for i in range(resolvers):
        nodes[f"res{i:02d}"] = {"role": "resolver", "software": RESOLVER_KINDS[i % 4],
                                "networks": {"core": f"10.60.1.{10 + i}", "edge": f"10.60.4.{10 + i}"}}
    for i in range(clients):
        nodes[f"client{i:02d}"] = {"role": "client", "networks": {"edge": f"10.60.5.{10 + i}"}}
    doc = {
        "name": "scale",
        "description": f"{resolvers} resolvers and {clients} clients",
        "networks": {"core": {"subnet": "10.60.0.0/22"}, "edge": {"subnet": "10.60.4.0/22"}},
        "nodes": nodes,
        "zones": {".": {"servers": ["root"]}, "test.": {"servers": ["tld"]},
                  "cloud.test.": {"primary": "primary", "servers": ["sec-knot", "sec-nsd"], "ttl": 5,
                                  "negative_ttl": 5,
                                  "records": {"dynamodb.us-east-1": {"A": ["192.0.2.10", "192.0.2.11"]}}}},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def memory_per_container(lab: str) -> dict[str, list[float]]:
    """Resident memory (MiB, cgroup usage minus page cache) of every container, grouped by software (read
    through the engine's own SDK: statistics are no part of the lab's runtime interface)."""
    import docker  # noqa: PLC0415

    def one(container):
        stats = container.stats(stream=False)
        mem = stats.get("memory_stats", {})
        cache = mem.get("stats", {}).get("cache", 0)
        return container.labels.get(runtime.SOFTWARE, "?"), (mem.get("usage", 0) - cache) / 2**20

    grouped: dict[str, list[float]] = {}
    engine = docker.from_env()
    for software, mib in parallel(one, engine.containers.list(filters={"label": f"{runtime.LAB}={lab}"})):
        grouped.setdefault(software, []).append(mib)
    return grouped
