"""`dnslab init [DIR]`: a starter for testing a repository's own DNS automation (lab.scaffold).

Exit codes: 0 written, 2 a file it would write exists already (nothing is written then).
"""

from __future__ import annotations

from pathlib import Path

import click

from lab import console as consoles, scaffold

out = consoles.stdout()


def register(cli: click.Group) -> None:
    cli.add_command(init)


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Write a starter into DIRECTORY (default: here): a topology extending dnslab's world, the race playbook
    running your enactor (a placeholder to replace), a pytest test and a CI workflow. Never overwrites a file."""
    root = Path(directory)
    written = scaffold.write(root)
    out.print(f"wrote {len(written)} files into {root.resolve()}:", highlight=False)
    for path in written:
        out.print(f"  {path.relative_to(root)}", highlight=False)
    out.print("next: replace automation/enactor.py with your enactor, then\n"
              "  dnslab image                        # once: builds the lab image\n"
              "  dnslab run dnslab/race.yml          # the race, from this directory\n"
              "  pytest tests/test_dnslab_race.py    # the same as a test (dnslab's pytest plugin)", highlight=False)
