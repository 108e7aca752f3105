"""Durations as people write them: `10s`, `500ms`, `2m`, `1h`, `1m30s`, or plain seconds (`2.5`). Pure."""

from __future__ import annotations

import math
import re

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError (saying what is accepted) when it is no duration or not positive."""
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        parts = _PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ValueError(f"{text!r} is not a duration; write e.g. 10s, 500ms, 2m or 1m30s") from None
        seconds = sum(float(n) * UNITS[u] for n, u in parts)
    if not math.isfinite(seconds):  # inf, nan, 1e400: a wait that would never end
        raise ValueError(f"{text!r} is not a duration; write e.g. 10s, 500ms, 2m or 1m30s")
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return seconds
