"""The CLI's error contract: one line, file:line, documented exit codes — no Docker needed."""

from __future__ import annotations

from tests.support.cli import dnslab


def run(*args: str, **kw):
    return dnslab(*args, timeout=60, **kw)


def test_malformed_topology_is_one_line_with_file_and_line_and_exit_2(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("networks:\n  core: {subnet: 10.53.0.0/33}\nnodes: {}\nzones: {}\n")
    done = run("up", "--topology", str(path))
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[0].startswith(f"Error: {path}:2:18: network 'core':"), done.stderr


def test_missing_topology_file_exits_2(tmp_path):
    done = run("up", "--topology", str(tmp_path / "nope.yml"))
    assert done.returncode == 2
    assert "cannot read file" in done.stderr


def test_unknown_command_exits_2():
    assert run("frobnicate").returncode == 2


def test_help_lists_the_lifecycle_commands():
    done = run("--help")
    assert done.returncode == 0
    for command in ("up", "status", "dig", "down", "image"):
        assert f"  {command}" in done.stdout
