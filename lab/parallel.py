"""Run a function over items in threads: engine calls are I/O bound, and a lab has many containers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def parallel(fn: Callable[[Any], Any], items: Iterable, workers: int = 8) -> list:
    """fn over items in threads, results in order; re-raises the first error."""
    items = list(items)
    if not items:
        return []
    if len(items) == 1:
        return [fn(items[0])]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))
