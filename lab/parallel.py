"""Run a function over items in threads: engine calls are I/O bound, and a lab has many containers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
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


def in_background(fn: Callable[[], Any], name: str = "background") -> Callable[[], Any]:
    """Start fn() in a thread now; the returned function waits for it and returns what it returned, or
    re-raises what it raised (a Future's `result`)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            future.set_exception(exc)
    threading.Thread(target=run, name=name, daemon=True).start()
    return future.result
