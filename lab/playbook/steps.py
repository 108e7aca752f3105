"""A playbook's steps (and setup): each step is one of wait, fault, clear or action; validated here into
the plain Step the runner executes, every problem with its file:line:col.

    steps:
      - wait: 10s                                  sleep
      - wait: {event: endpoint_applied, new: true} an agent's or the runner's event (lab.playbook.conditions)
      - wait: {probes: empty, count: 3}            a condition over the probes
      - fault: {kind: pause, target: primary, duration: 20s, as: freeze}
      - clear: freeze
      - action: {name: zone_update, params: {...}} (lab.playbook.actions)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from lab.playbook import actions, conditions
from lab.playbook.fields import get_duration, node_list, nodes_of, seconds, unit_hint
from lab.validation import Problems, check_keys, shown, get, one_of, suggest
from lab.topology.model import Topology
from lab.yamlsrc import Map, Seq, plain, to_map

STEP_KINDS = ("wait", "fault", "clear", "action")
STEP_FIELDS = STEP_KINDS + ("name", "timeout")
FAULT_FIELDS = ("kind", "target", "params", "duration", "as")
ACTION_FIELDS = ("name", "params")
PROBE_WAIT_FIELDS = ("probes", "count", "every_resolver") + conditions.PROBE_FILTERS
DEFAULT_WAIT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, as shown to users and in events
    kind: str  # sleep | event | probes | fault | clear | action
    text: str  # one line for people: progress, events, errors
    spec: dict  # the kind's own fields, plain data
    timeout: float | None
    line: int


def validate_steps(problems: Problems, raw: Seq, topology: Topology, lab_description: dict,
           faults: ModuleType, section: str = "steps") -> tuple[Step, ...]:
    if not raw and isinstance(raw, Seq) and raw.line and section == "steps":
        problems.at(raw, "steps is empty; a playbook needs at least one step (e.g. `- wait: 30s`)")
    steps, fault_names = [], set()
    for index, item in enumerate(raw):
        number = index + 1
        line = raw.where(index)[0]
        if not isinstance(item, Map):
            problems.at(raw, f"step {number} must be a mapping with one of: {', '.join(STEP_KINDS)}", index)
            continue
        check_keys(problems, item, STEP_FIELDS, f"step {number}")
        kinds = [kind for kind in STEP_KINDS if kind in item]
        if len(kinds) != 1:
            problems.at(item, f"step {number} needs exactly one of {', '.join(STEP_KINDS)}"
                              + (f", not {' and '.join(kinds)}" if kinds else ""))
            continue
        timeout = get_duration(problems, item, "timeout", f"step {number}", None)
        label = get(problems, item, "name", str, f"step {number}", None)
        builder = {"wait": _wait_step, "fault": _fault_step, "clear": _clear_step, "action": _action_step}[kinds[0]]
        built = builder(problems, item, number, topology, lab_description, faults, fault_names)
        if built is None:
            continue
        kind, text, spec = built
        if section == "setup" and kind == "probes":
            problems.at(item, f"setup step {number}: no probes run during setup; wait for probes in steps")
            continue
        if timeout is not None and kind in ("sleep", "fault", "clear"):
            problems.at(item, f"step {number}: timeout applies to waits for events or probes and to actions",
                        "timeout")
        if kind in ("event", "probes") and timeout is None:
            timeout = DEFAULT_WAIT_TIMEOUT  # every wait ends
        steps.append(Step(number, kind, label or text, spec, timeout, line))
    return tuple(steps)


def _wait_step(problems, item, number, topology, lab_description, faults, fault_names):
    value = item["wait"]
    what = f"step {number} wait"
    if not isinstance(value, Map):
        wait = seconds(value)
        if wait is None:
            problems.at(item, f"{what} must be a duration such as 500ms, 10s or 2m, or a mapping with `event` "
                              f"or `probes`, not {shown(value)}{unit_hint(value)}", "wait", value=True)
            return None
        return "sleep", f"wait {wait:g}s", {"seconds": wait}
    if "event" in value:
        event = get(problems, value, "event", str, what)
        if event is not None and event not in conditions.KNOWN_EVENTS:
            problems.at(value, f"{what}: unknown event {event!r}{suggest(event, conditions.KNOWN_EVENTS)}; "
                               f"events: {one_of(conditions.KNOWN_EVENTS)}", "event", value=True)
        sources = ["runner", *topology.nodes]
        if "source" in value and value["source"] not in sources:
            problems.at(value, f"{what}: unknown source {value['source']!r}{suggest(str(value['source']), sources)};"
                               f" sources are the runner and the topology's nodes", "source", value=True)
        if "new" in value and not isinstance(value["new"], bool):
            problems.at(value, f"{what}: new must be true (only events that come after the wait starts) or false",
                        "new", value=True)
        for key, field_value in value.items():
            if isinstance(field_value, (dict, list)):
                problems.at(value, f"{what}: field {key!r} must be a plain value to compare", key, value=True)
        fields = ", ".join(f"{k}={v}" for k, v in value.items() if k != "event")
        return "event", f"wait for {event}" + (f" ({fields})" if fields else ""), plain(value)
    if "probes" in value:
        check_keys(problems, value, PROBE_WAIT_FIELDS, f"{what} probes")
        outcome = get(problems, value, "probes", str, what)
        if outcome is not None and outcome not in conditions.OUTCOMES:
            problems.at(value, f"{what}: unknown outcome {outcome!r}{suggest(outcome, conditions.OUTCOMES)}; "
                               f"outcomes: {one_of(conditions.OUTCOMES)}", "probes", value=True)
        count = get(problems, value, "count", int, what, 1)
        if count < 1:
            problems.at(value, f"{what}: count must be at least 1, not {count}", "count", value=True)
        get(problems, value, "every_resolver", bool, what, False)
        node_list(problems, value, "resolvers", nodes_of(topology, "resolver"), what)
        node_list(problems, value, "clients", nodes_of(topology, "client"), what)
        get(problems, value, "names", list, what)
        every = " on every resolver" if value.get("every_resolver") else ""
        return "probes", f"wait until {count} {outcome} probes{every}", plain(value)
    problems.at(item, f"{what} needs `event` or `probes` (or a duration such as 10s)", "wait", value=True)
    return None


def _fault_step(problems, item, number, topology, lab_description, faults, fault_names):
    spec = item["fault"]
    what = f"step {number} fault"
    if not isinstance(spec, Map):
        problems.at(item, f"{what} must be a mapping {{kind, target, params, duration, as}}", "fault", value=True)
        return None
    check_keys(problems, spec, FAULT_FIELDS, what, required=("kind", "target"))
    kind = get(problems, spec, "kind", str, what)
    target = get(problems, spec, "target", str, what)
    params = get(problems, spec, "params", dict, what, Map())
    duration = get_duration(problems, spec, "duration", what, None)
    name = get(problems, spec, "as", str, what)
    if name is not None:
        if name in fault_names or name == "all":
            problems.at(spec, f"{what}: the name {name!r} is taken; give every fault its own name", "as", value=True)
        fault_names.add(name)
    if kind is not None and kind not in faults.FAULTS:
        problems.at(spec, f"{what}: unknown fault kind {kind!r}{suggest(kind, faults.FAULTS)}; "
                          f"kinds: {one_of(faults.FAULTS)}", "kind", value=True)
    elif kind is not None and target is not None:
        for key, message in faults.param_problems(kind, target, plain(params), lab_description):
            if key is not None and key in params:
                problems.at(params, f"{what} {kind}: {message}", key)
            elif key is not None and key != "target":
                problems.at(spec, f"{what} {kind}: {message}", "params" if "params" in spec else "kind")
            else:
                problems.at(spec, f"{what} {kind}: {message}", "target", value=True)
    if kind is None or target is None:
        return None
    shown = ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in params.items())
    text = f"{kind} {target}" + (f" ({shown})" if shown else "") + (f" for {duration:g}s" if duration else "")
    return "fault", text, {"kind": kind, "target": target, "params": plain(params), "duration": duration,
                           "as": name}


def _clear_step(problems, item, number, topology, lab_description, faults, fault_names):
    value = item["clear"]
    names = value if isinstance(value, list) else [value]
    for name in names:
        if not isinstance(name, str) or (name != "all" and name not in fault_names):
            known = sorted(fault_names)
            problems.at(item, f"step {number} clear: {name!r} names no earlier fault{suggest(str(name), known)}; "
                              f"name a fault with `as: NAME` in its step, or clear `all`", "clear", value=True)
    return "clear", "clear " + ", ".join(map(str, names)), {"names": [str(n) for n in names]}


def _action_step(problems, item, number, topology, lab_description, faults, fault_names):
    spec = item["action"]
    what = f"step {number} action"
    if isinstance(spec, str):
        spec = to_map({"name": spec})
        spec.file, (spec.line, spec.col) = item.file, item.where("action", value=True)
    if not isinstance(spec, Map):
        problems.at(item, f"{what} must be a mapping {{name, params}}", "action", value=True)
        return None
    check_keys(problems, spec, ACTION_FIELDS, what, required=("name",))
    name = get(problems, spec, "name", str, what)
    params = get(problems, spec, "params", dict, what, Map())
    if name is None:
        return None
    if name not in actions.ACTIONS:
        problems.at(spec, f"{what}: unknown action {name!r}{suggest(name, actions.ACTIONS)}; "
                          f"actions: {one_of(actions.ACTIONS)}", "name", value=True)
        return None
    for key, message in actions.param_problems(name, params):
        if key is not None and key in params:
            problems.at(params, f"{what} {name}: {message}", key, value=True)
        else:
            problems.at(spec, f"{what} {name}: {message}", "params" if "params" in spec else "name")
    return "action", f"{name}", {"name": name, "params": plain(params)}
