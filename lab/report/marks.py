"""What the timelines draw of a run's probes, in memory that does not grow with the run: per lane, per column
of the picture's width (COLUMNS, timeline.png's plot width in pixels), per outcome the number of probes and
the first and last of their times. timeline.png and report.html's SVG both draw from it: a column holding one
failed probe among a hundred ok ones still holds that probe's outcome, so nothing that failed is averaged
away. Filled a batch of probes at a time during the report's pass over them (build_report's `feeding`).

A lane is a client (per resolver), or a question when the run asks several: which one is only known after
the pass, so both are kept. Pure.
"""

from __future__ import annotations

import math
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
COLUMNS = 1070  # timeline.png's plot area in pixels (lab.report.timeline: 14 in less 3.3 in of margins, 100 dpi)
BATCH = 4096  # probes kept as fed before they are added to the columns (numpy does that a batch at a time)
# Gaps between probes are counted in logarithmic bins (GAP_STEP apart from GAP_MIN, up to 4 hours), for
# their median: what makes back-to-back marks touch. Bin 0 holds gaps of GAP_MIN or less (ties).
GAP_MIN, GAP_STEP, GAP_BINS = 1e-4, 1.05, 400


def kind_of(probe: Record) -> str:
    """The probe's outcome (records.outcome), with slow ok answers told apart."""
    outcome = records.outcome(probe)
    if outcome == "ok" and (probe.get("latency_ms") or 0) > SLOW_MS:
        return "slow"
    return outcome


@dataclass(frozen=True)
class Column:
    """One outcome of one lane over the columns: probes in each, and the first and last of their times
    (seconds since the grid's start, float32: a tenth of a millisecond at an hour, plenty for a picture)."""

    count: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @classmethod
    def empty(cls) -> Column:
        return cls(np.zeros(COLUMNS, np.uint32), np.full(COLUMNS, np.inf, np.float32),
                   np.full(COLUMNS, -np.inf, np.float32))

    def add(self, other: Column) -> None:
        self.count += other.count
        np.minimum(self.first, other.first, out=self.first)
        np.maximum(self.last, other.last, out=self.last)


