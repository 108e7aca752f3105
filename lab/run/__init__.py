"""Executing a playbook against a live lab, one module per part of a run:

    bringup   the lab up (unless it is), the pipeline roles in place, the run, the lab down again
    execute   the Run: steps in order, waits, the faults it holds, the tick between looks at the records
    steps     what each kind of step does (sleep, event, probes, fault, clear, action)
    streams   probers and agent event followers: lines from containers into the records as they come
    recorder  probes.jsonl and events.jsonl, one write per line
    watch     containers lost without a fault of the run; pipeline roles that broke
    rollback  the end: every fault rolled back, probers drained, Ctrl-C held off meanwhile

    from lab.run import run
    result = run(playbook, lab, run_dir)     # RunResult(run_dir, report, exit_code, error)
"""

from __future__ import annotations

from lab.run.bringup import lab_topology_file, run
from lab.run.execute import Run, RunResult, StepFailed

__all__ = ["Run", "RunResult", "StepFailed", "lab_topology_file", "run"]
