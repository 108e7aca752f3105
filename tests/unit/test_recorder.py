"""The runner's Recorder: every probe goes to the file, memory keeps only what a wait or the status line needs."""

from __future__ import annotations

import json

from lab.run.recorder import KEEP_PROBES, Recorder


def add(recorder: Recorder, count: int) -> None:
    for _ in range(count):
        number = recorder.total + 1
        line = json.dumps({"seq": number})
        recorder.probe(line, {"seq": number})


def test_memory_keeps_the_last_probes_and_the_file_keeps_them_all(tmp_path):
    recorder = Recorder(tmp_path)
    add(recorder, 10 * KEEP_PROBES)
    recorder.close()
    lines = (tmp_path / "probes.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, 10 * KEEP_PROBES + 1))
    assert recorder.total == 10 * KEEP_PROBES and len(recorder.probes) < 2 * KEEP_PROBES
    assert [p["seq"] for p in recorder.last_probes(3)] == [10 * KEEP_PROBES - 2, 10 * KEEP_PROBES - 1, 10 * KEEP_PROBES]


def test_a_held_wait_sees_every_probe_since_it_began_until_released(tmp_path):
    recorder = Recorder(tmp_path)
    add(recorder, 3 * KEEP_PROBES)
    start = recorder.hold()
    add(recorder, 5 * KEEP_PROBES)
    assert [p["seq"] for p in recorder.probes_since(start)] == list(range(start + 1, 8 * KEEP_PROBES + 1))
    recorder.release()
    add(recorder, 3 * KEEP_PROBES)
    assert len(recorder.probes) < 2 * KEEP_PROBES
    recorder.close()


def test_keep_all_keeps_all(tmp_path):
    recorder = Recorder(tmp_path, keep_all=True)
    add(recorder, 5 * KEEP_PROBES)
    assert len(recorder.probes) == 5 * KEEP_PROBES
    recorder.close()


def test_every_record_wakes_a_wait(tmp_path):
    """A wait looks again as soon as a probe or an event comes (Run.wait), not at its next tick."""
    recorder = Recorder(tmp_path)
    assert not recorder.arrived.is_set()
    add(recorder, 1)
    assert recorder.arrived.is_set()
    recorder.arrived.clear()
    recorder.event("enactor-a", "endpoint_applied", index=1)
    assert recorder.arrived.is_set()
    recorder.close()
