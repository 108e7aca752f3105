"""Atomic writes on the orchestrator's side (lab.files)."""

from __future__ import annotations

import stat

import pytest

from lab.files import write_atomically


def test_a_write_replaces_the_file_whole_and_leaves_nothing_beside_it(tmp_path):
    path = tmp_path / "lab.json"
    path.write_text("old")
    write_atomically(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["lab.json"]


def test_a_secret_is_private_from_its_creation(tmp_path):
    path = tmp_path / "keys.json"
    write_atomically(path, "{}", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "faults.json"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "\udcff")  # a lone surrogate: utf-8 cannot encode it
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["faults.json"]
