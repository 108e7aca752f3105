"""`dnslab export compose`: the lab as a docker-compose project."""

from __future__ import annotations

import click

from lab import composeproject
from lab.commands import name_option
from lab.names import lab_name


def register(cli: click.Group) -> None:
    @cli.group("export")
    def export_group() -> None:
        """Export a lab for other tools."""

    @export_group.command("compose")
    @name_option
    @click.option("--out", "-o", "out_dir", default=None, help="Directory to write (default: compose-export/<lab>).")
    def compose(name: str | None, out_dir: str | None) -> None:
        """Write docker-compose.yml plus the rendered node configs for a lab that has been up."""
        name = lab_name(name)
        path = composeproject.export_compose(name, out_dir or f"compose-export/{name}")
        click.echo(f"wrote {path}  (docker-compose -f {path} up -d)")
