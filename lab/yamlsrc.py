"""YAML with positions: load a file so every mapping key and list item knows its file:line:col.

Playbooks and topologies report every problem with its place in the file; PyYAML knows the marks while
constructing, so we keep them on the containers we build (`Map`, `Seq`) instead of parsing twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from lab.errors import Problem


class Map(dict):
    """A YAML mapping that remembers where it and each of its keys and values start."""

    file: str = "<string>"
    line: int = 0
    col: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_pos: dict = {}
        self.value_pos: dict = {}

    def where(self, key: Any | None = None, *, value: bool = False) -> tuple[int, int]:
        if key is not None:
            table = self.value_pos if value else self.key_pos
            if key in table:
                return table[key]
        return self.line, self.col

    def problem(self, message: str, key: Any | None = None, *, value: bool = False) -> Problem:
        line, col = self.where(key, value=value)
        return Problem(self.file, line, col, message)


class Seq(list):
    """A YAML sequence that remembers where it and each item start."""

    file: str = "<string>"
    line: int = 0
    col: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_pos: list = []

    def where(self, index: int | None = None) -> tuple[int, int]:
        if index is not None and 0 <= index < len(self.item_pos):
            return self.item_pos[index]
        return self.line, self.col

    def problem(self, message: str, index: int | None = None) -> Problem:
        line, col = self.where(index)
        return Problem(self.file, line, col, message)


class MergedMap(Map):
    """A mapping merged from two (lab.yamlsrc.merge): each key remembers the mapping it came from, so a
    problem about it names the right file:line."""

    sources: dict

    def problem(self, message: str, key: Any | None = None, *, value: bool = False) -> Problem:
        if key is not None and key in self.sources and self.sources[key] is not self:
            return self.sources[key].problem(message, key, value=value)
        return super().problem(message, key, value=value)


def merge(base: Any, over: Any, *, home: str = "over") -> Any:
    """`over` laid on `base`: mappings merge key by key (recursively), anything else in `over` replaces.

    Every key keeps the place it came from. The merged mapping itself (and each one merged inside it) stands
    where `home` ("over" or "base") does: a topology that `extends` a base is the extending file, a topology
    with a playbook's overrides is still the topology file.
    """
    if not isinstance(base, Map) or not isinstance(over, Map):
        return over
    at = over if home == "over" else base
    merged = MergedMap()
    merged.file, merged.line, merged.col = at.file, at.line, at.col
    merged.sources = {}
    for source in (base, over):
        for key, value in source.items():
            if source is over and key in base and isinstance(base[key], Map) and isinstance(value, Map):
                merged[key], merged.sources[key] = merge(base[key], value, home=home), at
            else:
                merged[key], merged.sources[key] = value, source
            # Positions go with `merged.file`: the home's where it has the key, else the source's.
            placed = at if key in at else source
            merged.key_pos[key], merged.value_pos[key] = placed.where(key), placed.where(key, value=True)
    return merged


def plain(value: Any) -> Any:
    """Map/Seq -> dict/list, positions dropped (for YAML dumping and JSON)."""
    return json.loads(json.dumps(value, default=str))


def to_map(value: Any) -> Any:
    """Plain dicts (e.g. a playbook's saved overrides) -> Maps without positions, to merge like loaded ones."""
    if isinstance(value, dict):
        result = Map({k: to_map(v) for k, v in value.items()})
        result.key_pos, result.value_pos = {}, {}
        return result
    return value


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _loader_for(filename: str) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Map:
        loader.flatten_mapping(node)
        result = Map()
        result.file, (result.line, result.col) = filename, _pos(node)
        result.key_pos, result.value_pos = {}, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark)
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_pos[key] = _pos(key_node)
            result.value_pos[key] = _pos(value_node)
        return result

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> Seq:
        result = Seq(loader.construct_object(child, deep=True) for child in node.value)
        result.file, (result.line, result.col) = filename, _pos(node)
        result.item_pos = [_pos(child) for child in node.value]
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def loads(text: str, filename: str = "<string>") -> Any:
    """Parse YAML text; a syntax error becomes a Problem with its place, raised as YamlSyntaxError."""
    try:
        return yaml.load(text, Loader=_loader_for(filename))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = exc.problem or str(exc)
        if exc.context and exc.context not in message:
            message = f"{message} ({exc.context})"
        raise YamlSyntaxError(Problem(filename, line, col, f"invalid YAML: {message}")) from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, only an offset into the text
        before = text[:exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        what = f"character #x{exc.character:04x}" if isinstance(exc.character, int) else "byte"
        raise YamlSyntaxError(Problem(filename, line, col, f"invalid YAML: unacceptable {what}: {exc.reason}; "
                                                           "remove it")) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise YamlSyntaxError(Problem(filename, 1, 0, f"invalid YAML: {message}")) from None


def load(path: str | Path) -> Any:
    """Read and parse a YAML file; an unreadable file becomes a Problem too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise YamlSyntaxError(Problem(str(path), 0, 0, f"cannot read file: {reason}")) from None
    return loads(text, str(path))


class YamlSyntaxError(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))
