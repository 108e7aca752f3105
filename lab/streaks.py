"""When a series of timed observations turned good again: one rule shared by the probe checks
(recovers_within) and the application figures (app back at +Y s), over a list or one observation at a
time (a run's probes streamed). Pure."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

Record = dict[str, Any]


class Recovery:
    """The first good observation at or after `since` that starts `stable` good ones in a row — or a shorter
    good run that lasted until the series ends (it was still good when the records stopped); `at` is None
    while it never turned good. Fed one observation at a time, in time order."""

    def __init__(self, since: float, ok: Callable[[Record], bool], stable: int = 3):
        self.since, self.ok, self.stable = since, ok, stable
        self.streak_start: float | None = None
        self.streak = 0
        self.done = False  # `stable` good ones in a row: nothing later changes `at`

    def feed(self, item: Record) -> None:
        if self.done or item["t"] < self.since:
            return
        if not self.ok(item):
            self.streak_start, self.streak = None, 0
            return
        self.streak_start = item["t"] if self.streak == 0 else self.streak_start
        self.streak += 1
        self.done = self.streak >= self.stable

    @property
    def at(self) -> float | None:
        return self.streak_start


def recovered_at(series: Sequence[Record], since: float, ok: Callable[[Record], bool], stable: int = 3) -> float | None:
    """Recovery's `at` over a whole `series` sorted by its "t"."""
    recovery = Recovery(since, ok, stable)
    for item in series[bisect.bisect_left(series, since, key=lambda item: item["t"]):]:
        recovery.feed(item)
        if recovery.done:
            break
    return recovery.at


class GroupRecovery:
    """Recovery per group of a stream (by `key`, e.g. each resolver's probes) after each of `since_times`:
    the groups are those that had any observation at all, before a time or after it."""

    def __init__(self, since_times: Iterable[float], ok: Callable[[Record], bool], stable: int,
                 key: Callable[[Record], Hashable]):
        self.since_times, self.ok, self.stable, self.key = sorted(set(since_times)), ok, stable, key
        self.groups: dict[Hashable, dict[float, Recovery]] = {}

    def feed(self, item: Record) -> None:
        group = self.key(item)
        recoveries = self.groups.get(group)
        if recoveries is None:
            recoveries = self.groups[group] = {t: Recovery(t, self.ok, self.stable) for t in self.since_times}
        for recovery in recoveries.values():
            recovery.feed(item)

    def at(self, since: float) -> dict[Hashable, float | None]:
        """group -> when it recovered after `since` (one of since_times), groups in the order of str(group)."""
        return {group: recoveries[since].at for group, recoveries in sorted(self.groups.items(),
                                                                             key=lambda item: str(item[0]))}

    def all_back(self, since: float) -> float | None:
        """When the last group recovered after `since` (None: one never did); `since` itself without groups."""
        if not self.groups:
            return since
        times = list(self.at(since).values())
        return None if None in times else max(times)
