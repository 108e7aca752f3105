"""CLI command modules, one per command group. Each defines `register(cli: click.Group)`, which adds its
commands to `dnslab`; lab/cli.py lists the modules."""

from __future__ import annotations

import click

from lab import hosts


def name_option(command=None, default: str = "default"):
    """--name/-n on a command that acts on a lab that is up: lab.names.lab_name picks --name, else $DNSLAB_NAME,
    else `default`, and the help says so."""
    option = click.option("--name", "-n", help=f"Lab name (default: $DNSLAB_NAME, else {default}).")
    return option(command) if command is not None else option


def hosts_option(command):
    """--hosts FILE on a command: the Docker engines (a Swarm) the lab runs on (docs/scaling.md)."""
    return click.option(
        "--hosts", type=click.Path(exists=True, dir_okay=False), expose_value=False, is_eager=True,
        callback=lambda ctx, param, value: hosts.choose(value) if value else None,
        help="Hosts file: the Docker engines of a Swarm to run the lab on (default: $DNSLAB_HOSTS, else the "
             "hosts the lab was started with, else the local engine).")(command)
