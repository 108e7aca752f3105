"""Read the records a run leaves in its directory, and classify probes.

The file formats are the contract in docs/records.md. Reading is lenient only where a killed run leaves
damage: a line that is not a complete JSON object (typically the last one, cut off mid-write) is skipped
and counted, so the report can say how much evidence was lost instead of refusing to judge the rest.
Everything else here is pure: checks, reports and plots build on these helpers.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import truth as lab_truth
from lab.errors import InputError

PROBES_FILE = "probes.jsonl"
EVENTS_FILE = "events.jsonl"
TRUTH_FILE = lab_truth.TRUTH_FILE
APPS_FILE = "apps.jsonl"  # app attempts, workload reports, services' counters (docs/apps.md)
SAMPLES_FILE = "samples.jsonl"  # servers' own counters (lab.serverstats)

Record = dict[str, Any]
SHARED_CHARS = 64  # strings up to this long are held once per file read as a list (read_jsonl)

# What a probe saw, from a user's point of view. "empty" is NODATA only; is_empty() also counts NXDOMAIN.
# "wrong": an answer (data, NODATA or NXDOMAIN) no authoritative server held then (lab.truth).
OUTCOMES = ("ok", "wrong", "empty", "nxdomain", "servfail", "timeout", "other")


@dataclass(frozen=True)
class RunRecords:
    """Everything a run recorded, each list sorted by time (`probes`: a list, or stream_run's ProbeStream)."""

    probes: list[Record] | ProbeStream
    events: list[Record]
    truncated_lines: int  # lines skipped because they were not a complete record
    truth: lab_truth.Truth | None = None  # None: the run recorded no truth.jsonl
    apps: list[Record] = field(default_factory=list)  # apps.jsonl: what applications saw
    samples: list[Record] = field(default_factory=list)  # samples.jsonl: servers' counters


def read_run(run_dir: str | Path) -> RunRecords:
    """Read probes.jsonl and events.jsonl of RUN_DIR; a missing file reads as no records. With truth.jsonl
    every probe gets its `truth` verdict (lab.truth: held, unseen, stale, unheld; None without an answer),
    which outcome() and is_ok() read: checks and reports see wrong answers without knowing the truth.

    Raises InputError when RUN_DIR holds neither file: that is a wrong path, not a run without evidence.
    """
    run_dir = Path(run_dir)
    probes_path, events_path = run_dir / PROBES_FILE, run_dir / EVENTS_FILE
    _must_hold_records(run_dir)
    probes, bad_probe_lines = read_jsonl(probes_path)
    events, bad_event_lines = read_jsonl(events_path)
    truth, bad_truth_lines = read_truth(run_dir)
    if truth is not None:
        for probe in probes:  # one probe at a time: a streaming reader can do the same
            lab_truth.mark(probe, truth)
    apps, bad_app_lines = read_jsonl(run_dir / APPS_FILE)
    samples, bad_sample_lines = read_jsonl(run_dir / SAMPLES_FILE)
    return RunRecords(probes, events, bad_probe_lines + bad_event_lines + bad_truth_lines + bad_app_lines
                      + bad_sample_lines, truth, apps, samples)


class ProbeStream:
    """probes.jsonl as a stream: every complete line, in time order (stable, as read_jsonl sorts), each marked
    with its truth verdict like read_run's — read from the file again on every iteration, never held.

    A first pass counts the lines and learns how far behind the latest time a line ever came (a timeout is
    written after the answers to later probes); iterating then holds only the lines of that lag in a heap, so
    memory follows the probe rate and the lag, not the length of the run. `count`, `skipped`, `first_t` and
    `last_t` are the first pass's figures.
    """

    def __init__(self, path: str | Path, truth: lab_truth.Truth | None = None):
        self.path, self.truth = Path(path), truth
        self.count = self.skipped = 0
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.lag = 0.0  # the longest a line's time was behind the latest time read before it
        for record in self._lines():
            if record is None:
                self.skipped += 1
                continue
            t = record["t"]
            self.count += 1
            self.first_t = t if self.first_t is None else min(self.first_t, t)
            self.lag = max(self.lag, self.last_t - t) if self.last_t is not None else 0.0
            self.last_t = t if self.last_t is None else max(self.last_t, t)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Record]:
        pending: list[tuple[float, int, Record]] = []
        latest = None
        for number, record in enumerate(record for record in self._lines() if record is not None):
            t = record["t"]
            latest = t if latest is None else max(latest, t)
            heapq.heappush(pending, (t, number, record))
            # No later line can come before `latest - lag`: what lies there is in its place for good.
            while pending and pending[0][0] <= latest - self.lag:
                yield self._marked(heapq.heappop(pending)[2])
        while pending:
            yield self._marked(heapq.heappop(pending)[2])

    def _marked(self, record: Record) -> Record:
        if self.truth is not None:
            lab_truth.mark(record, self.truth)
        return record

    def _lines(self) -> Iterator[Record | None]:
        return _records(self.path)


