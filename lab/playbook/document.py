"""Load and validate a playbook: every problem at once with file:line:col, then a plain model the runner reads.

Pure: it reads the playbook and the topology it names, never Docker. The format is documented in
docs/playbooks.md. This module validates the whole and the topology, probes and checks parts; steps are
lab.playbook.steps. Fault kinds and their parameters come from lab.faults, check kinds from lab.checks,
actions from lab.playbook.actions, node names from the topology — each table validates its own part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from lab import bundle, checks, library, lifecycle
from lab.errors import InputError, PlaybookError, Problem, TopologyError
from lab.names import NODE_NAME, absolute
from lab.playbook import overrides
from lab.playbook.fields import get_duration, node_list, nodes_of
from lab.playbook.sections import SECTIONS
from lab.playbook.steps import Step, validate_steps
from lab.validation import Problems, check_keys, shown, get, suggest
from lab.topology import load as topology_load
from lab.topology.model import Topology
from lab.yamlsrc import Map, Seq, YamlSyntaxError, load as load_yaml, merge, plain, to_map

TOP_FIELDS = ("name", "description", "seed", "library", "topology", "setup", "probes", "steps", "checks")
TOPOLOGY_FIELDS = ("file", "overrides")
PROBE_FIELDS = ("names", "types", "rate", "clients", "resolvers", "timeout", "dnssec", "transport")

MAX_RATE = 50.0  # query rounds per second per client: load stays bounded (a round asks every resolver once)


@dataclass(frozen=True)
class ProbePlan:
    names: tuple[str, ...]
    types: tuple[str, ...]
    rate: float  # rounds per second per client; each round asks every resolver once per name and type
    clients: tuple[str, ...]
    resolvers: tuple[str, ...]
    timeout: float
    dnssec: bool = False  # ask with EDNS and AD: probes then record `ad` and `ede` (docs/records.md)
    transport: tuple[int, ...] = (4,)  # IP versions every query goes over (6: a dual-stack topology's)


@dataclass(frozen=True)
class Playbook:
    name: str
    summary: str  # the file's `description:` (prose)
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
                                    f"{message}, not {shown(doc)}"))
        raise PlaybookError(problems)
    check_keys(problems, doc, TOP_FIELDS + tuple(SECTIONS), "playbook", required=("name", "steps", "checks"))
    name = get(problems, doc, "name", str, "playbook", Path(file).stem)
    if not NODE_NAME.match(str(name)):
        problems.at(doc, f"playbook name {name!r} must be lower-case letters, digits and '-'", "name", value=True)
    summary = get(problems, doc, "description", str, "playbook", "")
    playbook_seed = get(problems, doc, "seed", int, "playbook", 0)
    topology_file, topology_overrides, topology = _topology(problems, doc, Path(file))
    if topology is None:
        raise PlaybookError(problems)
    lab_description = lifecycle.describe(topology.name, topology, "", topology_file)
    probes = _probes(problems, get(problems, doc, "probes", dict, "playbook", Map()), topology, lab_description)
    setup = validate_steps(problems, get(problems, doc, "setup", list, "playbook", Seq()), topology, lab_description, faults,
                   section="setup")
    steps = validate_steps(problems, get(problems, doc, "steps", list, "playbook", Seq()), topology, lab_description, faults)
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
        name=name, summary=summary, seed=playbook_seed if seed is None else seed, file=file,
        topology_file=topology_file, topology_overrides=plain(topology_overrides), topology=topology,
        probes=probes, steps=steps, checks=check_specs, document=plain(doc), sections=sections, setup=setup,
    )


def _section(problems: Problems, doc: Map, key: str, topology: Topology) -> Any:
    """A registered section's validated value; its problems without a place (the section is no mapping)
    are placed at the section's value."""
    found = Problems(problems.file)
    value = SECTIONS[key](found, doc[key], topology)
    problems.extend(p if p.line else doc.problem(p.message, key, value=True) for p in found)
    return value


