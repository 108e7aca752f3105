"""CLI command modules, one per command group. Each defines `register(cli: click.Group)`, which adds its
commands to `dnslab`; lab/cli.py lists the modules."""
