"""CLI command modules. Each module here that defines `register(cli: click.Group)` adds its commands to
`dnslab`; cli.py finds them, so adding a command touches only its own module."""
