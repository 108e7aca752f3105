"""What an enactor decides, as pure functions: freshness, the update for one endpoint, the velocity
limit, what clean-up deletes. The enactor (lab.agents.enactor) does the I/O around these.

Two strategies, chosen by `enactor.strategy`:

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

STRATEGIES = ("naive", "guarded")
MARKER = re.compile(r"gen=(\d+)")
# Rcodes with which a primary refuses an update whose prerequisite does not hold (RFC 2136 3.2.5).
PREREQ_FAILED = ("NXRRSET", "YXRRSET", "NXDOMAIN", "YXDOMAIN")


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


def naive_ops(endpoint: str, generation: int, new: list[str], active: list[str], ttl: int) -> list:
    """The blind change set from the active plan's addresses to the new plan's, plus the marker."""
    ops = [["delete", endpoint, "A", address] for address in active if address not in new]
    ops.append(["add", endpoint, ttl, "A", list(new)])
    ops.append(["replace", endpoint, ttl, "TXT", [marker_text(generation)]])
    return ops


def guarded_update(endpoint: str, generation: int, new: list[str], seen_marker: int | None,
                   ttl: int) -> tuple[list, list]:
    """(prerequisites, ops): replace addresses and marker only if the marker is still what we saw."""
    if seen_marker is None:
        prereq = [["rrset_absent", endpoint, "TXT"]]
    else:
        prereq = [["rrset_value", endpoint, "TXT", [marker_text(seen_marker)]]]
    ops = [["replace", endpoint, ttl, "A", list(new)],
           ["replace", endpoint, ttl, "TXT", [marker_text(generation)]]]
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


def plans_to_delete(generations: list[int], applied: int, keep: int, markers: dict[str, int | None],
                    strategy: str) -> list[int]:
    """Plans clean-up deletes after applying `applied`: those older than applied - keep. Guarded clean-up
    spares every plan some endpoint still serves (its marker names it) and always the newest plan."""
    old = [g for g in generations if g < applied - keep]
    if strategy == "naive":
        return old
    active = {g for g in markers.values() if g is not None}
    newest = max(generations) if generations else None
    return [g for g in old if g not in active and g != newest]


def records_to_remove(markers: dict[str, int | None], existing: set[int] | list[int], strategy: str) -> dict[str, int]:
    """Endpoints whose addresses clean-up removes: those whose active plan was deleted (naive). Guarded
    clean-up never deletes an active plan, and would never empty a serving endpoint anyway."""
    if strategy != "naive":
        return {}
    return orphaned(markers, existing)


def backoff(attempt: int, rng: random.Random, base: float = 0.2, cap: float = 2.0) -> float:
    """Exponential backoff with jitter: ~base, 2*base, 4*base ... up to cap, times 0.5-1.5."""
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + rng.random())
