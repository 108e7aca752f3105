"""What a client does after a failed attempt: the delays before each retry (docs/apps.md).

- `none`: never retry;
- `immediate`: retry at once, up to `max` times — the retry storm a naive client makes;
- `backoff`: exponential backoff with full jitter, retry n (1-based) waits uniform(0, min(cap, base * 2**(n-1)))
  seconds, up to `max` retries (the "Full Jitter" of Brooker, "Exponential Backoff And Jitter", AWS
  Architecture Blog, 2015).

A policy is a mapping {"policy": ..., "max": N, "base": s, "cap": s}; `delays` gives the whole schedule,
bounded by `max`, so every storm stops by itself.
"""

from __future__ import annotations

import random

POLICIES = ("none", "immediate", "backoff")
MAX_RETRIES = 100  # no policy retries more often than this per attempt, whatever a playbook asks


def validate(policy: dict) -> dict:
    """The policy with defaults filled in; raises ValueError naming what is wrong."""
    kind = policy.get("policy", "none")
    if kind not in POLICIES:
        raise ValueError(f"unknown retry policy {kind!r} (one of {', '.join(POLICIES)})")
    full = {"policy": kind, "max": int(policy.get("max", 0 if kind == "none" else 3)),
            "base": float(policy.get("base", 0.1)), "cap": float(policy.get("cap", 5.0))}
    if not 0 <= full["max"] <= MAX_RETRIES:
        raise ValueError(f"retry max must be 0..{MAX_RETRIES}, got {full['max']}")
    if full["base"] <= 0 or full["cap"] < full["base"]:
        raise ValueError(f"backoff needs 0 < base <= cap, got base {full['base']}, cap {full['cap']}")
    return full


def delays(policy: dict, rng: random.Random) -> list[float]:
    """Seconds to wait before retry 1, 2, ... (empty: no retry)."""
    policy = validate(policy)
    if policy["policy"] == "none":
        return []
    if policy["policy"] == "immediate":
        return [0.0] * policy["max"]
    return [full_jitter(n, policy["base"], policy["cap"], rng) for n in range(1, policy["max"] + 1)]


def full_jitter(retry: int, base: float, cap: float, rng: random.Random) -> float:
    """The wait before retry `retry` (1-based): uniform over [0, min(cap, base * 2**(retry-1))]."""
    return rng.uniform(0.0, min(cap, base * 2 ** (retry - 1)))
