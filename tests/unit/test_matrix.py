"""The resolver x fault matrix from fake runs: the figures per vendor, the table, the heatmap."""

from __future__ import annotations

from lab import matrix
from lab.commands import incidents as library_command
from lab.report.heatmap import plot_heatmap
from tests.support.records import T0, probe

VENDORS = {"unbound": "Unbound", "pdns-recursor": "PowerDNS Recursor"}


def events(inject: float | None = 10, clear: float | None = 30) -> list[dict]:
    found = [{"t": T0, "source": "runner", "event": "run_started"}]
    if inject is not None:
        found.append({"t": T0 + inject, "source": "runner", "event": "fault_injected", "id": "f-1"})
    if clear is not None:
        found.append({"t": T0 + clear, "source": "runner", "event": "fault_cleared", "id": "f-1"})
    return found


def outage_run(variant: str = "as-written", exit_code: int = 1) -> matrix.RunOutcome:
    """unbound: SERVFAIL from 12 s to 33 s (recovers 3 s after the clear at 30 s); pdns-recursor: timeouts
    then SERVFAIL from 11 s to the end (never recovers)."""
    probes = []
    for second in range(0, 40):
        unbound_rcode = "SERVFAIL" if 12 <= second < 33 else "NOERROR"
        probes.append(probe(second, "unbound", unbound_rcode))
        pdns_rcode = None if 11 <= second < 15 else "SERVFAIL" if second >= 15 else "NOERROR"
        probes.append(probe(second + 0.5, "pdns-recursor", pdns_rcode))
    return matrix.RunOutcome("facebook", variant, exit_code, 41.0, VENDORS, probes, events())


def test_cells_split_one_run_by_vendor_with_detect_recover_and_symptom():
    cells = matrix.cells(outage_run())
    unbound, pdns = cells["Unbound"], cells["PowerDNS Recursor"]
    assert unbound["availability"] == round(19 / 40, 4)
    assert unbound["detect_s"] == 2.0 and unbound["recover_s"] == 3.0 and unbound["symptom"] == "SERVFAIL"
    assert pdns["detect_s"] == 1.5 and pdns["recover_s"] is None  # still failing when the run ended
    assert pdns["symptom"] == "SERVFAIL" and pdns["symptoms"] == {"SERVFAIL": 25, "TIMEOUT": 4}


def test_a_vendor_that_never_failed_has_no_symptom_and_nothing_to_detect():
    probes = [probe(s, "unbound") for s in range(20)]
    figures = matrix.cell(probes, events())
    assert figures == {"probes": 20, "ok": 20, "availability": 1.0, "detect_s": None, "recover_s": 0.0,
                       "symptom": None, "symptoms": {}}
    assert matrix.cell_text(figures) == "100%"


def test_nodata_counts_as_a_symptom_and_recovery_before_the_clear_is_zero():
    probes = [probe(s, "unbound", "NOERROR", [] if 11 <= s < 14 else None) for s in range(40)]
    figures = matrix.cell(probes, events())
    assert figures["symptom"] == "NODATA" and figures["recover_s"] == 0.0 and figures["detect_s"] == 1.0


def test_build_marks_runs_that_did_not_behave_as_documented():
    built = matrix.build([outage_run(), outage_run("mitigated", exit_code=1)], total_seconds=82.4)
    assert built["vendors"] == ["Unbound", "PowerDNS Recursor"]
    assert [r["as_expected"] for r in built["rows"]] == [True, False]
    assert built["all_as_expected"] is False and built["total_seconds"] == 82.4


def test_markdown_table_has_a_row_per_run_and_a_column_per_vendor():
    text = library_command.markdown(matrix.build([outage_run()], 41.0))
    lines = text.splitlines()
    assert lines[0] == "| playbook (variant) | exit | Unbound | PowerDNS Recursor |"
    assert lines[2].startswith("| facebook (as-written) | 1 (reproduced) | 48% SERVFAIL · detect 2.0s · recover 3.0s |")
    assert "not recovered" in lines[2]
    assert "Total: 41 s for 1 runs." in text


def test_heatmap_is_a_png(tmp_path):
    built = matrix.build([outage_run(), outage_run("mitigated", 0)], 82.0)
    path = plot_heatmap(built, tmp_path / "heatmap.png", "test")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_a_flood_counts_as_the_change_and_its_end_as_the_clear():
    flood = [{"t": T0 + 10, "source": "runner", "event": "flood_started"},
             {"t": T0 + 30, "source": "runner", "event": "flood_finished"}]
    probes = [probe(s, "unbound", None if 12 <= s < 32 else "NOERROR") for s in range(40)]
    figures = matrix.cell(probes, flood)
    assert figures["detect_s"] == 2.0 and figures["recover_s"] == 2.0 and figures["symptom"] == "TIMEOUT"


def test_recovery_counts_from_the_fix_that_ended_it_a_repair_after_the_clear():
    """The race: the pause is cleared at 15 s, the name is empty from 16 s until the repair at 40 s fixes it
    (good again at 42 s): recover 2 s from the repair, not 27 s from the pause's clear."""
    repaired = events(10, 15) + [{"t": T0 + 40, "source": "runner", "event": "action_done", "action": "repair"}]
    probes = [probe(s, "unbound", "NOERROR", [] if 16 <= s < 42 else None) for s in range(50)]
    assert matrix.cell(probes, repaired)["recover_s"] == 2.0
    rolled_back = repaired + [{"t": T0 + 49.5, "source": "runner", "event": "fault_cleared", "id": "f-2"}]
    assert matrix.cell(probes, rolled_back)["recover_s"] == 2.0  # a clear after it came back is no fix
    # the repair acts before its action_done is written: it counts from its step's start
    acting = events(10, 15) + [{"t": T0 + 39, "event": "step_started", "index": 8, "phase": "step"},
                               {"t": T0 + 43, "event": "action_done", "action": "repair", "index": 8}]
    assert matrix.cell(probes, acting)["recover_s"] == 3.0


def test_the_progress_says_what_each_running_run_is_at(tmp_path):
    """Between finished runs the bar sat at 0/2 for a minute: each running run's last step is shown."""
    import json

    jobs = [library_command.Job("race", "race.yml", v, (), {}) for v in ("as-written", "mitigated", "later")]
    (tmp_path / "runs" / "race-as-written").mkdir(parents=True)
    (tmp_path / "runs" / "race-as-written" / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in (
        {"t": 1, "event": "step_started", "index": 1, "phase": "setup"},
        {"t": 2, "event": "step_started", "index": 4, "phase": "step"})))
    (tmp_path / "runs" / "race-mitigated").mkdir()
    (tmp_path / "runs" / "race-mitigated" / "events.jsonl").write_text("")
    text = library_command.running_text(jobs, [None, None, None], tmp_path, 2)
    assert text == "race-as-written step 4 · race-mitigated bringing its lab up"
    assert library_command.running_text(jobs[:1], [object()], tmp_path, 2) == "starting"
