"""The consoles dnslab prints to: results on stdout, progress and errors on stderr.

Piped output (CI logs, `| less`) gets wide tables instead of rich's 80-column default, so check
details stay on one line where a log reader greps for them."""

from __future__ import annotations

from rich.console import Console

PIPED_WIDTH = 140


def stdout() -> Console:
    return Console(width=None if Console().is_terminal else PIPED_WIDTH)


def stderr() -> Console:
    return Console(stderr=True, width=None if Console(stderr=True).is_terminal else PIPED_WIDTH)
