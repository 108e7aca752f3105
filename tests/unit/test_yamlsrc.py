"""YAML with positions (lab.yamlsrc): a merge of two documents keeps every key's file:line."""

from __future__ import annotations

import textwrap

from lab.yamlsrc import loads, merge

BASE = textwrap.dedent("""\
    name: base
    zones:
      a.test.: {ttl: 5, servers: [x]}
      b.test.: {ttl: 7}
    """)
OVER = textwrap.dedent("""\
    zones:
      a.test.: {ttl: 9}
      c.test.: {ttl: 1}
    extra: true
    """)


def where(mapping, key) -> str:
    problem = mapping.problem("m", key)
    return f"{problem.file}:{problem.line}:{problem.col}"


def test_mappings_merge_key_by_key_and_the_rest_is_replaced():
    merged = merge(loads(BASE, "base.yml"), loads(OVER, "over.yml"))
    assert merged == {"name": "base", "zones": {"a.test.": {"ttl": 9, "servers": ["x"]}, "b.test.": {"ttl": 7},
                                                "c.test.": {"ttl": 1}}, "extra": True}
    assert list(merged) == ["name", "zones", "extra"], "keys stay in the base's order, new ones after"
    assert merge(loads(BASE), [1]) == [1] and merge(3, loads(OVER)) == loads(OVER)


def test_every_key_names_the_file_it_came_from():
    merged = merge(loads(BASE, "base.yml"), loads(OVER, "over.yml"))
    assert where(merged, "name") == "base.yml:1:1"
    assert where(merged, "extra") == "over.yml:4:1"
    zone = merged["zones"]["a.test."]
    assert where(zone, "ttl") == "over.yml:2:13" and where(zone, "servers") == "base.yml:3:21"
    assert where(merged["zones"], "b.test.") == "base.yml:4:3"


def test_the_merged_mapping_stands_where_its_home_does():
    """An extending topology is its own file; a topology with a playbook's overrides is the topology's."""
    base, over = loads(BASE, "base.yml"), loads(OVER, "over.yml")
    assert where(merge(base, over), None) == "over.yml:1:1"
    on_base = merge(base, over, home="base")
    assert where(on_base, None) == "base.yml:1:1"
    assert where(on_base, "zones") == "base.yml:2:1", "a key merged on both sides stands in the home"
    assert where(on_base, "extra") == "over.yml:4:1"
    assert merge(base, over)["zones"].file == "over.yml" and on_base["zones"].file == "base.yml"
