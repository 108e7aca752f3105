"""The nodes that stand for what applications see (docs/apps.md): `service` (a real service at an endpoint
address, lab.agents.service), `app` (an application with a resolver model, lab.agents.app) and `workload`
(a lease manager, lab.agents.workload). Their `settings:` are validated here with file:line, and turned into
the JSON argument each agent takes (`agent_spec`).

    dynamodb-1: {role: service, networks: {services: 192.0.2.10}, settings: {service: dynamodb, capacity: 4}}
    app-jvm:    {role: app, software: jvm, networks: {edge: 10.53.1.41, services: 192.0.2.41},
                 settings: {name: dynamodb.us-east-1.cloud.test., rate: 4, cache: {positive: 30}}}

An app's or workload's nameservers are the resolvers it names (`resolvers:`, at most 3, as glibc reads
resolv.conf) or the first three resolvers it shares a network with, at their addresses on that network.
"""

from __future__ import annotations

import random
from typing import Any

import dns.exception
import dns.name

from lab.agents import leases, lookup, retry, stubconf
from lab.params import Param, table_problems
from lab.validation import Problems, suggest
from lab.yamlsrc import Map

ROLES = ("service", "app", "workload")
MAX_NAMESERVERS = stubconf.MAX_NAMESERVERS
FOREVER_SECONDS = 30 * 86400  # a service serves as long as the lab is up (its agent stops after max_seconds)
PORT = 80

_SHARED = {
    "name": Param(str, True, None, "the DNS name to resolve, e.g. dynamodb.us-east-1.cloud.test."),
    "request_timeout": Param(float, False, None, "seconds a request may take before the client gives up"),
    "resolvers": Param(list[str], False, None, "resolver nodes for resolv.conf (at most 3; default: the first "
                                               "three on a shared network)"),
    "resolv_conf": Param(Any, False, None, "resolv.conf options: timeout, attempts, rotate, single_request, "
                                           "single_request_reopen, ndots"),
    "family": Param(str, False, None, "address family getaddrinfo asks for: any, ipv4, ipv6"),
    "seed": Param(int, False, None, "random seed of the agent (default: from the node name)"),
}
_CACHES = {
    "cache": Param(Any, False, None, "jvm: {positive, negative} seconds (or forever)"),
    "max_stale": Param(Any, False, None, "stale-on-error: oldest answer kept, seconds (default: any age)"),
    "nscd": Param(Any, False, None, "nscd: {positive, negative, reload_count, shared}"),
    "dnsmasq": Param(Any, False, None, "dnsmasq: {min_cache_ttl, max_cache_ttl, neg_ttl, negative_cache, "
                                       "use_stale_cache, cache_size, strict_order}"),
}
SETTINGS: dict[str, dict[str, Param]] = {
    "service": {
        "service": Param(str, False, None, "the service's name (default: the node name)"),
        "capacity": Param(int, False, 4, "requests served at once"),
        "queue": Param(int, False, None, "longest queue of waiting connections (default: unbounded)"),
        "service_time": Param(float, False, 0.005, "seconds one request takes"),
        "jitter": Param(float, False, 0.2, "service time varies by this share either way"),
        "service_times": Param(Any, False, None, "path prefix -> seconds, e.g. {/establish: 0.05}"),
        "stats_every": Param(float, False, 1.0, "seconds between the service's counter lines"),
    },
    "app": {
        **_SHARED, **_CACHES,
        "rate": Param(float, False, 2.0, "requests a second"),
        "workers": Param(int, False, 1, "concurrent users"),
        "path": Param(str, False, None, "request path"),
        "pick": Param(str, False, None, "which address to connect to: first, random"),
        "prefer": Param(str, False, None, "reorder the answer: ipv4, ipv6"),
        "retry": Param(Any, False, None, "{policy: none|immediate|backoff, max, base, cap}"),
    },
    "workload": {
        **_SHARED, **_CACHES,
        "model": Param(str, False, "glibc", "resolver model: " + ", ".join(lookup.MODELS)),
        "leases": Param(int, False, 100, "leases kept alive"),
        "renew_every": Param(float, False, 1.0, "seconds between renewals of a lease"),
        "ttl": Param(float, False, 3.0, "seconds a lease lives without renewal"),
        "resolve_every": Param(float, False, 0.5, "seconds between lookups of the name"),
        "report_every": Param(float, False, 1.0, "seconds between the workload's lines"),
        "throttle": Param(Any, False, None, "admission: {max_concurrent, rate, burst} (default: none)"),
        "jitter": Param(bool, False, False, "full-jitter backoff between re-establishment retries"),
        "retry_delay": Param(float, False, 0.1, "seconds before a retry without jitter"),
        "backoff": Param(Any, False, None, "{base, cap} seconds of the jittered backoff"),
    },
}
_SUBTABLES = {"resolv_conf": ("timeout", "attempts", "rotate", "single_request", "single_request_reopen", "ndots"),
              "cache": ("positive", "negative"), "backoff": ("base", "cap"),
              "throttle": ("max_concurrent", "rate", "burst"),
              "retry": ("policy", "max", "base", "cap")}


