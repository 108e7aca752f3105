"""When a series of timed observations turned good again: one rule shared by the probe checks
(recovers_within) and the application figures (app back at +Y s). Pure."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

Record = dict[str, Any]


def recovered_at(series: Sequence[Record], since: float, ok: Callable[[Record], bool], stable: int = 3) -> float | None:
    """The time of the first good observation after `since` that starts `stable` good ones in a row — or a
    shorter good run that lasted until the series ends (it was still good when the records stopped). None:
    it never turned good. `series` is sorted by its "t"."""
    start = bisect.bisect_left(series, since, key=lambda item: item["t"])
    streak_start, streak = None, 0
    for item in series[start:]:
        if not ok(item):
            streak_start, streak = None, 0
            continue
        streak_start = item["t"] if streak == 0 else streak_start
        streak += 1
        if streak >= stable:
            return streak_start
    return streak_start
