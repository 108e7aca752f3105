"""Load and validate a playbook: every problem at once with file:line:col, then a plain model the runner reads.

Pure: it reads the playbook and the topology it names, never Docker. The format is documented in
docs/playbooks.md. Fault kinds and their parameters come from lab.faults, check kinds from lab.checks,
actions from lab.playbook.actions, node names from the topology — each table validates its own part.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from lab import checks, library, lifecycle
from lab.errors import PlaybookError, Problem, TopologyError
from lab.faults import duration as fault_duration
from lab.names import NODE_NAME, absolute
from lab.playbook import actions, conditions, overrides
from lab.playbook.sections import SECTIONS
from lab.schema import Problems, check_keys, describe, get, one_of, suggest
from lab.topology import load as topology_load
from lab.topology.model import Topology
from lab.yamlsrc import Map, Seq, YamlSyntaxError, load as load_yaml, merge

TOP_FIELDS = ("name", "description", "seed", "library", "topology", "setup", "probes", "steps", "checks")
TOPOLOGY_FIELDS = ("file", "overrides")
PROBE_FIELDS = ("names", "types", "rate", "clients", "resolvers", "timeout", "dnssec")
STEP_KINDS = ("wait", "fault", "clear", "action")
STEP_FIELDS = STEP_KINDS + ("name", "timeout")
FAULT_FIELDS = ("kind", "target", "params", "duration", "as")
ACTION_FIELDS = ("name", "params")
PROBE_WAIT_FIELDS = ("probes", "count", "every_resolver") + conditions.PROBE_FILTERS

MAX_RATE = 50.0  # query rounds per second per client: load stays bounded (a round asks every resolver once)
DEFAULT_WAIT_TIMEOUT = 60.0



@dataclass(frozen=True)
class ProbePlan:
    names: tuple[str, ...]
    types: tuple[str, ...]
    rate: float  # rounds per second per client; each round asks every resolver once per name and type
    clients: tuple[str, ...]
    resolvers: tuple[str, ...]
    timeout: float
    dnssec: bool = False  # ask with EDNS and AD: probes then record `ad` and `ede` (docs/records.md)


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, as shown to users and in events
    kind: str  # sleep | event | probes | fault | clear | action
    text: str  # one line for people: progress, events, errors
    spec: dict  # the kind's own fields, plain data
    timeout: float | None
    line: int


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str
    seed: int
    file: str
    topology_file: Path
    topology_overrides: dict
    topology: Topology
    probes: ProbePlan
    steps: tuple[Step, ...]
    checks: tuple[dict, ...]
    document: dict  # the playbook after --set, plain data: saved as RUN_DIR/playbook.yml
    sections: dict = field(default_factory=dict)
    setup: tuple[Step, ...] = ()  # run before the probers start: their records never see the setting up

    def yaml_text(self) -> str:
        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True)


def parse_duration(value: Any) -> float | None:
    """Seconds from `5`, `2.5`, `500ms`, `10s`, `2m`, `1m30s` (lab.faults' notation); None when it is no
    positive duration."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return fault_duration.parse_duration(str(value))
    except ValueError:
        return None


def load(path: str | Path, sets: list[str] = (), seed: int | None = None,
         faults: ModuleType | None = None) -> Playbook:
    """Read, override (--set) and validate a playbook; raise PlaybookError listing every problem.

    `faults` is the fault table module (lab.faults); tests pass a stand-in.
    """
    try:
        document = load_yaml(path)
    except YamlSyntaxError as exc:
        raise PlaybookError([exc.problem]) from None
    document = overrides.apply_all(document, list(sets))
    return from_document(document, str(path), seed, faults)


def from_document(doc: Any, file: str, seed: int | None = None, faults: ModuleType | None = None) -> Playbook:
    if faults is None:
        import lab.faults as faults  # noqa: PLC0415 - one place to swap in a stand-in
    problems = Problems(file)
    if not isinstance(doc, Map):
        message = "a playbook must be a mapping with name, probes, steps and checks"
        if isinstance(doc, Seq):
            problems.at(doc, f"{message}, not a list")
        else:  # empty or a bare scalar: no position of its own, and the document starts at line 1
            problems.append(Problem(file, 1, 0, f"{message}; the file is empty" if doc is None else
                                    f"{message}, not {describe(doc)}"))
        raise PlaybookError(problems)
    check_keys(problems, doc, TOP_FIELDS + tuple(SECTIONS), "playbook", required=("name", "steps", "checks"))
    name = get(problems, doc, "name", str, "playbook", Path(file).stem)
    if not NODE_NAME.match(str(name)):
        problems.at(doc, f"playbook name {name!r} must be lower-case letters, digits and '-'", "name", value=True)
    description = get(problems, doc, "description", str, "playbook", "")
    playbook_seed = get(problems, doc, "seed", int, "playbook", 0)
    topology_file, topology_overrides, topology = _topology(problems, doc, Path(file))
    if topology is None:
        raise PlaybookError(problems)
    lab_description = lifecycle.describe(topology.name, topology, "", topology_file)
    probes = _probes(problems, get(problems, doc, "probes", dict, "playbook", Map()), topology, lab_description)
    setup = _steps(problems, get(problems, doc, "setup", list, "playbook", Seq()), topology, lab_description, faults,
                   section="setup")
    steps = _steps(problems, get(problems, doc, "steps", list, "playbook", Seq()), topology, lab_description, faults)
    check_specs = _checks(problems, get(problems, doc, "checks", list, "playbook", Seq()), topology)
    sections = {key: _section(problems, doc, key, topology) for key in SECTIONS if key in doc}
    if "library" in doc:
        found = Problems(problems.file)
        sections["library"] = library.validate(found, doc["library"])
        # A header that is no mapping has no place of its own: its problem points at the `library:` key.
        problems.extend(p if p.line else doc.problem(p.message, "library", value=True) for p in found)
    if problems:
        raise PlaybookError(sorted(problems, key=lambda p: (p.file != file, p.file, p.line, p.col)))
    return Playbook(
        name=name, description=description, seed=playbook_seed if seed is None else seed, file=file,
        topology_file=topology_file, topology_overrides=_plain(topology_overrides), topology=topology,
        probes=probes, steps=steps, checks=check_specs, document=_plain(doc), sections=sections, setup=setup,
    )


def _section(problems: Problems, doc: Map, key: str, topology: Topology) -> Any:
    """A registered section's validated value; its problems without a place (the section is no mapping)
    are placed at the section's value."""
    found = Problems(problems.file)
    value = SECTIONS[key](found, doc[key], topology)
    problems.extend(p if p.line else doc.problem(p.message, key, value=True) for p in found)
    return value


def _plain(value: Any) -> Any:
    """Map/Seq -> dict/list (for YAML dumping and JSON)."""
    return json.loads(json.dumps(value, default=str))


# ---- topology ---------------------------------------------------------------------------------------------


def _topology(problems: Problems, doc: Map, file: Path) -> tuple[Path, Map, Topology | None]:
    raw = doc.get("topology")
    extra, name, where, key = _to_map({}), None, doc, "topology"
    if isinstance(raw, str):
        name = raw
    elif isinstance(raw, Map):
        check_keys(problems, raw, TOPOLOGY_FIELDS, "topology")
        name = get(problems, raw, "file", str, "topology")
        extra = get(problems, raw, "overrides", dict, "topology", extra)
        where, key = raw, "file"
    elif raw is not None:
        problems.at(doc, "topology must be a file name or a mapping {file, overrides}", "topology", value=True)
    path = topology_load.DEFAULT_TOPOLOGY if name is None else (file.parent / name)
    try:
        topology_doc = load_yaml(path)
    except YamlSyntaxError as exc:
        problems.at(where, f"topology {name!r}: {exc.problem.message} (paths are relative to the playbook)",
                    key, value=True)
        return path, extra, None
    try:
        return path, extra, topology_load.from_document(merge(topology_doc, extra, home="base"), str(path))
    except TopologyError as exc:
        problems.extend(exc.problems)
        return path, extra, None


def topology_document(playbook: Playbook) -> dict:
    """The topology the run brings up: the file with the playbook's overrides, as plain data."""
    # `extends:` is resolved first: the merged copy is written elsewhere, where a relative base would not be found.
    base = topology_load.resolve_extends(load_yaml(playbook.topology_file), str(playbook.topology_file))
    return _plain(merge(base, _to_map(playbook.topology_overrides), home="base"))


def _to_map(value: Any) -> Any:
    if isinstance(value, dict):
        result = Map({k: _to_map(v) for k, v in value.items()})
        result.key_pos, result.value_pos = {}, {}
        return result
    return value


# ---- probes -----------------------------------------------------------------------------------------------


def _nodes_of(topology: Topology, role: str) -> list[str]:
    return [node.name for node in topology.by_role(role)]


def _node_list(problems: Problems, spec: Map, key: str, allowed: list[str], what: str) -> list[str] | None:
    """A list of node names, each one checked against `allowed`; None when the key is absent."""
    if key not in spec:
        return None
    value = get(problems, spec, key, list, what, Seq())
    if not value and key in spec and isinstance(spec[key], list):
        problems.at(spec, f"{what} {key!r} is empty; leave it out to mean all of them", key, value=True)
    names = []
    for index, item in enumerate(value):
        if item not in allowed:
            problems.at(value, f"{what} {key}: unknown node {item!r}{suggest(str(item), allowed)}; "
                               f"choose from: {one_of(allowed) or 'none in this topology'}", index)
        else:
            names.append(item)
    return names


def _probes(problems: Problems, spec: Map, topology: Topology, lab_description: dict) -> ProbePlan:
    check_keys(problems, spec, PROBE_FIELDS, "probes")
    names = get(problems, spec, "names", list, "probes", [lab_description["probe_name"]])
    types = get(problems, spec, "types", list, "probes", ["A"])
    for key, values in (("names", names), ("types", types)):
        if not values or not all(isinstance(v, str) and v for v in values):
            problems.at(spec, f"probes {key!r} must be a non-empty list of strings", key, value=True)
    rate = get(problems, spec, "rate", (int, float), "probes", 5.0)
    if not 0 < rate <= MAX_RATE:
        problems.at(spec, f"probes rate must be above 0 and at most {MAX_RATE:g} rounds per second, "
                          f"not {rate!r}", "rate", value=True)
    clients = _node_list(problems, spec, "clients", _nodes_of(topology, "client"), "probes")
    resolvers = _node_list(problems, spec, "resolvers", _nodes_of(topology, "resolver"), "probes")
    clients = _nodes_of(topology, "client") if clients is None else clients
    resolvers = _nodes_of(topology, "resolver") if resolvers is None else resolvers
    if not clients:
        problems.at(spec, f"topology {topology.name!r} has no client node to probe from")
    for client in clients:
        for resolver in resolvers:
            try:
                lifecycle.resolver_address(lab_description, resolver, client)
            except Exception as exc:  # InputError: no shared network
                problems.at(spec, f"probes: {exc}", "clients" if "clients" in spec else None)
    timeout = _duration(problems, spec, "timeout", "probes", 2.0)
    dnssec = get(problems, spec, "dnssec", bool, "probes", False)
    return ProbePlan(tuple(absolute(n) for n in names if isinstance(n, str)),
                     tuple(str(t).upper() for t in types if isinstance(t, str)), float(rate), tuple(clients),
                     tuple(resolvers), timeout, bool(dnssec))


def _duration(problems: Problems, spec: Map, key: str, what: str, default: float | None) -> float | None:
    if key not in spec:
        return default
    seconds = parse_duration(spec[key])
    if seconds is None:
        problems.at(spec, f"{what} {key} must be a duration such as 500ms, 10s or 2m, not {describe(spec[key])}",
                    key, value=True)
        return default
    return seconds


# ---- steps ------------------------------------------------------------------------------------------------


def _steps(problems: Problems, raw: Seq, topology: Topology, lab_description: dict,
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
        timeout = _duration(problems, item, "timeout", f"step {number}", None)
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
        seconds = parse_duration(value)
        if seconds is None:
            problems.at(item, f"{what} must be a duration such as 500ms, 10s or 2m, or a mapping with `event` "
                              f"or `probes`, not {describe(value)}", "wait", value=True)
            return None
        return "sleep", f"wait {seconds:g}s", {"seconds": seconds}
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
        return "event", f"wait for {event}" + (f" ({fields})" if fields else ""), _plain(value)
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
        _node_list(problems, value, "resolvers", _nodes_of(topology, "resolver"), what)
        _node_list(problems, value, "clients", _nodes_of(topology, "client"), what)
        get(problems, value, "names", list, what)
        every = " on every resolver" if value.get("every_resolver") else ""
        return "probes", f"wait until {count} {outcome} probes{every}", _plain(value)
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
    duration = _duration(problems, spec, "duration", what, None)
    name = get(problems, spec, "as", str, what)
    if name is not None:
        if name in fault_names or name == "all":
            problems.at(spec, f"{what}: the name {name!r} is taken; give every fault its own name", "as", value=True)
        fault_names.add(name)
    if kind is not None and kind not in faults.FAULTS:
        problems.at(spec, f"{what}: unknown fault kind {kind!r}{suggest(kind, faults.FAULTS)}; "
                          f"kinds: {one_of(faults.FAULTS)}", "kind", value=True)
    elif kind is not None and target is not None:
        for key, message in faults.param_problems(kind, target, _plain(params), lab_description):
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
    return "fault", text, {"kind": kind, "target": target, "params": _plain(params), "duration": duration,
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
        spec = _to_map({"name": spec})
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
    return "action", f"{name}", {"name": name, "params": _plain(params)}


# ---- checks -----------------------------------------------------------------------------------------------


def checks_of(path: str | Path) -> tuple[str, tuple[dict, ...]]:
    """The name and checks of a playbook (a run's saved copy), validated without its topology."""
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        raise PlaybookError([exc.problem]) from None
    problems = Problems(str(path))
    if not isinstance(doc, Map):
        problems.at(doc, "a playbook must be a mapping")
        raise PlaybookError(problems)
    name = get(problems, doc, "name", str, "playbook", Path(path).stem)
    specs = _checks(problems, get(problems, doc, "checks", list, "playbook", Seq()), None)
    if problems:
        raise PlaybookError(problems)
    return name, specs


def _checks(problems: Problems, raw: Seq, topology: Topology | None) -> tuple[dict, ...]:
    specs = []
    allowed = {} if topology is None else {
        "resolvers": _nodes_of(topology, "resolver"), "clients": _nodes_of(topology, "client")}
    for index, spec in enumerate(raw):
        number = index + 1
        found = checks.spec_problems(spec)
        for problem in found:
            if isinstance(spec, Map) and problem.key in spec:
                kind = spec.get("check")
                known = checks.CHECKS[kind].params if isinstance(kind, str) and kind in checks.CHECKS else {}
                problems.at(spec, f"check {number}: {problem.message}{_kind_hint(problem, spec)}", problem.key,
                            value=problem.key == "check" or problem.key in known)
            else:
                problems.at(spec if isinstance(spec, Map) else raw, f"check {number}: {problem.message}",
                            None if isinstance(spec, Map) else index)
        if isinstance(spec, Map):
            for key, nodes in allowed.items():
                if isinstance(spec.get(key), list):
                    _node_list(problems, spec, key, nodes, f"check {number}")
            if not found:
                specs.append(_plain(spec))
    return tuple(specs)


def _kind_hint(problem: checks.SpecProblem, spec: Mapping) -> str:
    if problem.key == "check" and isinstance(spec.get("check"), str) and spec["check"] not in checks.CHECKS:
        return suggest(spec["check"], checks.CHECKS)
    return ""