def stream_run(run_dir: str | Path) -> RunRecords:
    """read_run, with `probes` a ProbeStream instead of a list: what the wrap-up judges and draws in one or a
    few passes, so its memory does not grow with the run's probes. The other records are lists (events,
    apps, samples: what a run's length adds to them is small)."""
    run_dir = Path(run_dir)
    _must_hold_records(run_dir)
    truth, bad_truth_lines = read_truth(run_dir)
    probes = ProbeStream(run_dir / PROBES_FILE, truth)
    events, bad_event_lines = read_jsonl(run_dir / EVENTS_FILE)
    apps, bad_app_lines = read_jsonl(run_dir / APPS_FILE)
    samples, bad_sample_lines = read_jsonl(run_dir / SAMPLES_FILE)
    return RunRecords(probes, events, probes.skipped + bad_event_lines + bad_truth_lines + bad_app_lines
                      + bad_sample_lines, truth, apps, samples)


def _must_hold_records(run_dir: Path) -> None:
    if not (run_dir / PROBES_FILE).is_file() and not (run_dir / EVENTS_FILE).is_file():
        raise InputError(
            f"{run_dir} holds no run records (neither {PROBES_FILE} nor {EVENTS_FILE}); "
            "pass the directory a run wrote"
        )


def read_truth(run_dir: str | Path) -> tuple[lab_truth.Truth | None, int]:
    """RUN_DIR's truth.jsonl as a lab.truth.Truth (None when the run recorded none), and lines skipped."""
    path = Path(run_dir) / TRUTH_FILE
    if not path.is_file():
        return None, 0
    lines, skipped = read_jsonl(path)
    return lab_truth.Truth(lines), skipped


def read_jsonl(path: str | Path) -> tuple[list[Record], int]:
    """Read one records file: (records sorted by their time `t`, number of lines skipped).

    A line is skipped when it is not a JSON object with a numeric `t`. Several writers append to the same
    file, so a writer killed mid-line can leave the damaged line anywhere, not only at the end.
    """
    found: list[Record] = []
    skipped = 0
    shared: dict[str, str] = {}
    for record in _records(Path(path)):  # a line at a time: the file's text is never held as well
        if record is None:
            skipped += 1
        else:
            found.append(_sharing(record, shared))
    # Writers in several containers interleave their lines; checks reason in time order.
    found.sort(key=lambda record: record["t"])
    return found, skipped


def _records(path: Path) -> Iterator[Record | None]:
    """Every non-blank line of PATH, parsed (None: not a complete record), in file order; none without PATH."""
    if not path.is_file():
        return
    with open(path, "rb") as lines:
        for raw in lines:
            # errors="replace": a line cut inside a multi-byte character must not end the reading.
            for line in raw.decode("utf-8", errors="replace").splitlines():
                if line.strip():
                    yield _parse_record(line)