@dataclass(frozen=True)
class Lane:
    """One lane's probes, by outcome (index into KINDS) and column; `usual`: the median gap between a client's
    probes in it (None: no client probed twice)."""

    columns: dict[int, Column]
    start: float  # Unix time of the grid's start
    usual: float | None

    def spans(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every (column, outcome) that holds probes, by the time of its first probe, ok before problems: the
        Unix times of their first and last probes, their outcomes (index into KINDS), how many."""
        parts = [(column.first[held], column.last[held], np.full(len(held), code), column.count[held])
                 for code, column in sorted(self.columns.items()) for held in [np.flatnonzero(column.count)]]
        if not parts:
            return np.array([]), np.array([]), np.array([], np.int64), np.array([], np.int64)
        first, last, kinds, counts = (np.concatenate(part) for part in zip(*parts))
        order = np.lexsort((kinds, first))
        return (self.start + first[order].astype(np.float64), self.start + last[order].astype(np.float64),
                kinds[order], counts[order].astype(np.int64))


class _Gaps:
    """A median of gaps in bounded memory: counts and sums in logarithmic bins (GAP_STEP apart); the median is
    the mean of the gaps in its bin, so the steady gap of a prober comes out as it is."""

    def __init__(self) -> None:
        self.counts = np.zeros(GAP_BINS, np.int64)
        self.sums = np.zeros(GAP_BINS, np.float64)

    def add(self, gaps: np.ndarray) -> None:
        index = np.floor(np.log(np.maximum(gaps, GAP_MIN) / GAP_MIN) / math.log(GAP_STEP)).astype(np.int64) + 1
        index[gaps <= GAP_MIN] = 0
        index = np.minimum(index, GAP_BINS - 1)
        self.counts += np.bincount(index, minlength=GAP_BINS)
        self.sums += np.bincount(index, weights=np.maximum(gaps, 0.0), minlength=GAP_BINS)

    def merge(self, other: _Gaps) -> None:
        self.counts += other.counts
        self.sums += other.sums

    def median(self, ties: bool = True) -> float | None:
        """The median gap; `ties`: gaps of GAP_MIN or less count (as themselves), else they are left out."""
        counts = self.counts if ties else np.concatenate([[0], self.counts[1:]])
        total = int(counts.sum())
        if not total:
            return None
        index = int(np.searchsorted(np.cumsum(counts), total // 2 + 1))
        return float(self.sums[index] / self.counts[index])


class _Lanes:
    """The lanes of one way of telling them apart (by client or by question), per resolver."""

    def __init__(self) -> None:
        self.columns: dict[tuple[int, int], dict[int, Column]] = {}  # (resolver, lane) codes -> kind -> Column
        self.gaps: dict[tuple[int, int], _Gaps] = {}  # between one client's probes in the lane
        self.all_gaps = _Gaps()  # between a lane's probes, any client: what timeline.png's marks touch across
        self.last: dict[tuple, float] = {}  # (resolver, lane) and (resolver, lane, client) -> its latest probe

    def add(self, resolvers: np.ndarray, lanes: np.ndarray, clients: np.ndarray, kinds: np.ndarray,
            t: np.ndarray, column: np.ndarray, since: np.ndarray) -> None:
        keys = resolvers.astype(np.int64) << 32 | lanes
        for key in np.unique(keys):
            mine = keys == key
            lane = (int(key >> 32), int(key & 0xFFFFFFFF))
            by_kind = self.columns.setdefault(lane, {})
            lane_kinds, lane_columns, lane_since = kinds[mine], column[mine], since[mine]
            for code in np.unique(lane_kinds):
                picked = lane_kinds == code
                found = by_kind.get(int(code)) or by_kind.setdefault(int(code), Column.empty())
                where, when = lane_columns[picked], lane_since[picked]
                np.add.at(found.count, where, 1)
                np.minimum.at(found.first, where, when)
                np.maximum.at(found.last, where, when)
            self.all_gaps.add(self._gaps(lane, t[mine]))
            lane_clients = clients[mine]
            gaps = self.gaps.setdefault(lane, _Gaps())
            for client in np.unique(lane_clients):
                gaps.add(self._gaps((*lane, int(client)), t[mine][lane_clients == client]))

    def _gaps(self, key: tuple, times: np.ndarray) -> np.ndarray:
        before = self.last.get(key)
        self.last[key] = float(times[-1])
        return np.diff(times if before is None else np.concatenate([[before], times]))


class Marks:
    """The columns over [start, start + span] (Unix time, seconds); `feed` probes in time order (the gaps
    between them say how wide a mark is); what falls outside the span is counted in the first or last column."""

    def __init__(self, start: float, span: float) -> None:
        self.start, self.span = float(start), max(float(span), 1e-9)
        self._t = array("d")
        self._kind = array("B")
        self._codes = {field: array("I") for field in ("resolver", "client", "question")}
        self._values: dict[str, dict[Any, int]] = {field: {} for field in self._codes}
        self._by = {"client": _Lanes(), "question": _Lanes()}
        self._kinds: Counter[str] = Counter()
        self._count = 0
        self._first: float | None = None
        self._last: float | None = None

    @classmethod
    def for_run(cls, probes: Iterable[Record], events: Iterable[Record]) -> Marks:
        """Empty marks spanning the run as timeline.png's x axis does: from the run's start (records.run_start)
        to its last record, and 1 % more. `probes`: a records.ProbeStream (its first pass knows its first and
        last times) or a list."""
        events = list(events)
        if isinstance(probes, records.ProbeStream):
            first, last = probes.first_t, probes.last_t
        else:
            times = [probe["t"] for probe in probes]
            first, last = min(times, default=None), max(times, default=None)
        start = records.run_start([] if first is None else [{"t": first}], events) or 0.0
        end = max([event["t"] - start for event in events] + ([] if last is None else [last - start]), default=0.0)
        return cls(start, max(end, 1.0) * 1.01)

    @classmethod
    def of(cls, probes: Iterable[Record], events: Iterable[Record] = ()) -> Marks:
        """The marks of `probes` (sorted by time here, stable, as records.read_jsonl does), spanning the run."""
        probes = probes if isinstance(probes, records.ProbeStream) else sorted(probes, key=lambda p: p["t"])
        marks = cls.for_run(probes, events)
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
        if len(self._t) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._t:
            return
        t = np.frombuffer(self._t, dtype=np.float64).copy()
        kinds = np.frombuffer(self._kind, dtype=np.uint8).copy()
        resolvers, clients, questions = (np.frombuffer(self._codes[field], dtype=np.uint32).astype(np.int64)
                                         for field in ("resolver", "client", "question"))
        since = t - self.start
        column = np.clip((since / self.span * COLUMNS).astype(np.int64), 0, COLUMNS - 1)
        since = since.astype(np.float32)
        self._by["client"].add(resolvers, clients, clients, kinds, t, column, since)
        self._by["question"].add(resolvers, questions, clients, kinds, t, column, since)
        self._kinds.update({KINDS[code]: int(n) for code, n in enumerate(np.bincount(kinds)) if n})
        self._count += len(t)
        self._first = float(t.min()) if self._first is None else min(self._first, float(t.min()))
        self._last = float(t.max()) if self._last is None else max(self._last, float(t.max()))
        self._t, self._kind = array("d"), array("B")
        self._codes = {field: array("I") for field in self._codes}

    def __len__(self) -> int:
        self._flush()
        return self._count

    @property
    def questions(self) -> list[tuple[Any, Any]]:
        """Every (name, type) asked, as the records hold them."""
        return list(self._values["question"])

    def first_t(self) -> float | None:
        self._flush()
        return self._first

    def last_t(self) -> float | None:
        self._flush()
        return self._last

    def kind_counts(self) -> Counter[str]:
        self._flush()
        return Counter(self._kinds)

    def median_gap(self, by_question: bool) -> float | None:
        """The median gap between a lane's probes (any client), over every lane; None with no two probes."""
        self._flush()
        return self._by["question" if by_question else "client"].all_gaps.median()

    def lanes(self, label: Callable[[Any, Any], str] | None) -> dict[str, dict[str, Lane]]:
        """str(resolver) -> lane -> Lane, both sorted by name. A lane is `label(name, type)` of a question,
        or the client when `label` is None; questions of one label share a lane."""
        self._flush()
        by = self._by["client" if label is None else "question"]
        resolver_names = {code: str(value) for value, code in self._values["resolver"].items()}
        if label is None:
            lane_names = {code: str(value) for value, code in self._values["client"].items()}
        else:
            lane_names = {code: label(name, qtype) for (name, qtype), code in self._values["question"].items()}
        found: dict[str, dict[str, list[tuple[int, int]]]] = {}
        for resolver, lane in by.columns:
            found.setdefault(resolver_names[resolver], {}).setdefault(lane_names[lane], []).append((resolver, lane))
        return {resolver: {lane: self._lane(by, keys) for lane, keys in sorted(by_lane.items())}
                for resolver, by_lane in sorted(found.items())}

    def _lane(self, by: _Lanes, keys: list[tuple[int, int]]) -> Lane:
        """The Lane of one or more (resolver, lane) codes: their columns as they are, added up when several."""
        if len(keys) == 1:
            return Lane(by.columns[keys[0]], self.start, by.gaps[keys[0]].median(ties=False))
        columns: dict[int, Column] = {}
        gaps = _Gaps()
        for key in keys:
            for code, column in by.columns[key].items():
                if code not in columns:
                    columns[code] = Column.empty()
                columns[code].add(column)
            gaps.merge(by.gaps[key])
        return Lane(columns, self.start, gaps.median(ties=False))
