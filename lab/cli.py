"""The dnslab command line. `main()` is the one place that turns errors into exit codes (see DESIGN.md)."""

from __future__ import annotations

import gc
import json
import sys
import time

import click
from rich.table import Table

from lab import bundle, console as consoles, image, lifecycle
from lab.commands import export, fault, hosts_option, incidents, init, name_option, pipeline, runs
from lab.errors import ExitCode, LabError
from lab.names import lab_name

console = consoles.stderr()
out = consoles.stdout()


def _progress(status):
    def report(message: str) -> None:
        status.update(f"[bold]{message}")
        if not console.is_terminal:
            console.print(message, highlight=False)
    return report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="dnslab")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """dnslab: a live DNS fault-injection lab with real servers in Docker.

    Exit codes: 0 ok, 1 a check failed, 2 invalid input, 3 environment problem, 130 interrupted.
    """
    ctx.obj = {"debug": debug}


@cli.command()
@click.option("--topology", "-t", type=click.Path(dir_okay=False),
              help="Topology file, or the name of one dnslab bundles (minimal, enactors, ...; default: default).")
@click.option("--name", "-n", help="Lab name (default: the topology's name).")
@click.option("--timeout", default=lifecycle.READY_TIMEOUT, show_default=True, help="Seconds to wait for every server.")
@hosts_option
def up(topology: str | None, name: str | None, timeout: float) -> None:
    """Start a lab and wait until every server answers (idempotent)."""
    with console.status("starting lab") as status:
        path = bundle.command_line(topology, "topology") if topology else None
        description = lifecycle.up(path, name, progress=_progress(status), ready_timeout=timeout)
    console.print(f"[green]lab {description['lab']} is up[/] ({len(description['nodes'])} nodes, "
                  f"slot {description['slot']})")
    _print_status(lifecycle.status(description["lab"]))


@cli.command("image")
@click.option("--builder", type=click.Choice(["auto", "mmdebstrap", "dockerfile"]), default=None,
              help="How to build it (default: $DNSLAB_IMAGE_BUILDER or auto).")
@hosts_option
def image_cmd(builder: str | None) -> None:
    """Build the lab image if it is missing (tagged by the hash of compose/image/)."""
    started = time.monotonic()
    with console.status("checking the lab image") as status:
        rt = lifecycle.runtime_for()
        tag = image.ensure(rt.image_source(), _progress(status), builder)
        rt.spread_image(tag, _progress(status), also=[f"{image.REPOSITORY}:latest"])
    console.print(f"image {tag} ready ({time.monotonic() - started:.1f}s)")


@cli.command()
@name_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@hosts_option
def status(name: str | None, as_json: bool) -> None:
    """List every node: name, role, software, version, address, state, and whether it answers."""
    rows = lifecycle.status(lab_name(name))
    if as_json:
        out.print_json(json.dumps(rows))
    else:
        _print_status(rows)


def _print_status(rows: list[dict]) -> None:
    table = Table(title=None)
    placed = any(row.get("host") for row in rows)  # a lab across engines: where each node runs
    for column in ("name", "role", "software", "version", *(["host"] if placed else []), "address", "state",
                   "answers"):
        table.add_column(column)
    for row in rows:
        colour = "green" if row["state"] == "running" else "red"
        said = row["answers"]
        answer_colour = "green" if said == "yes" else "dim" if said == "-" else "red"
        table.add_row(*(str(row[c] or "") for c in ("name", "role", "software", "version",
                                                    *(["host"] if placed else []), "address")),
                      f"[{colour}]{row['state']}[/]", f"[{answer_colour}]{said}[/]")
    out.print(table)


@cli.command()
@click.argument("qname")
@click.argument("qtype", default="A")
@click.option("--via", default="all", show_default=True, help="Resolver node to ask, or 'all'.")
@click.option("--client", "client_node", help="Client node to ask from (default: the first client).")
@name_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-6", "ipv6", is_flag=True, help="Ask the resolvers at their IPv6 addresses (a dual-stack lab).")
@hosts_option
def dig(qname: str, qtype: str, via: str, client_node: str | None, name: str | None, as_json: bool,
        ipv6: bool) -> None:
    """Resolve QNAME from a client container through the lab's resolvers."""
    results = lifecycle.dig(lab_name(name), qname, qtype.upper(), via, client_node, transport=6 if ipv6 else 4)
    if as_json:
        out.print_json(json.dumps(results))
        return
    table = Table()
    for column in ("resolver", "rcode", "answer", "ttl", "ms"):
        table.add_column(column)
    for r in results:
        rcode = r["rcode"] or r["error"]
        colour = "green" if r["rcode"] == "NOERROR" and r["answers"] else "yellow" if r["rcode"] else "red"
        answer = " ".join(r["answers"]) or ("(no data)" if r["rcode"] == "NOERROR" else "")
        table.add_row(r["resolver"], f"[{colour}]{rcode}[/]", answer, str(r["ttl"] or ""),
                      f"{r['latency_ms']:.1f}" if r["latency_ms"] is not None else "")
    out.print(table)


@cli.command()
@name_option
@click.option("--all", "all_labs", is_flag=True, help="Remove every dnslab lab on this Docker daemon.")
@hosts_option
def down(name: str | None, all_labs: bool) -> None:
    """Remove every container, network and volume of the lab (found by label)."""
    removed = lifecycle.down(lab_name(name), all_labs)
    if not removed:
        console.print("no labs found")
    for lab, counts in removed.items():
        console.print(f"lab {lab}: removed {counts['containers']} containers, {counts['networks']} networks, "
                      f"{counts['volumes']} volumes")


# Every command group beyond the lab's own (above) lives in a module of lab.commands that adds itself here.
for _module in (export, fault, incidents, init, pipeline, runs):
    _module.register(cli)


def main() -> None:
    try:
        _main()
    finally:
        # Nothing is left to collect at exit: without this the interpreter's last collections walk every
        # object a run made (records, matplotlib, docker) and `dnslab run` ended 0.3-0.8 s after its work.
        gc.freeze()


def _main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        console.print("Interrupted.")
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.INVALID_INPUT)
    except KeyboardInterrupt:
        console.print("Interrupted.")
        sys.exit(ExitCode.INTERRUPTED)
    except LabError as exc:
        if debug:
            console.print_exception()
        lines = str(exc).splitlines() or [type(exc).__doc__ or "error"]
        for line in lines:
            console.print(f"[red]Error:[/] {line}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    sys.exit(ExitCode.OK)
