"""The lease manager's bookkeeping, without I/O: which leases are alive, which requests are due, what a result
does to a lease, and who may re-establish now (docs/apps.md, "the cascade").

A lease is kept alive by a renewal every `renew_every` seconds and expires `ttl` seconds after its last
successful renewal. An expired lease needs a re-establishment request; one that fails waits before the next
try — `retry_delay` seconds, the same for every lease (no jitter: the retries stay in lockstep), or with
`jitter` a full-jitter exponential backoff over its consecutive failures. `Admission` decides how many
re-establishments may start: unthrottled (all at once) or at most `max_concurrent` in flight and/or a token
bucket of `rate` per second with `burst`.

States: active (alive; may have a renewal out), expired (waiting for admission), establishing (request out),
backoff (waiting after a failure). Time is passed in, so the machine is tested with a fake clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lab.agents.retry import full_jitter

ACTIVE, EXPIRED, ESTABLISHING, BACKOFF = "active", "expired", "establishing", "backoff"
STATES = (ACTIVE, EXPIRED, ESTABLISHING, BACKOFF)
RENEW, ESTABLISH = "renew", "establish"


@dataclass
class Lease:
    id: int
    state: str
    valid_until: float = 0.0
    next_renew: float = 0.0
    renewing: bool = False
    failures: int = 0
    retry_at: float = 0.0


class Admission:
    """Throttled admission of re-establishments; with neither limit set, everything is admitted."""

    def __init__(self, max_concurrent: int | None = None, rate: float | None = None, burst: float | None = None,
                 now: float = 0.0):
        if max_concurrent is not None and max_concurrent < 1 or rate is not None and rate <= 0:
            raise ValueError("throttle: max_concurrent must be at least 1 and rate above 0")
        self.max_concurrent = max_concurrent
        self.rate = rate
        self.burst = float(burst if burst is not None else (rate or 0))
        self.tokens = self.burst
        self.last = now
        self.in_flight = 0

    @classmethod
    def from_spec(cls, throttle, now: float = 0.0) -> "Admission":
        """null: unthrottled; an int: max_concurrent; a mapping: {max_concurrent, rate, burst}."""
        if throttle is None or throttle is False:
            return cls(now=now)
        if isinstance(throttle, int) and not isinstance(throttle, bool):
            return cls(max_concurrent=throttle, now=now)
        return cls(throttle.get("max_concurrent"), throttle.get("rate"), throttle.get("burst"), now)

    def admit(self, now: float) -> bool:
        if self.max_concurrent is not None and self.in_flight >= self.max_concurrent:
            return False
        if self.rate is not None:
            self.tokens = min(max(self.burst, 1.0), self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens < 1.0:
                return False
            self.tokens -= 1.0
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)


class Leases:
    def __init__(self, count: int, renew_every: float, ttl: float, now: float, rng: random.Random,
                 admission: Admission | None = None, jitter: bool = False, retry_delay: float = 0.1,
                 backoff_base: float = 0.1, backoff_cap: float = 5.0):
        if count < 1 or renew_every <= 0 or ttl <= renew_every:
            raise ValueError("leases need count >= 1 and 0 < renew_every < ttl")
        self.renew_every, self.ttl = renew_every, ttl
        self.rng = rng
        self.admission = admission or Admission(now=now)
        self.jitter, self.retry_delay = jitter, retry_delay
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        # A system in its steady state: every lease alive, renewals spread evenly over one period.
        self.leases = [Lease(i, ACTIVE, valid_until=now + ttl, next_renew=now + renew_every * i / count)
                       for i in range(count)]

    def due(self, now: float) -> list[tuple[int, str]]:
        """The requests to send now, as (lease id, "renew" | "establish"); they count as sent."""
        self.expire(now)
        actions = []
        for lease in self.leases:
            if lease.state == ACTIVE and not lease.renewing and now >= lease.next_renew:
                lease.renewing = True
                actions.append((lease.id, RENEW))
            if lease.state == BACKOFF and now >= lease.retry_at:
                lease.state = EXPIRED
            if lease.state == EXPIRED and self.admission.admit(now):
                lease.state = ESTABLISHING
                actions.append((lease.id, ESTABLISH))
        return actions

    def finished(self, lease_id: int, kind: str, ok: bool, now: float) -> None:
        """The result of a request `due` handed out."""
        lease = self.leases[lease_id]
        if kind == RENEW:
            lease.renewing = False
            if lease.state != ACTIVE:
                return  # it expired while the renewal was out: only a re-establishment brings it back
            if ok:
                lease.valid_until = now + self.ttl
            lease.next_renew = now + self.renew_every
            return
        self.admission.release()
        if ok:
            lease.state, lease.failures = ACTIVE, 0
            lease.valid_until, lease.next_renew = now + self.ttl, now + self.renew_every
            return
        lease.failures += 1
        lease.state, lease.retry_at = BACKOFF, now + self.wait_after(lease.failures)

    def wait_after(self, failures: int) -> float:
        if self.jitter:
            return full_jitter(failures, self.backoff_base, self.backoff_cap, self.rng)
        return self.retry_delay

    def expire(self, now: float) -> None:
        for lease in self.leases:
            if lease.state == ACTIVE and now >= lease.valid_until:
                lease.state = EXPIRED

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for lease in self.leases:
            counts[lease.state] += 1
        return counts
