"""What a `wait` step waits for, judged over the records seen so far: pure, no clocks, no Docker.

Two kinds of condition:

- an event match `{event: endpoint_applied, source: enactor-a, generation: 7, index: 1}`: an event with
  that name whose fields equal every other given field (7 matches 7 and "7");
- a probe condition `{probes: ok, count: 3, every_resolver: true}`: `count` probes with that outcome since
  the wait began — or, with `every_resolver`, the last `count` probes of every resolver all have it.
  Filters `resolvers`, `clients`, `names` narrow the probes looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from lab import records
from lab.names import name_key
from lab.records import Record

# Event names the lab's programs write (docs/records.md). A wait for any other name could only time out;
# add a new agent event here when you add it to docs/records.md.
KNOWN_EVENTS = (
    "run_started", "step_started", "step_finished", "fault_injected", "fault_cleared", "run_finished",
    "plan_produced", "apply_started", "endpoint_applied", "retry", "apply_finished", "refused",
    "cleanup_deleted", "stuck", "node_lost", "prober_summary", "action_done",
)

OUTCOMES: dict[str, Callable[[Record], bool]] = {
    "ok": records.is_ok,
    "not_ok": lambda probe: not records.is_ok(probe),
    "empty": records.is_empty,  # NODATA or NXDOMAIN
    "nodata": records.is_nodata,
    "nxdomain": lambda probe: probe.get("rcode") == "NXDOMAIN",
    "servfail": lambda probe: records.outcome(probe) == "servfail",
    "timeout": lambda probe: records.outcome(probe) == "timeout",
}

PROBE_FILTERS = ("resolvers", "clients", "names")


def event_matches(match: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Every field of `match` (its `event` key included) equals the event's field of that name."""
    return all(key in event and _same(value, event[key]) for key, value in match.items())


def _same(wanted: Any, seen: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(seen, bool):
        return wanted is seen  # true is not 1 to a playbook author
    if wanted == seen:
        return True
    # Agents may write numbers as text and playbooks as numbers, or the other way round.
    return not isinstance(wanted, (list, dict)) and not isinstance(seen, (list, dict)) and str(wanted) == str(seen)


def find_event(match: Mapping[str, Any], events: Sequence[Record], start: int = 0) -> int | None:
    """Index of the first event at or after `start` that matches, or None."""
    for index in range(start, len(events)):
        if event_matches(match, events[index]):
            return index
    return None


def select_probes(condition: Mapping[str, Any], probes: Iterable[Record]) -> list[Record]:
    resolvers = set(condition.get("resolvers") or ()) or None
    clients = set(condition.get("clients") or ()) or None
    names = {name_key(name) for name in condition.get("names") or ()} or None
    return [
        probe for probe in probes
        if (resolvers is None or probe.get("resolver") in resolvers)
        and (clients is None or probe.get("client") in clients)
        and (names is None or name_key(str(probe.get("name", ""))) in names)
    ]


def probes_met(condition: Mapping[str, Any], probes: Iterable[Record], resolvers: Iterable[str]) -> bool:
    """Whether the probe condition holds over `probes` (those recorded since the wait began, in time order).

    `resolvers` are the resolvers the run probes; with `every_resolver` each of them (after the
    condition's own filter) must have answered, so a resolver that never answers keeps the wait going.
    """
    return probe_progress(condition, probes, resolvers)[0]


def probe_progress(condition: Mapping[str, Any], probes: Iterable[Record],
                   resolvers: Iterable[str]) -> tuple[bool, str]:
    """(met, a short text of how far it is, e.g. `unbound 3/3, sec 1/3`) for progress and timeout messages."""
    wanted = OUTCOMES[condition["probes"]]
    count = int(condition.get("count", 1))
    selected = select_probes(condition, probes)
    if not condition.get("every_resolver"):
        seen = sum(1 for probe in selected if wanted(probe))
        return seen >= count, f"{min(seen, count)}/{count} {condition['probes']}"
    chosen = set(condition.get("resolvers") or ()) or None
    judged = [resolver for resolver in resolvers if chosen is None or resolver in chosen]
    streaks, last = {}, {}
    for resolver in judged:
        streak = 0
        mine = [p for p in selected if p.get("resolver") == resolver]
        for probe in reversed(mine):
            if not wanted(probe):
                break
            streak += 1
        streaks[resolver] = min(streak, count)
        if mine and streak < count and not wanted(mine[-1]):  # what holds it back: the answer it gives now
            last[resolver] = records.outcome(mine[-1]).upper().replace("EMPTY", "NODATA")
    met = bool(judged) and all(streak >= count for streak in streaks.values())
    return met, ", ".join(f"{resolver} {streak}/{count}" + (f" (now {last[resolver]})" if resolver in last else "")
                          for resolver, streak in streaks.items())
