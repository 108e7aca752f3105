"""How an application turns a name into addresses (docs/apps.md): the container's own getaddrinfo, and the
caches applications keep in front of it.

- `SystemResolver`: socket.getaddrinfo, i.e. glibc with whatever the container has — its stub reading
  /etc/resolv.conf, a real nscd it asks first, or a real dnsmasq that resolv.conf points at. The `glibc`,
  `nscd` and `dnsmasq` models are this class; they differ in what runs beside the app (lab.agents.localcache).
- `JvmCache`: java.net.InetAddress's cache over the system resolver — every success kept `positive` seconds,
  every failure (NXDOMAIN, SERVFAIL and timeouts alike: all are an UnknownHostException) `negative` seconds.
- `StaleOnError`: keep the last good answer and use it whenever a lookup fails.

`resolve(name)` returns an Answer and never raises; the clock is injectable so the caches are unit-tested.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

OUTCOMES = ("ok", "nxdomain", "nodata", "servfail", "timeout", "error")
FAMILIES = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
FOREVER = None  # a cache time of None: never expires (networkaddress.cache.ttl=-1)


@dataclass(frozen=True)
class Answer:
    """What a lookup ended with, as the application sees it.

    `source`: "system" (getaddrinfo answered now), "cache" / "negative-cache" (the app's own cache answered),
    "stale" (a failed lookup hidden by an old answer; `underlying` says how the lookup really ended).
    """

    outcome: str
    addresses: tuple[str, ...] = ()
    source: str = "system"
    seconds: float = 0.0
    detail: str | None = None
    underlying: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


class SystemResolver:
    """getaddrinfo in this container. glibc reports SERVFAIL and a timeout alike (EAI_AGAIN); a failure that
    took at least one resolv.conf `timeout` is called a timeout, a quicker one servfail."""

    def __init__(self, family: str = "any", timeout: float = 5.0,
                 getaddrinfo: Callable = socket.getaddrinfo, clock: Callable[[], float] = time.monotonic):
        self.family = FAMILIES[family]
        self.timeout = float(timeout)
        self.getaddrinfo = getaddrinfo
        self.clock = clock

    def resolve(self, name: str) -> Answer:
        started = self.clock()
        try:
            infos = self.getaddrinfo(name, None, self.family, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            elapsed = self.clock() - started
            return Answer(self._outcome(exc.errno, elapsed), (), "system", round(elapsed, 6),
                          f"{_gai_name(exc.errno)}: {exc.strerror}")
        except (OSError, UnicodeError) as exc:
            return Answer("error", (), "system", round(self.clock() - started, 6), str(exc))
        # getaddrinfo's order is the one an application connects in (RFC 6724 sorting); keep it, drop repeats.
        addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
        return Answer("ok", addresses, "system", round(self.clock() - started, 6))

    def _outcome(self, errno: int, elapsed: float) -> str:
        if errno == socket.EAI_NONAME:
            return "nxdomain"
        if errno in (getattr(socket, "EAI_NODATA", None), getattr(socket, "EAI_ADDRFAMILY", None)):
            return "nodata"
        if errno == socket.EAI_AGAIN:
            return "timeout" if elapsed >= 0.9 * self.timeout else "servfail"
        return "error"


def _gai_name(errno: int) -> str:
    for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY", "EAI_AGAIN", "EAI_FAIL", "EAI_SYSTEM"):
        if getattr(socket, name, None) == errno:
            return name
    return f"EAI {errno}"


class JvmCache:
    """java.net.InetAddress's cache (networkaddress.cache.ttl / .negative.ttl, docs/apps.md).

    Times are seconds from the end of the lookup; None caches forever, 0 never. The JDK lets one thread look a
    name up while the others wait for its result: so does this, per name."""

    def __init__(self, system, positive: float | None = 30, negative: float | None = 10,
                 clock: Callable[[], float] = time.monotonic):
        self.system = system
        self.positive = positive
        self.negative = negative
        self.clock = clock
        self._entries: dict[str, tuple[Answer, float | None]] = {}  # name -> (answer, expires at or None)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def resolve(self, name: str) -> Answer:
        with self._lock(name):
            cached = self._cached(name)
            if cached is not None:
                return cached
            answer = self.system.resolve(name)
            keep = self.positive if answer.ok else self.negative
            if keep != 0:
                self._entries[name] = (answer, None if keep is FOREVER else self.clock() + keep)
            return answer

    def _cached(self, name: str) -> Answer | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        answer, expires = entry
        if expires is not None and self.clock() >= expires:
            del self._entries[name]
            return None
        return replace(answer, source="cache" if answer.ok else "negative-cache", seconds=0.0)

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())


class StaleOnError:
    """Every lookup goes to the system resolver; when one fails, the last good answer (at most `max_stale`
    seconds old, None: any age) stands in for it. What the application waited for the failure is kept."""

    def __init__(self, system, max_stale: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.system = system
        self.max_stale = max_stale
        self.clock = clock
        self._last: dict[str, tuple[Answer, float]] = {}
        self._guard = threading.Lock()

    def resolve(self, name: str) -> Answer:
        answer = self.system.resolve(name)
        now = self.clock()
        with self._guard:
            if answer.ok:
                self._last[name] = (answer, now)
                return answer
            last = self._last.get(name)
        if last is None or (self.max_stale is not None and now - last[1] > self.max_stale):
            return answer
        return replace(last[0], source="stale", seconds=answer.seconds, detail=answer.detail,
                       underlying=answer.outcome)


# The models an app can name, and the system resolver each one sits on. nscd and dnsmasq are glibc with a real
# daemon beside it (lab.agents.localcache); jvm and stale-on-error are caches of the app's own.
MODELS = ("glibc", "nscd", "dnsmasq", "jvm", "stale-on-error")


def build(model: str, settings: dict, system=None, clock: Callable[[], float] = time.monotonic):
    """The resolver of an app of `model` (settings: see lab.agents.app)."""
    if model not in MODELS:
        raise ValueError(f"unknown resolver model {model!r} (one of {', '.join(MODELS)})")
    stub = settings.get("resolv_conf", {})
    if system is None:
        system = SystemResolver(settings.get("family", "any"), float(stub.get("timeout", 5)))
    if model == "jvm":
        cache = settings.get("cache", {})
        return JvmCache(system, _seconds(cache.get("positive", 30)), _seconds(cache.get("negative", 10)), clock)
    if model == "stale-on-error":
        return StaleOnError(system, _seconds(settings.get("max_stale", "forever")), clock)
    return system


def _seconds(value) -> float | None:
    """A cache time in seconds; "forever" or a negative number (Java's -1) caches forever."""
    if value == "forever" or value is None:
        return FOREVER
    value = float(value)
    return FOREVER if value < 0 else value
