"""Secrets: no TSIG key material is committed. Keys are made per lab at `up` (lab.state.tsig_key) and live
under DNSLAB_HOME, outside the work tree; this looks at every tracked file for a key file or a key."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# A base64 HMAC key as BIND (`secret "...";`), JSON (`"secret": "..."`) or Knot (`secret: ...`) would hold it:
# 32 random bytes are 44 characters. Template placeholders ({{ tsig.secret }}) have no such run.
KEY_MATERIAL = re.compile(r"""secret["']?\s*[:=]?\s*["']?[A-Za-z0-9+/]{40,}={0,2}""")
KEY_FILES = ("tsig.key", "tsig.json")


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git work tree")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in out.decode().split("\0") if name]


def test_no_tsig_key_file_or_key_material_is_committed():
    files = tracked_files()
    assert files
    assert [f for f in files if f.name in KEY_FILES] == []
    found = []
    for path in files:
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        found += [f"{path.relative_to(REPO)}: {m.group(0)[:20]}..." for m in KEY_MATERIAL.finditer(text)]
    assert found == []


def test_the_pattern_finds_a_key_in_each_form():
    key = "q" * 43 + "="
    for text in (f'secret "{key}";', f'{{"secret": "{key}"}}', f"secret: {key}"):
        assert KEY_MATERIAL.search(text), text
    assert not KEY_MATERIAL.search('secret "{{ tsig.secret }}";')


def test_keys_live_outside_the_work_tree_and_run_directories_are_ignored(monkeypatch):
    from lab import state

    monkeypatch.delenv("DNSLAB_HOME", raising=False)
    assert REPO not in state.lab_dir("any").parents  # where tsig.key is made by default
    assert "runs/" in (REPO / ".gitignore").read_text().split()  # reports and records never get committed
