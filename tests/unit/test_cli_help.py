"""What the commands' help and one-line errors tell a new user: true for what the code does (no Docker)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from lab import faults
from lab.cli import cli
from lab.errors import InputError
from lab.validation import suggest


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield path + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, path + (name,))


def test_every_name_option_of_a_command_on_a_running_lab_names_dnslab_name():
    """lab.names.lab_name takes $DNSLAB_NAME before `default`; every --name that goes through it says so
    (`up` and `run` default to the topology's name, and say that)."""
    seen = []
    for path, command in _commands(cli):
        for param in command.params:
            if "--name" in getattr(param, "opts", ()) and path[0] not in ("up", "matrix", "init"):
                seen.append(path)
                assert "$DNSLAB_NAME" in (param.help or ""), f"dnslab {' '.join(path)} --name: {param.help!r}"
    assert ("status",) in seen and ("fault", "add") in seen and ("export", "compose") in seen


def test_fault_help_lists_every_group_of_fault_kinds():
    shown = " ".join(CliRunner().invoke(cli, ["fault", "--help"]).output.split())
    for group in {kind.group for kind in faults.FAULTS.values()}:
        assert group in shown
    assert "dnssec" in shown


@pytest.mark.parametrize("typed, meant", [("SERVFAIL", "servfail"), ("Pause", "pause"), ("servfial", "servfail")])
def test_a_fault_kind_typed_in_the_wrong_case_gets_did_you_mean(typed, meant):
    assert suggest(typed, faults.FAULTS) == f' (did you mean "{meant}"?)'
    done = CliRunner().invoke(cli, ["fault", "add", typed, "unbound"])  # main() makes an InputError exit 2
    assert isinstance(done.exception, InputError) and f'did you mean "{meant}"' in str(done.exception)
