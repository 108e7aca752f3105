"""The configuration files of an application's resolver stack, rendered from its settings: /etc/resolv.conf for
glibc's stub, nscd.conf for a real nscd, dnsmasq.conf for a real dnsmasq (docs/apps.md).

Pure functions: the app agent writes their output before it starts (lab.agents.app), and the orchestrator may
render the same files to put them into a container itself. Values glibc or the daemons would silently cap or
ignore are refused here instead, so a topology never asks for something the real component does not do.
"""

from __future__ import annotations

import ipaddress

# glibc's limits (resolv/resolv.h): MAXNS nameservers, RES_MAXRETRANS for timeout, RES_MAXRETRY for attempts,
# RES_MAXNDOTS for ndots. Beyond them glibc ignores the extra servers or caps the value without a word.
MAX_NAMESERVERS = 3
MAX_TIMEOUT = 30
MAX_ATTEMPTS = 5
MAX_NDOTS = 15
# dnsmasq refuses a min-cache-ttl above an hour (dnsmasq(8)).
DNSMASQ_MAX_MIN_TTL = 3600


def resolv_conf(
    nameservers: list[str],
    timeout: int = 5,
    attempts: int = 2,
    rotate: bool = False,
    single_request: bool = False,
    single_request_reopen: bool = False,
    ndots: int | None = None,
    search: list[str] | tuple[str, ...] = (),
) -> str:
    """/etc/resolv.conf as resolv.conf(5) reads it; the defaults are glibc's own (timeout 5 s, 2 attempts)."""
    if not 1 <= len(nameservers) <= MAX_NAMESERVERS:
        raise ValueError(f"resolv.conf takes 1 to {MAX_NAMESERVERS} nameservers (glibc ignores the rest), "
                         f"got {len(nameservers)}")
    for server in nameservers:
        ipaddress.ip_address(server)  # raises ValueError: glibc takes addresses only, never names
    _within("timeout", timeout, 1, MAX_TIMEOUT)
    _within("attempts", attempts, 1, MAX_ATTEMPTS)
    lines = ["# rendered by dnslab (lab.agents.stubconf); glibc reads it on every change"]
    if search:
        lines.append("search " + " ".join(search))
    lines += [f"nameserver {server}" for server in nameservers]
    options = [f"timeout:{timeout}", f"attempts:{attempts}"]
    if ndots is not None:
        _within("ndots", ndots, 0, MAX_NDOTS)
        options.append(f"ndots:{ndots}")
    if rotate:
        options.append("rotate")
    if single_request:
        options.append("single-request")
    if single_request_reopen:
        options.append("single-request-reopen")
    lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def nscd_conf(positive: int = 3600, negative: int = 20, reload_count: int | str = 5, shared: bool = True) -> str:
    """nscd.conf(5) with only the hosts cache on (its defaults are glibc's built-in 3600 s / 20 s).

    nscd reloads an expired entry by itself up to `reload_count` times ("unlimited" allowed) before it drops
    it; with `shared` the clients read the cache from shared memory without asking the daemon."""
    _within("positive", positive, 0, 2**31 - 1)
    _within("negative", negative, 0, 2**31 - 1)
    if reload_count != "unlimited":
        _within("reload_count", reload_count, 0, 254)
    lines = [
        "# rendered by dnslab (lab.agents.stubconf): the hosts cache only",
        "debug-level 0",
        "paranoia no",
        f"reload-count {reload_count}",
    ]
    lines += [f"enable-cache {table} no" for table in ("passwd", "group", "netgroup", "services")]
    lines += [
        "enable-cache hosts yes",
        f"positive-time-to-live hosts {positive}",
        f"negative-time-to-live hosts {negative}",
        "suggested-size hosts 211",
        "check-files hosts yes",
        "persistent hosts no",  # a lab container starts with an empty cache
        f"shared hosts {'yes' if shared else 'no'}",
        "max-db-size hosts 33554432",
    ]
    return "\n".join(lines) + "\n"


def dnsmasq_conf(
    servers: list[str],
    cache_size: int = 150,
    min_cache_ttl: int | None = None,
    max_cache_ttl: int | None = None,
    neg_ttl: int | None = None,
    negative_cache: bool = True,
    use_stale_cache: bool | int = False,
    strict_order: bool = False,
    log_queries: bool = False,
    listen: str = "127.0.0.1",
) -> str:
    """dnsmasq(8) as a local caching forwarder to the lab's resolvers only (no /etc/resolv.conf, no /etc/hosts).

    dnsmasq keeps an answer for its TTL (clamped by min/max-cache-ttl), a negative answer for its SOA minimum
    (neg-ttl when the answer has no SOA), and with use-stale-cache answers from expired entries while it
    refreshes them upstream (an int: at most that many seconds past expiry)."""
    if not servers:
        raise ValueError("dnsmasq needs at least one upstream server")
    for server in servers:
        ipaddress.ip_address(server)
    ipaddress.ip_address(listen)
    _within("cache_size", cache_size, 0, 10_000)
    lines = [
        "# rendered by dnslab (lab.agents.stubconf): a local cache in front of the lab's resolvers",
        f"listen-address={listen}",
        "bind-interfaces",
        "port=53",
        "no-resolv",  # never read /etc/resolv.conf: it points at dnsmasq itself
        "no-hosts",
        "log-facility=-",  # stderr: the app agent passes it on to its own log
    ]
    lines += [f"server={server}" for server in servers]
    lines.append(f"cache-size={cache_size}")
    if min_cache_ttl is not None:
        _within("min_cache_ttl", min_cache_ttl, 0, DNSMASQ_MAX_MIN_TTL)
        lines.append(f"min-cache-ttl={min_cache_ttl}")
    if max_cache_ttl is not None:
        _within("max_cache_ttl", max_cache_ttl, 0, 2**31 - 1)
        lines.append(f"max-cache-ttl={max_cache_ttl}")
    if neg_ttl is not None:
        _within("neg_ttl", neg_ttl, 0, 2**31 - 1)
        lines.append(f"neg-ttl={neg_ttl}")
    if not negative_cache:
        lines.append("no-negcache")
    if use_stale_cache is True:
        lines.append("use-stale-cache")
    elif use_stale_cache is not False:
        _within("use_stale_cache", use_stale_cache, 1, 2**31 - 1)
        lines.append(f"use-stale-cache={use_stale_cache}")
    if strict_order:
        lines.append("strict-order")
    if log_queries:
        lines.append("log-queries")
    return "\n".join(lines) + "\n"


def _within(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
