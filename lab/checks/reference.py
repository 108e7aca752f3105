"""The check kinds as a Markdown table, from CHECKS itself (docs/playbooks.md holds it between markers; a
unit test keeps it current): `python -m lab.checks.reference` prints it, `--write FILE` puts it in place."""

from __future__ import annotations

import sys
import typing
from pathlib import Path

from lab.checks import CHECKS
from lab.checks.base import FILTER_PARAMS
from lab.params import Param

BEGIN = "<!-- check kinds: generated from lab/checks by `python -m lab.checks.reference --write docs/playbooks.md` -->"
END = "<!-- end of check kinds -->"


def table() -> str:
    rows = ["| check | what it judges | parameters |", "| --- | --- | --- |"]
    for kind, found in CHECKS.items():
        own = [f"{_param(name, param)}" for name, param in found.params.items() if name not in FILTER_PARAMS]
        rows.append(f"| `{kind}` | {_cell(_summary(found.function))} | {'<br>'.join(own) or '—'} |")
    filters = "; ".join(f"`{name}` ({_type(p.type)}): {p.help}" for name, p in FILTER_PARAMS.items())
    return "\n".join(rows) + f"\n\nEvery check also takes the filters {_cell(filters)}.\n"


def _summary(function) -> str:
    """The docstring's first paragraph on one line (its first line alone may stop mid-sentence)."""
    paragraph = (function.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


def _param(name: str, param: Param) -> str:
    need = "required" if param.required else f"default {param.default!r}" if param.default is not None else "optional"
    return _cell(f"`{name}` ({_type(param.type)}, {need}): {param.help}")


def _type(kind: typing.Any) -> str:
    if typing.get_origin(kind) is list:
        return f"list of {_type(typing.get_args(kind)[0])}"
    return "any" if kind is typing.Any else {float: "number", int: "integer", str: "text", bool: "true/false"}.get(
        kind, getattr(kind, "__name__", str(kind)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def block() -> str:
    return f"{BEGIN}\n\n{table()}\n{END}"


def in_document(text: str) -> str | None:
    """The block as `text` holds it now, None without its markers."""
    start, end = text.find(BEGIN), text.find(END)
    return None if start < 0 or end < 0 else text[start:end + len(END)]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--write"] and len(argv) == 2:
        path = Path(argv[1])
        text = path.read_text()
        current = in_document(text)
        if current is None:
            print(f"{path}: no {BEGIN!r} ... {END!r} markers", file=sys.stderr)
            return 2
        path.write_text(text.replace(current, block()))
        return 0
    print(block())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
