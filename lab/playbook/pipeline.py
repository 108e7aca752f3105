"""What playbooks get from the pipeline: the `pipeline:`, `enactor:` and `planner:` sections and two actions.

    pipeline: {interval: 0.5, keep: 3}            planner and clean-up settings (lab.agents.settings)
    enactor:  {strategy: naive, apply_pace: 0.5}  enactor settings; `--set enactor.strategy=guarded`
    enactor:  {command: "python3 my_enactor.py"}  a user's enactor instead (lab.automation); planner: too
    steps:
      - action: {name: pipeline_reset}            a clean start with the sections' settings and the run's seed
      - action: {name: repair}                    the operator's fix (`dnslab repair`)

SECTIONS and ACTIONS below are merged into the playbook's tables (lab.playbook.sections,
lab.playbook.actions). The pipeline itself is operated through lab.enactors.control.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lab import automation, records
from lab.agents import settings as table
from lab.params import Param
from lab.enactors import control
from lab.playbook.action import Action, RunContext
from lab.validation import Problems, one_of, suggest
from lab.yamlsrc import Map


def section_validator(section: str):
    """A validator for the playbook section `section` (`pipeline`, `enactor` or `planner`): settings by
    name, and for the roles a user's program in place of the built-in (lab.automation, docs/automation.md).
    Returns {"settings": {name: value}, "automation": Automation}."""
    known = {table.flat_name(key): key for key in table.SETTINGS if key.startswith(section + ".")}
    plug = automation.FIELDS.get(section, ())
    fields = [*known, *plug]

    def validate(problems: Problems, value: Any, topology) -> dict:
        found = {"settings": {}, "automation": automation.Automation()}
        if not isinstance(value, Map):
            problems.at(value, f"`{section}:` must be a mapping ({one_of(fields)})")
            return found
        if topology.pipeline is None:
            problems.at(value, f"`{section}:` needs a topology with a pipeline (e.g. compose/enactors.yml); "
                               f"{topology.file} has none")
        for key, setting in value.items():
            if key in plug:
                continue
            if key not in known:
                problems.at(value, f"unknown {section} setting {key!r}{suggest(str(key), fields)}; "
                                   f"settings: {one_of(fields)}", key)
                continue
            message = table.problem(known[key], setting)
            if message:
                problems.at(value, message, key, value=True)
            else:
                found["settings"][key] = setting
        if plug:
            found["automation"] = automation.parse(problems, value, section, f"`{section}:`",
                                                   Path(problems.file).resolve().parent)
        return found

    return validate


def plugins(playbook) -> dict[str, automation.Automation]:
    """role -> the user's program the playbook (after --set) puts in its place; built-in roles left out."""
    return {role: found["automation"] for role in automation.ROLES
            if (found := playbook.sections.get(role)) and not found["automation"].builtin}


def _run_settings(run_dir) -> tuple[dict, int | None]:
    """The playbook's pipeline/enactor sections (after --set, as the runner saved them) and the run's seed."""
    document = yaml.safe_load((run_dir / "playbook.yml").read_text()) or {}
    settings = {f"{section}.{k}": v for section in table.SECTIONS for k, v in (document.get(section) or {}).items()
                if k not in automation.FIELDS.get(section, ())}
    events, _ = records.read_jsonl(run_dir / records.EVENTS_FILE)
    seed = next((e.get("seed") for e in events if e.get("event") == "run_started"), None)
    return settings, seed


def pipeline_reset(ctx: RunContext, params: dict) -> dict:
    """A clean start: plans, generation counter and DNS back to the baseline; the playbook's settings and
    the run's seed (so a seed replays the same plan generations)."""
    settings, seed = _run_settings(ctx.run_dir)
    if seed is not None and "pipeline.seed" not in settings:
        settings["pipeline.seed"] = int(seed)
    settings.update(params.get("settings") or {})
    result = control.reset(ctx.rt, ctx.description, settings)
    if result["not_held"]:  # a role that ignores holds (docs/automation.md) may write during the reset
        ctx.emit("roles_not_held", nodes=result["not_held"], epoch=result["epoch"])
    return {"epoch": result["epoch"], "not_held": result["not_held"], "settings": control.flatten(settings)}


def repair(ctx: RunContext, params: dict) -> dict:
    result = control.repair(ctx.rt, ctx.description)
    return {"generation": result["generation"], "written": len(result["written"]), "skipped": len(result["skipped"])}


# The pipeline's settings sections and the roles a user's program may replace (`planner:` has no settings).
SECTIONS = {section: section_validator(section) for section in (*table.SECTIONS, *automation.ROLES)}

ACTIONS: dict[str, Action] = {
    "pipeline_reset": Action(pipeline_reset, {
        "settings": Param(dict, False, None, "settings over the playbook's, e.g. {enactor.strategy: guarded}"),
    }, "start the pipeline afresh (a baseline generation) with the playbook's pipeline/enactor settings"),
    "repair": Action(repair, {}, "the operator's repair: the newest plan on every endpoint (dnslab repair)"),
}
