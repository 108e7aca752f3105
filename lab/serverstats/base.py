"""What the parsers share: their error, and reading `key=value` / `key value` / `key = value` lines."""

from __future__ import annotations


class StatsError(ValueError):
    """The text is not the statistics output this parser reads."""


def pairs(text: str, separator: str | None) -> dict[str, float]:
    """Every line `key<separator>number` (separator None: any whitespace) as {key: number}; other lines
    are left out, so a parser must check for the keys it needs."""
    values = {}
    for line in text.splitlines():
        key, found, value = (line.partition(separator) if separator else _split(line))
        if not found:
            continue
        try:
            number = float(value.strip())
        except ValueError:
            continue
        values[key.strip()] = int(number) if number.is_integer() else number
    return values


def _split(line: str) -> tuple[str, str, str]:
    parts = line.split(None, 1)
    return (parts[0], " ", parts[1]) if len(parts) == 2 else (line, "", "")


def need(values: dict, keys: tuple[str, ...], what: str) -> None:
    missing = [key for key in keys if key not in values]
    if missing:
        raise StatsError(f"not {what} output: no {', '.join(missing)}")