def _sharing(value: Any, shared: dict[str, str]) -> Any:
    """`value` with its keys and short strings replaced by the first equal one read (`shared`): each line is
    parsed on its own, so every record would hold its own copy of "source", "runner", "fault_injected"... —
    most of a list of records' memory (a long run's 406 events: 0.37 MB as parsed, 0.14 MB shared)."""
    if isinstance(value, dict):
        return {shared.setdefault(key, key): _sharing(item, shared) for key, item in value.items()}
    if isinstance(value, list):
        return [_sharing(item, shared) for item in value]
    if isinstance(value, str) and len(value) <= SHARED_CHARS:
        return shared.setdefault(value, value)
    return value


def _parse_record(line: str) -> Record | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not _is_number(record.get("t")):
        return None
    return record


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_ok(probe: Record) -> bool:
    """The probe got a non-empty answer that is not wrong: rcode NOERROR with at least one answer."""
    return probe.get("rcode") == "NOERROR" and bool(probe.get("answers")) and not is_wrong(probe)


def is_wrong(probe: Record) -> bool:
    """The answer is none the authoritative data held recently enough (its `truth`: stale or unheld)."""
    return lab_truth.is_wrong(probe)


def is_empty(probe: Record) -> bool:
    """The name resolved to nothing: NOERROR without answers (NODATA), or NXDOMAIN — wrong or not: the
    client saw the name go away either way."""
    rcode = probe.get("rcode")
    return (rcode == "NOERROR" and not probe.get("answers")) or rcode == "NXDOMAIN"


def is_nodata(probe: Record) -> bool:
    return probe.get("rcode") == "NOERROR" and not probe.get("answers")


def outcome(probe: Record) -> str:
    """One of OUTCOMES: ok, wrong, empty (NODATA), nxdomain, servfail, timeout, other (other rcodes and
    errors). `wrong` comes first: a lie is wrong whatever it says."""
    if is_wrong(probe):
        return "wrong"
    rcode = probe.get("rcode")
    if rcode is None:
        return "timeout" if probe.get("error") == "timeout" else "other"
    if rcode == "NOERROR":
        return "ok" if probe.get("answers") else "empty"
    return {"NXDOMAIN": "nxdomain", "SERVFAIL": "servfail"}.get(rcode, "other")


def run_start(probes: Iterable[Record], events: Iterable[Record]) -> float | None:
    """Time zero of a run: the first `run_started` event, else the first probe, else the first event.

    None when there are no records at all.
    """
    events = list(events)
    started = [event["t"] for event in events if event.get("event") == "run_started"]
    first_probe = ([] if probes.first_t is None else [probes.first_t]) if isinstance(probes, ProbeStream) \
        else [probe["t"] for probe in probes]
    for times in (started, first_probe, [event["t"] for event in events]):
        if times:
            return float(min(times))
    return None


def fault_windows(events: Iterable[Record]) -> list[Record]:
    """Pair `fault_injected` with `fault_cleared` events: [{"id","kind","target","start","end"}], by start.

    A clear ends the oldest open injection with the same id (or the same kind and target when the events
    carry no id). `end` is None for a fault that was never cleared (the run was killed, or rollback failed).
    """
    windows: list[Record] = []
    open_windows: dict[Any, list[Record]] = {}
    for event in sorted(events, key=lambda event: event["t"]):
        if event.get("event") == "fault_injected":
            window = {
                "id": event.get("id"),
                "kind": event.get("kind"),
                "target": event.get("target"),
                "start": event["t"],
                "end": None,
            }
            windows.append(window)
            open_windows.setdefault(_fault_key(event), []).append(window)
        elif event.get("event") == "fault_cleared":
            pending = open_windows.get(_fault_key(event))
            if pending:
                pending.pop(0)["end"] = event["t"]
    return windows


def _fault_key(event: Record) -> Any:
    if event.get("id") is not None:
        return ("id", event["id"])
    return ("kind-target", event.get("kind"), event.get("target"))
