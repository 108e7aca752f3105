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


def test_a_lab_that_is_not_up_gets_the_up_that_starts_that_lab(tmp_path, monkeypatch):
    """`dnslab up --name enactors` alone starts the default world under that name: the hint says -t."""
    from lab import lifecycle

    monkeypatch.setenv("DNSLAB_HOME", str(tmp_path))
    monkeypatch.delenv("DNSLAB_NAME", raising=False)
    done = CliRunner().invoke(cli, ["fault", "list", "--name", "enactors"])
    assert "start it with 'dnslab up -t enactors'" in str(done.exception)
    assert "'dnslab up'" in str(lifecycle.not_up("default"))
    assert "'dnslab up --name mine -t TOPOLOGY' (without -t it is the default world)" in str(lifecycle.not_up("mine"))


def test_a_failed_role_points_to_its_logs_the_way_that_works_after_the_run():
    from lab.automation import Automation
    from lab.enactors import roles

    class Gone:  # a container as the runtime describes it
        name, exit_code, error = "dnslab-lab-enactor-a", 2, None

    class Rt:
        def logs(self, name, **kw):
            return "python3: can't open file\n"

    line = roles.failure_line(Rt(), Gone(), "enactor-a", Automation(command="python3 x.py"), "at start")
    assert "run again with --keep, then 'docker logs dnslab-lab-enactor-a'" in line