def settings(problems: Problems, spec: Map, role: str, software: str | None, what: str) -> dict:
    """A node's `settings:` checked against its role; every problem at its key. Returns them as plain data."""
    raw = spec.get("settings")
    if raw is None:
        raw = Map()
    if not isinstance(raw, Map):
        problems.at(spec, f"{what}: settings must be a mapping like {{name: dynamodb.us-east-1.cloud.test.}}",
                    "settings", value=True)
        return {}
    where = lambda key: (raw, key) if key in raw else (spec, "settings")  # noqa: E731
    table = SETTINGS[role]
    for key, message in table_problems(f"a {role} node", table, raw):
        container, at = where(key)
        problems.at(container, f"{what}: settings: {message}", at, value=key in raw)
    plain = {key: _plain(value) for key, value in raw.items() if key in table}
    for key, message in _value_problems(role, software, plain):
        container, at = where(key)
        problems.at(container, f"{what}: settings: {message}", at, value=key in raw)
    return plain


def _value_problems(role: str, software: str | None, s: dict) -> list[tuple[str, str]]:
    found = []
    for key, allowed in _SUBTABLES.items():
        value = s.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            found.append((key, f"{key} must be a mapping with {', '.join(allowed)}"))
            s.pop(key)
            continue
        unknown = [k for k in value if k not in allowed]
        if unknown:
            found.append((key, f"{key}: unknown key {unknown[0]!r}{suggest(str(unknown[0]), allowed)} "
                               f"(allowed: {', '.join(allowed)})"))
            s.pop(key)
    if "name" in s:
        try:
            dns.name.from_text(s["name"])
        except dns.exception.DNSException as exc:
            found.append(("name", f"name {s['name']!r} is not a DNS name: {exc}"))
    for key, test in _TESTS.items():
        if s.get(key) is None:
            continue
        try:
            test(s, software)
        except (ValueError, TypeError) as exc:
            text = str(exc)
            found.append((key, text if text.startswith(f"{key}:") else f"{key}: {text}"))
    if role == "workload":
        try:
            leases.Leases(s.get("leases", 100), s.get("renew_every", 1.0), s.get("ttl", 3.0), 0.0, random.Random(0))
        except ValueError as exc:
            found.append(("ttl" if "ttl" in s else "leases", str(exc)))
    if role == "service" and isinstance(s.get("jitter"), (int, float)) and not 0 <= s["jitter"] < 1:
        found.append(("jitter", f"jitter must be at least 0 and below 1, not {s['jitter']!r}"))
    if role == "service" and isinstance(s.get("queue"), int) and s["queue"] < 1:
        found.append(("queue", f"queue must be at least 1 (or left out: unbounded), not {s['queue']!r}"))
    for key in ("rate", "request_timeout", "capacity", "workers", "service_time", "stats_every", "resolve_every",
                "report_every"):
        if isinstance(s.get(key), (int, float)) and s[key] <= 0:
            found.append((key, f"{key} must be above 0, not {s[key]!r}"))
    return found


def _model_of(s: dict, software: str | None) -> str:
    return s.get("model") or software or "glibc"


def _only_for(model: str):
    def test(s: dict, software: str | None) -> None:
        if _model_of(s, software) != model:
            raise ValueError(f"only a {model} app takes it (this one's model is {_model_of(s, software)})")
    return test


def _resolv_conf(s: dict, software: str | None) -> None:
    stubconf.resolv_conf(["127.0.0.1"], **s["resolv_conf"])


def _cache(s: dict, software: str | None) -> None:
    _only_for("jvm")(s, software)
    lookup.build("jvm", {"cache": s["cache"]}, system=object())


def _nscd(s: dict, software: str | None) -> None:
    _only_for("nscd")(s, software)
    stubconf.nscd_conf(**s["nscd"])


