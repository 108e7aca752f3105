"""What the timelines draw of a run's probes, in compact columns: per probe its time, resolver, client,
question and outcome (timeline.png's and report.html's colours), about 21 bytes a probe instead of a parsed
record (about 2 KB at the wrap-up's peak). Filled one probe at a time during the report's pass over the
probes (build_report's `feeding`), read as numpy arrays per lane. Pure.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lab import records
from lab.records import Record

# An ok answer slower than this is drawn apart: a latency failure must be visible in the picture too.
SLOW_MS = 250.0
# Outcomes as drawn (lab.report.timeline.OUTCOME_STYLE's order): ok first, so problems paint over it.
KINDS = ("ok", "slow", "wrong", "other", "empty", "nxdomain", "servfail", "timeout")
_KIND_CODES = {kind: code for code, kind in enumerate(KINDS)}


def kind_of(probe: Record) -> str:
    """The probe's outcome (records.outcome), with slow ok answers told apart."""
    outcome = records.outcome(probe)
    if outcome == "ok" and (probe.get("latency_ms") or 0) > SLOW_MS:
        return "slow"
    return outcome


@dataclass(frozen=True)
class Lane:
    """One lane's probes in time order: their times (Unix), outcome codes (index into KINDS) and client codes
    (index into `clients`)."""

    t: np.ndarray
    kind: np.ndarray
    client: np.ndarray
    clients: list[str]


class Marks:
    """The columns; `feed` a probe (any order: lanes are sorted by time, stable, as the records were)."""

    def __init__(self) -> None:
        self._t = array("d")
        self._kind = array("B")
        self._codes = {field: array("I") for field in ("resolver", "client", "question")}
        self._values: dict[str, dict[Any, int]] = {field: {} for field in self._codes}

    @classmethod
    def of(cls, probes: Iterable[Record]) -> Marks:
        marks = cls()
        for probe in probes:
            marks.feed(probe)
        return marks

    def feed(self, probe: Record) -> None:
        self._t.append(probe["t"])
        self._kind.append(_KIND_CODES[kind_of(probe)])
        for field, value in (("resolver", probe.get("resolver")), ("client", probe.get("client")),
                             ("question", (probe.get("name"), probe.get("type")))):
            codes = self._values[field]
            self._codes[field].append(codes.setdefault(value, len(codes)))

    def __len__(self) -> int:
        return len(self._t)

    @property
    def questions(self) -> list[tuple[Any, Any]]:
        """Every (name, type) asked, as the records hold them."""
        return list(self._values["question"])

    def first_t(self) -> float | None:
        return float(np.min(self._array("t"))) if len(self) else None

    def last_t(self) -> float | None:
        return float(np.max(self._array("t"))) if len(self) else None

    def kind_counts(self) -> Counter[str]:
        counts = np.bincount(self._array("kind"), minlength=len(KINDS))
        return Counter({kind: int(count) for kind, count in zip(KINDS, counts) if count})

    def lanes(self, label: Callable[[Any, Any], str] | None) -> dict[str, dict[str, Lane]]:
        """str(resolver) -> lane -> Lane, both sorted by name. A lane is `label(name, type)` of a question,
        or the client when `label` is None."""
        t, kinds = self._array("t"), self._array("kind")
        resolvers, clients = self._array("resolver"), self._array("client")
        client_names = [str(value) for value in self._values["client"]]
        if label is None:
            lane_of, lane_codes = client_names, clients
        else:
            lane_of, lane_codes = [label(name, qtype) for name, qtype in self._values["question"]], \
                self._array("question")
        found: dict[str, dict[str, list[np.ndarray]]] = {}
        for resolver, code in self._values["resolver"].items():
            mine = np.flatnonzero(resolvers == code)
            for lane_code in np.unique(lane_codes[mine]):
                found.setdefault(str(resolver), {}).setdefault(lane_of[lane_code], []).append(
                    mine[lane_codes[mine] == lane_code])
        result: dict[str, dict[str, Lane]] = {}
        for resolver, by_lane in sorted(found.items()):
            result[resolver] = {}
            for lane, parts in sorted(by_lane.items()):
                picked = np.sort(np.concatenate(parts))  # in the order fed, then by time (stable)
                picked = picked[np.argsort(t[picked], kind="stable")]
                result[resolver][lane] = Lane(t[picked], kinds[picked], clients[picked], client_names)
        return result

    def _array(self, field: str) -> np.ndarray:
        column = {"t": self._t, "kind": self._kind}.get(field, self._codes.get(field))
        dtype = {"d": np.float64, "B": np.uint8, "I": np.uint32}[column.typecode]
        return np.frombuffer(column, dtype=dtype) if len(column) else np.array([], dtype=dtype)
