"""Running a playbook from the command line: bring its lab up unless it is up, put the pipeline roles the
playbook asks for in place, run it, and take the lab down again when this run brought it up."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from lab import lifecycle, state
from lab.errors import LabError
from lab.faults import store as fault_store
from lab.enactors import roles
from lab.playbook import pipeline as pipeline_playbook
from lab.playbook.document import Playbook, topology_document
from lab.run.execute import Run, RunResult, Status
from lab.runtime import Runtime


def lab_topology_file(playbook: Playbook) -> Path:
    """The topology file to bring up: the playbook's, or (with overrides) a merged copy under DNSLAB_HOME."""
    if not playbook.topology_overrides:
        return playbook.topology_file
    text = yaml.safe_dump(topology_document(playbook), sort_keys=False)
    path = state.home() / "topologies" / f"{playbook.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(playbook: Playbook, lab: str, run_dir: Path, keep: bool | None = None, status: Status = lambda t: None,
        progress: Status = lambda t: None, rt: Runtime | None = None) -> RunResult:
    """Bring the lab up if needed, run the playbook, take the lab down again if this run brought it up
    (unless `keep`; keep=False takes it down in any case)."""
    rt = rt or lifecycle.runtime_for(lab)
    was_up = bool(rt.containers(lab)) and state.load_description(lab) is not None
    progress(f"lab {lab}: {'checking it is up' if was_up else 'bringing it up'}")
    # On a running lab the check that every server answers is the run's to do, while its setup waits.
    description, ready = lifecycle.up_checking(lab_topology_file(playbook), lab, progress=status, rt=rt)
    leftover = fault_store.active(lab)
    if leftover:  # `dnslab fault add` by hand, or a killed run: they shape what the checks see
        ids = ", ".join(f"{f['id']} on {f['target']}" for f in leftover)
        progress(f"warning: lab {lab} already has {len(leftover)} fault(s) in place ({ids}); they stay during "
                 f"the run and its rollback clears them — `dnslab fault clear --all --name {lab}` clears them now")
    take_down = keep is False or (keep is None and not was_up)
    try:
        plugged = roles.ensure(rt, description, pipeline_playbook.plugins(playbook), progress) \
            if description.get("pipeline") else {}
    except LabError:
        if take_down:
            progress(f"taking lab {lab} down (it was not up before the run)")
            lifecycle.down(lab, rt=rt)
        raise
    run_dir.mkdir(parents=True, exist_ok=False)
    (run_dir / "playbook.yml").write_text(playbook.yaml_text())
    try:
        return Run(playbook, lab, run_dir, rt, description, status, progress, roles=plugged, ready=ready).execute()
    finally:
        if take_down:
            progress(f"taking lab {lab} down (it was not up before the run; --keep keeps it)")
            lifecycle.down(lab, rt=rt)