def _dnsmasq(s: dict, software: str | None) -> None:
    _only_for("dnsmasq")(s, software)
    stubconf.dnsmasq_conf(["127.0.0.1"], **s["dnsmasq"])


def _max_stale(s: dict, software: str | None) -> None:
    _only_for("stale-on-error")(s, software)
    lookup.build("stale-on-error", {"max_stale": s["max_stale"]}, system=object())


def _one_of(key: str, allowed: tuple[str, ...]):
    def test(s: dict, software: str | None) -> None:
        if s[key] not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, not {s[key]!r}{suggest(str(s[key]), allowed)}")
    return test


def _resolver_count(s: dict, software: str | None) -> None:
    if not 1 <= len(s["resolvers"]) <= MAX_NAMESERVERS:
        raise ValueError(f"name 1 to {MAX_NAMESERVERS} resolvers (glibc reads at most {MAX_NAMESERVERS} "
                         f"nameservers), not {len(s['resolvers'])}")


_TESTS = {
    "resolv_conf": _resolv_conf, "cache": _cache, "nscd": _nscd, "dnsmasq": _dnsmasq, "max_stale": _max_stale,
    "retry": lambda s, _: retry.validate(s["retry"]),
    "throttle": lambda s, _: leases.Admission.from_spec(s["throttle"]),
    "model": _one_of("model", lookup.MODELS), "family": _one_of("family", ("any", "ipv4", "ipv6")),
    "pick": _one_of("pick", ("first", "random")), "prefer": _one_of("prefer", ("ipv4", "ipv6")),
    "resolvers": _resolver_count,
}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ---- across nodes ---------------------------------------------------------------------------------------------

def check_nodes(problems: Problems, raw_nodes: Map, nodes: dict) -> None:
    """Apps and workloads reach their resolvers and a service; every problem at the node's settings."""
    services = [n for n in nodes.values() if n.role == "service"]
    for node in nodes.values():
        if node.role not in ("app", "workload"):
            continue
        spec = raw_nodes[node.name]
        what = f"node {node.name!r}"
        named = node.settings.get("resolvers")
        if named is not None:
            container = spec["settings"]
            for name in named:
                other = nodes.get(name)
                if other is None or other.role != "resolver":
                    choices = [n.name for n in nodes.values() if n.role == "resolver"]
                    problems.at(container, f"{what}: settings: resolvers: {name!r} is not a resolver node"
                                           f"{suggest(name, choices)}", "resolvers", value=True)
                elif not set(other.addresses) & set(node.addresses):
                    problems.at(container, f"{what}: settings: resolvers: {name!r} shares no network with it",
                                "resolvers", value=True)
        elif not _reachable_resolvers(node, nodes):
            problems.at(spec, f"{what}: shares no network with any resolver: put it on a resolvers' network "
                              f"(e.g. edge) or name settings.resolvers", "networks", value=True)
        if not any(set(s.addresses) & set(node.addresses) for s in services):
            problems.at(spec, f"{what}: shares no network with any service node: put it on the services' network "
                              f"so the endpoint addresses are reachable", "networks", value=True)


def _reachable_resolvers(node, nodes: dict) -> list:
    return [n for n in nodes.values() if n.role == "resolver" and set(n.addresses) & set(node.addresses)]


# ---- what each agent is given ---------------------------------------------------------------------------------

def agent_spec(topology, node) -> dict:
    """The JSON argument of the node's agent (lab.agents.service / app / workload), from the resolved topology."""
    s = dict(node.settings)
    seed = s.pop("seed", None)
    if seed is None:
        seed = sum(node.name.encode())
    if node.role == "service":
        spec = {"service": s.pop("service", None) or node.name, "instance": node.name, "listen": ["0.0.0.0"],
                "port": PORT, "max_seconds": FOREVER_SECONDS, "seed": seed}
        return spec | {k: v for k, v in s.items() if v is not None}
    named = s.pop("resolvers", None)
    chosen = [topology.nodes[n] for n in named] if named else _reachable_resolvers(node, topology.nodes)[:3]
    stub = {"timeout": 5, "attempts": 2, **(s.pop("resolv_conf", None) or {})}
    stub["nameservers"] = [str(topology.address_towards(r, node)) for r in chosen]
    spec = {"port": PORT, "resolv_conf": stub, "seed": seed, "max_seconds": 6 * 3600}
    if node.role == "app":
        spec |= {"app": node.name, "model": node.software}
    else:
        spec |= {"workload": node.name}
    return spec | {k: v for k, v in s.items() if v is not None}
