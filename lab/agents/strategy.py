"""What an enactor decides, as pure code: freshness, the write for one endpoint, the velocity limit, what
clean-up deletes. The enactor (lab.agents.enactor) does the I/O around these.

A strategy is one class implementing `Strategy`, found by its name (`enactor.strategy`) in STRATEGIES:

- `naive`, the design that failed in us-east-1 (October 2025): one freshness check before an apply, then
  blind writes. An endpoint is changed as a change set from its *active* plan (the generation its marker
  names): delete that plan's addresses the new plan drops, add the new ones, move the marker. Clean-up
  deletes every plan older than (applied - keep), active or not, and removes from DNS the addresses
  of endpoints whose active plan it finds deleted. An endpoint whose active plan is gone cannot be changed
  any more (there is no change set to compute): the enactors are stuck until an operator repairs it.
- `guarded`, the fix: every endpoint write is a compare-and-set on the generation marker (an RFC 2136
  prerequisite "TXT is exactly gen=<what I saw>"), so the primary refuses a write based on an outdated view;
  a plan that is not newer than the marker is refused as stale; clean-up never deletes a plan that is
  active anywhere and never removes serving records; and a velocity limit refuses a plan that would
  remove more than `max_removal` of an endpoint's addresses at once.

The generation marker is a TXT record `gen=N` at the endpoint name, next to its addresses: clients and
checks see which plan they are served.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

MARKER = re.compile(r"gen=(\d+)")
# Rcodes with which a primary refuses an update whose prerequisite does not hold (RFC 2136 3.2.5).
PREREQ_FAILED = ("NXRRSET", "YXRRSET", "NXDOMAIN", "YXDOMAIN")
ADDRESS_TYPES = ("A", "AAAA")  # the address sets of an endpoint (AAAA: a dual-stack endpoint's)


def marker_text(generation: int) -> str:
    return f"gen={generation}"


def parse_marker(texts: list[str]) -> int | None:
    """The generation in an endpoint's TXT answers (the highest if there are several), or None."""
    found = [int(m.group(1)) for m in (MARKER.search(str(t)) for t in texts) if m]
    return max(found) if found else None


def is_fresh(generation: int, markers: dict[str, int | None]) -> bool:
    """The one-time freshness check: the plan is newer than anything applied to any of its endpoints."""
    applied = [g for g in markers.values() if g is not None]
    return not applied or generation > max(applied)


def orphaned(markers: dict[str, int | None], existing: set[int] | list[int]) -> dict[str, int]:
    """Endpoints whose active plan (the generation of their marker) no longer exists in the store."""
    existing = set(existing)
    return {e: g for e, g in markers.items() if g is not None and g not in existing}


def stuck_reason(gone: dict[str, int]) -> str:
    endpoint, generation = sorted(gone.items())[0]
    more = f" (and {len(gone) - 1} more endpoints)" if len(gone) > 1 else ""
    return (f"active plan gen={generation} of {endpoint} is gone from the plan store{more}: "
            f"no change set can be computed; run 'dnslab repair'")


def address_type(address: str) -> str:
    """A for an IPv4 address, AAAA for an IPv6 one (a dual-stack endpoint's plan holds both)."""
    return "AAAA" if ":" in address else "A"


def by_type(addresses: list[str]) -> dict[str, list[str]]:
    """{"A": [...], "AAAA": [...]}: only the types that hold an address, in the order given."""
    found: dict[str, list[str]] = {}
    for address in addresses:
        found.setdefault(address_type(address), []).append(address)
    return found


def naive_ops(endpoint: str, generation: int, new: list[str], active: list[str], ttl: int) -> list:
    """The blind change set from the active plan's addresses to the new plan's (A and AAAA sets), plus
    the marker."""
    ops = [["delete", endpoint, address_type(address), address] for address in active if address not in new]
    ops += [["add", endpoint, ttl, rdtype, values] for rdtype, values in by_type(new).items()]
    ops.append(["replace", endpoint, ttl, "TXT", [marker_text(generation)]])
    return ops


def guarded_update(endpoint: str, generation: int, new: list[str], seen_marker: int | None,
                   ttl: int) -> tuple[list, list]:
    """(prerequisites, ops): replace addresses and marker only if the marker is still what we saw."""
    if seen_marker is None:
        prereq = [["rrset_absent", endpoint, "TXT"]]
    else:
        prereq = [["rrset_value", endpoint, "TXT", [marker_text(seen_marker)]]]
    sets = by_type(new)
    # A type the plan gives no address is deleted, so an endpoint never keeps a family the plan dropped.
    ops = [["replace", endpoint, ttl, rdtype, sets[rdtype]] if rdtype in sets else ["delete", endpoint, rdtype]
           for rdtype in ADDRESS_TYPES]
    ops.append(["replace", endpoint, ttl, "TXT", [marker_text(generation)]])
    return prereq, ops


def removed_share(current: list[str], new: list[str]) -> float:
    """The share of the endpoint's current addresses the new plan would remove (0 for an empty endpoint)."""
    if not current:
        return 0.0
    return len(set(current) - set(new)) / len(set(current))


