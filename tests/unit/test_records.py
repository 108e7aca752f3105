"""Reading run records (docs/records.md) and classifying probes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import records
from lab.errors import InputError
from tests.support.records import T0, fault, probe

def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def test_reads_both_files_sorted_by_time(tmp_path: Path) -> None:
    # Two clients append to one file; their lines interleave out of time order.
    write_lines(tmp_path / "probes.jsonl", [json.dumps(probe(2.0)), json.dumps(probe(1.0, client="client2"))])
    write_lines(tmp_path / "events.jsonl", [json.dumps({"t": T0, "source": "runner", "event": "run_started"})])
    found = records.read_run(tmp_path)
    assert [p["t"] for p in found.probes] == [T0 + 1.0, T0 + 2.0]
    assert found.events[0]["event"] == "run_started"
    assert found.truncated_lines == 0


def test_truncated_last_line_is_skipped_and_counted(tmp_path: Path) -> None:
    complete = [json.dumps(probe(t)) for t in (1.0, 1.5)]
    cut = json.dumps(probe(2.0))[:37]  # the prober was killed mid-write
    (tmp_path / "probes.jsonl").write_text("\n".join(complete) + "\n" + cut)
    found = records.read_run(tmp_path)
    assert len(found.probes) == 2
    assert found.truncated_lines == 1


def test_garbled_lines_anywhere_are_skipped_and_counted(tmp_path: Path) -> None:
    # A writer killed mid-line while another keeps appending leaves the damage in the middle;
    # a half-written multi-byte character must not make the file unreadable either.
    write_lines(tmp_path / "events.jsonl", [
        json.dumps({"t": T0, "event": "run_started"}),
        '{"t": 17000000',
        '["not", "an", "object"]',
        '{"event": "no time"}',
        "",
        json.dumps({"t": T0 + 5, "event": "run_finished", "verdict": "pass"}),
    ])
    (tmp_path / "probes.jsonl").write_bytes(json.dumps(probe(1.0)).encode() + b"\n" + '{"name": "ü'.encode()[:-1])
    found = records.read_run(tmp_path)
    assert [e["event"] for e in found.events] == ["run_started", "run_finished"]
    assert len(found.probes) == 1
    assert found.truncated_lines == 4


def test_missing_file_reads_as_no_records(tmp_path: Path) -> None:
    write_lines(tmp_path / "events.jsonl", [json.dumps({"t": T0, "event": "run_started"})])
    found = records.read_run(tmp_path)
    assert found.probes == [] and len(found.events) == 1


def test_directory_without_records_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no run records"):
        records.read_run(tmp_path)


@pytest.mark.parametrize(
    ("record", "expected", "ok", "empty"),
    [
        (probe(0), "ok", True, False),
        (probe(0, answers=[]), "empty", False, True),
        (probe(0, rcode="NXDOMAIN"), "nxdomain", False, True),
        (probe(0, rcode="SERVFAIL"), "servfail", False, False),
        (probe(0, rcode=None), "timeout", False, False),
        (probe(0, rcode="REFUSED"), "other", False, False),
        (probe(0, rcode=None, error="network unreachable"), "other", False, False),
    ],
)
def test_outcome_is_ok_is_empty(record: dict, expected: str, ok: bool, empty: bool) -> None:
    assert records.outcome(record) == expected
    assert records.is_ok(record) is ok
    assert records.is_empty(record) is empty


def test_run_start_prefers_run_started_then_first_probe() -> None:
    events = [{"t": T0 + 3, "event": "fault_injected"}, {"t": T0 + 1, "event": "run_started"}]
    assert records.run_start([probe(0.5)], events) == T0 + 1
    assert records.run_start([probe(2.0), probe(0.5)], events[:1]) == T0 + 0.5
    assert records.run_start([], events[:1]) == T0 + 3
    assert records.run_start([], []) is None


def test_fault_windows_pair_injections_with_clears() -> None:
    events = [
        fault("fault_injected", 10, "f1"),
        fault("fault_injected", 12, "f2", "pause", "enactor-a"),
        fault("fault_cleared", 20, "f1"),
        fault("fault_injected", 30, "f1"),  # the same fault again: a second window
        fault("fault_cleared", 35, "f1"),
    ]
    assert records.fault_windows(events) == [
        {"id": "f1", "kind": "partition", "target": "auth1", "start": T0 + 10, "end": T0 + 20},
        {"id": "f2", "kind": "pause", "target": "enactor-a", "start": T0 + 12, "end": None},
        {"id": "f1", "kind": "partition", "target": "auth1", "start": T0 + 30, "end": T0 + 35},
    ]


def test_fault_windows_without_ids_pair_by_kind_and_target() -> None:
    events = [fault("fault_injected", 1, None), fault("fault_cleared", 4, None), fault("fault_cleared", 9, None)]
    assert records.fault_windows(events) == [
        {"id": None, "kind": "partition", "target": "auth1", "start": T0 + 1, "end": T0 + 4},
    ]
