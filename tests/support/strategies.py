"""Hypothesis strategies the property tests share: document values, the paths into a document, and
mutations of a document along them. How many examples a property gets is the profile in
tests/unit/conftest.py (DNSLAB_FUZZ_EXAMPLES)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st


def values(scalars: st.SearchStrategy, keys: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """YAML-shaped values: `scalars`, and lists and mappings (keys from `keys`, default short text) of them."""
    keys = st.text(max_size=12) if keys is None else keys
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(keys, inner, max_size=4)),
                        max_leaves=12)


def paths(doc: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into a nested document (the empty one, to the document itself, first)."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from paths(value, prefix + (i,))


def mutate(doc: Any, data: st.DataObject, where: list[tuple], new_values: st.SearchStrategy,
           actions: tuple[str, ...] = ("set", "delete")) -> None:
    """1 to 3 edits of `doc` in place at paths drawn from `where`: set a drawn value, delete the key or item,
    or ("insert") add a copy of a sibling list item or a new mapping key. A path the document no longer has
    (an earlier edit changed it) is skipped."""
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(where))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = data.draw(st.sampled_from(actions))
            if action == "set":
                parent[path[-1]] = data.draw(new_values)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, list):
                parent.insert(path[-1], copy.deepcopy(data.draw(st.sampled_from(parent))))
            else:
                parent[data.draw(st.text(max_size=8))] = data.draw(new_values)
        except (KeyError, IndexError, TypeError):
            continue