def velocity_refused(current: list[str], new: list[str], max_removal: float) -> bool:
    return removed_share(current, new) > max_removal


def after_prereq_failure(generation: int, marker_now: int | None) -> str:
    """What a refused compare-and-set means, given the marker read afterwards:
    `stale` (a newer plan is applied: ours must never win), `done` (another enactor applied this same
    plan), `retry` (the marker moved but is still older: try again from the new view)."""
    if marker_now is not None and marker_now > generation:
        return "stale"
    if marker_now == generation:
        return "done"
    return "retry"


def backoff(attempt: int, rng: random.Random, base: float = 0.2, cap: float = 2.0) -> float:
    """Exponential backoff with jitter: ~base, 2*base, 4*base ... up to cap, times 0.5-1.5."""
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + rng.random())


# ---- the strategies ----------------------------------------------------------------------------------------


class Stuck(Exception):
    """No write can be computed for an endpoint (its active plan is gone): the message says why."""


class Strategy(ABC):
    """How an enactor writes a plan to one endpoint and what its clean-up may delete afterwards.

    An endpoint as the enactor read it is {"marker": generation or None, "addresses": [...]}. Per endpoint
    the enactor asks `refusal`, then sends `update`'s write, and, when a compare-and-set strategy's
    prerequisite fails, reads again and lets `after_prereq_failure` say what that meant.
    """

    name: ClassVar[str]
    # Read the endpoint again right before each write (the write is computed from what is there now)
    # instead of writing against the view the freshness check saw.
    rereads: ClassVar[bool] = False
    # Its writes carry a prerequisite on the marker: the primary's refusal (PREREQ_FAILED) is a verdict
    # about the plan, not an error to retry blindly.
    compare_and_set: ClassVar[bool] = False

    def refusal(self, generation: int, seen: dict, new: list[str], settings: dict) -> dict | None:
        """Why this plan must not be written to this endpoint at all, as the fields of the `refused`
        event (`reason` first); None to write it."""
        return None

    @abstractmethod
    def update(self, endpoint: str, generation: int, new: list[str], seen: dict, ttl: int,
               addresses_of: Callable[[int], list[str] | None]) -> tuple[list, list]:
        """(prerequisites, ops) that put the plan's addresses `new` on the endpoint. `addresses_of(g)`: the
        addresses plan g gives this endpoint, None when plan g is gone. Raises Stuck when there is no write."""

    @abstractmethod
    def plans_to_delete(self, generations: list[int], applied: int, keep: int,
                        markers: dict[str, int | None]) -> list[int]:
        """Plans clean-up deletes after applying `applied` (`markers`: endpoint -> the generation it serves)."""

    def records_to_remove(self, markers: dict[str, int | None], existing: set[int] | list[int]) -> dict[str, int]:
        """Endpoints whose addresses clean-up removes from DNS (endpoint -> its gone active generation)."""
        return {}


def _older(generations: list[int], applied: int, keep: int) -> list[int]:
    return [g for g in generations if g < applied - keep]


class Naive(Strategy):
    """One freshness check, then blind change sets; clean-up deletes by age alone."""

    name = "naive"
    rereads = True

    def update(self, endpoint, generation, new, seen, ttl, addresses_of):
        active = seen["addresses"]
        if seen["marker"] is not None:
            active = addresses_of(seen["marker"])
            if active is None:
                raise Stuck(stuck_reason({endpoint: seen["marker"]}))
        return [], naive_ops(endpoint, generation, new, active, ttl)

    def plans_to_delete(self, generations, applied, keep, markers):
        return _older(generations, applied, keep)

    def records_to_remove(self, markers, existing):
        # The active plan was deleted: its addresses go too (the step that empties a serving endpoint).
        return orphaned(markers, existing)


class Guarded(Strategy):
    """Compare-and-set writes, stale and velocity refusals, a clean-up that spares every active plan."""

    name = "guarded"
    compare_and_set = True

    def refusal(self, generation, seen, new, settings):
        if seen["marker"] is not None and seen["marker"] >= generation:
            return {"reason": "stale", "active": seen["marker"], "rcode": None}
        max_removal = float(settings["max_removal"])
        if velocity_refused(seen["addresses"], new, max_removal):
            return {"reason": "velocity", "removed": round(removed_share(seen["addresses"], new), 3),
                    "max_removal": max_removal}
        return None

    def update(self, endpoint, generation, new, seen, ttl, addresses_of):
        return guarded_update(endpoint, generation, new, seen["marker"], ttl)

    def plans_to_delete(self, generations, applied, keep, markers):
        # Spare every plan some endpoint still serves (its marker names it) and always the newest plan.
        active = {g for g in markers.values() if g is not None}
        newest = max(generations) if generations else None
        return [g for g in _older(generations, applied, keep) if g not in active and g != newest]


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (Naive(), Guarded())}


def named(name: str) -> Strategy:
    """The strategy `enactor.strategy` names (settings are validated against STRATEGIES before they get here)."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown enactor strategy {name!r}; strategies: {', '.join(STRATEGIES)}") from None