# ---- topology ---------------------------------------------------------------------------------------------


def _topology(problems: Problems, doc: Map, file: Path) -> tuple[Path, Map, Topology | None]:
    raw = doc.get("topology")
    extra, name, where, key = to_map({}), None, doc, "topology"
    if isinstance(raw, str):
        name = raw
    elif isinstance(raw, Map):
        check_keys(problems, raw, TOPOLOGY_FIELDS, "topology")
        name = get(problems, raw, "file", str, "topology")
        extra = get(problems, raw, "overrides", dict, "topology", extra)
        where, key = raw, "file"
    elif raw is not None:
        problems.at(doc, "topology must be a file name or a mapping {file, overrides}", "topology", value=True)
    try:
        path = topology_load.DEFAULT_TOPOLOGY if name is None else bundle.referenced(name, file.parent)
        topology_doc = load_yaml(path)
    except InputError as exc:  # an unknown dnslab:NAME
        problems.at(where, f"topology: {exc}", key, value=True)
        return file.parent / name, extra, None
    except YamlSyntaxError as exc:
        problems.at(where, f"topology {name!r}: {exc.problem.message} (paths are relative to the playbook"
                    f"{bundle.hint_for_missing(name)})", key, value=True)
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
    return plain(merge(base, to_map(playbook.topology_overrides), home="base"))


# ---- probes -----------------------------------------------------------------------------------------------


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
    clients = node_list(problems, spec, "clients", nodes_of(topology, "client"), "probes")
    resolvers = node_list(problems, spec, "resolvers", nodes_of(topology, "resolver"), "probes")
    clients = nodes_of(topology, "client") if clients is None else clients
    resolvers = nodes_of(topology, "resolver") if resolvers is None else resolvers
    if not clients:
        problems.at(spec, f"topology {topology.name!r} has no client node to probe from")
    for client in clients:
        for resolver in resolvers:
            try:
                lifecycle.resolver_address(lab_description, resolver, client)
            except Exception as exc:  # InputError: no shared network
                problems.at(spec, f"probes: {exc}", "clients" if "clients" in spec else None)
    timeout = get_duration(problems, spec, "timeout", "probes", 2.0)
    dnssec = get(problems, spec, "dnssec", bool, "probes", False)
    return ProbePlan(tuple(absolute(n) for n in names if isinstance(n, str)),
                     tuple(str(t).upper() for t in types if isinstance(t, str)), float(rate), tuple(clients),
                     tuple(resolvers), timeout, bool(dnssec), _transport(problems, spec, topology))


def _transport(problems: Problems, spec: Map, topology: Topology) -> tuple[int, ...]:
    """`transport: [4, 6]`: each query goes over IPv4 and over IPv6 (a dual-stack topology: `ipv6: true`)."""
    raw = get(problems, spec, "transport", list, "probes", [4])
    if not raw or not all(v in (4, 6) and not isinstance(v, bool) for v in raw) or len(set(raw)) != len(raw):
        problems.at(spec, f"probes transport must be a list of IP versions, [4], [6] or [4, 6], not {raw!r}",
                    "transport", value=True)
        return (4,)
    if 6 in raw and not topology.ipv6:
        problems.at(spec, f"probes transport 6 needs a dual-stack topology: topology {topology.name!r} has no "
                          f"IPv6 (set `ipv6: true` in it, or extend dnslab:dual-stack.yml)", "transport", value=True)
        return (4,)
    return tuple(raw)


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
        "resolvers": nodes_of(topology, "resolver"), "clients": nodes_of(topology, "client")}
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
                    node_list(problems, spec, key, nodes, f"check {number}")
            if not found:
                specs.append(plain(spec))
    return tuple(specs)


def _kind_hint(problem: checks.SpecProblem, spec: Mapping) -> str:
    if problem.key == "check" and isinstance(spec.get("check"), str) and spec["check"] not in checks.CHECKS:
        return suggest(spec["check"], checks.CHECKS)
    return ""
