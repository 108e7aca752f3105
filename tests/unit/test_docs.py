"""The docs stay true to the tree: links resolve, nothing cites a machine's own paths, every library playbook's
incident is written up with its source in docs/incidents.md."""

from __future__ import annotations

import re
from pathlib import Path

from lab import library

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").rglob("*.md"))]


def test_every_relative_link_of_the_docs_names_a_file_of_the_repository():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" not in target:
                assert (doc.parent / target).exists(), f"{doc.relative_to(ROOT)}: link to {target} goes nowhere"


def test_no_doc_or_playbook_cites_a_path_outside_the_repository():
    texts = [*DOCS, *sorted((ROOT / "playbooks").glob("*.yml"))]
    for path in texts:
        for line_no, line in enumerate(path.read_text().splitlines(), 1):
            assert "/work/" not in line and "shared/INCIDENTS" not in line, f"{path.name}:{line_no}: {line.strip()}"


def test_every_library_playbook_is_in_docs_incidents_with_a_source():
    rows = {row.split("|")[6].strip(" `"): row for row in (ROOT / "docs/incidents.md").read_text().splitlines()
            if row.startswith("| ") and row.count("|") == 7}
    text = (ROOT / "docs/incidents.md").read_text()
    for entry in library.entries():
        assert entry.name in rows or f"Playbook: `{entry.name}`" in text, f"{entry.name} is not in docs/incidents.md"
        if entry.name in rows:
            assert rows[entry.name].split("|")[5].strip(), f"{entry.name}: no source"


def test_the_check_table_of_docs_playbooks_is_the_one_the_code_makes():
    """docs/playbooks.md's table of check kinds is generated from lab.checks (python -m lab.checks.reference
    --write docs/playbooks.md): a kind or parameter added, renamed or removed makes this fail until it is."""
    from lab.checks import CHECKS, reference

    held = reference.in_document((ROOT / "docs/playbooks.md").read_text())
    assert held == reference.block(), "run: python -m lab.checks.reference --write docs/playbooks.md"
    assert all(f"| `{kind}` |" in held for kind in CHECKS)
