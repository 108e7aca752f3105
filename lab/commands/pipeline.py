"""`dnslab repair` and `dnslab pipeline status | set | reset`: the operator's view of a lab's planner and
enactors (lab.enactors)."""

from __future__ import annotations

import json
import time

import click

from lab import lifecycle, state
from lab.commands import hosts_option, name_option
from lab.errors import LabNotFound
from lab.names import lab_name
from lab.validation import set_option


def _lab(name: str | None):
    lab = lab_name(name)
    description = state.load_description(lab)
    if description is None:
        raise LabNotFound(f"no lab named {lab!r} is up; start it with 'dnslab up -t compose/enactors.yml "
                          f"--name {lab}'")
    return lifecycle.runtime_for(lab), description


def _parse_sets(pairs: tuple[str, ...]) -> dict:
    return dict(set_option(pair, "enactor.strategy=guarded") for pair in pairs)


def register(cli: click.Group) -> None:
    from lab import enactors

    @cli.command("repair")
    @name_option
    @hosts_option
    def repair(name: str | None) -> None:
        """Restore the newest plan on every endpoint: the manual fix for stuck (naive) enactors."""
        rt, description = _lab(name)
        result = enactors.repair(rt, description)
        click.echo(f"repaired: generation {result['generation']} written to {len(result['written'])} endpoints"
                   + (f", {len(result['skipped'])} already newer" if result["skipped"] else "")
                   + "; enactors resume on their next cycle, clients once cached answers expire")

    @cli.group("pipeline")
    def group() -> None:
        """The DNS automation pipeline of a lab (planner, enactors, plan store)."""

    @group.command("status")
    @name_option
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @hosts_option
    def status(name: str | None, as_json: bool) -> None:
        """Newest generation, what each enactor is doing, what DNS says is applied, stuck or not."""
        rt, description = _lab(name)
        result = enactors.status(rt, description)
        if as_json:
            click.echo(json.dumps(result, indent=2))
            return
        click.echo(render_status(result))

    @group.command("set")
    @click.argument("pairs", nargs=-1, required=True, metavar="KEY=VALUE...")
    @name_option
    @hosts_option
    def set_(pairs: tuple[str, ...], name: str | None) -> None:
        """Retune running agents, e.g. `enactor.strategy=guarded pipeline.interval=0.5`."""
        rt, description = _lab(name)
        now = enactors.configure(rt, description, _parse_sets(pairs))
        click.echo(" ".join(f"{k}={now[k]}" for k in sorted(now) if k != "epoch"))

    @group.command("reset")
    @click.argument("pairs", nargs=-1, metavar="[KEY=VALUE...]")
    @name_option
    @hosts_option
    def reset(pairs: tuple[str, ...], name: str | None) -> None:
        """Start afresh: no plans but a baseline generation (the whole pool) in the store and in DNS."""
        rt, description = _lab(name)
        result = enactors.reset(rt, description, _parse_sets(pairs))
        held = "" if not result["not_held"] else f" (did not answer the hold: {', '.join(result['not_held'])})"
        click.echo(f"pipeline reset: baseline generation {result['generation']}, epoch {result['epoch']}{held}")


def render_status(result: dict) -> str:
    """The status as a few lines of text: the store, the agents, the endpoints."""
    settings = result["settings"]
    lines = [f"plans: newest generation {result['newest']}, {len(result['generations'])} in the store "
             f"(strategy {settings['strategy']}, interval {settings['interval']}s, keep {settings['keep']}, "
             f"{'running' if settings['running'] else 'held'})"]
    now = result["now"]
    for node, agent in sorted(result["agents"].items()):
        doing = agent.get("state", "?")
        if doing == "applying":
            doing += f" gen {agent.get('generation')} endpoint {agent.get('index')} ({agent.get('endpoint')})"
        elif doing == "producing":
            doing = f"produced gen {agent.get('generation')}"
        if agent.get("applied") is not None:
            doing += f", last applied gen {agent['applied']}"
        if agent.get("state") == "stuck":
            doing += f": {agent.get('reason')}"
        age = f" ({now - agent['t']:.0f}s ago)" if agent.get("t") and now - agent["t"] > 3 else ""
        lines.append(f"  {node:<10} [{agent.get('container', '?')}] {doing}{age}")
    lines.append("endpoints (as the primary serves them):")
    for endpoint, seen in result["dns"].items():
        orphan = "  <- its plan is deleted" if endpoint in result["orphaned"] else ""
        addresses = ", ".join(seen["addresses"]) or "NO ADDRESSES"
        lines.append(f"  {endpoint:<42} gen={seen['marker']}  {addresses}{orphan}")
    if result.get("dns_error"):
        lines.append(f"  (cannot read DNS: {result['dns_error']})")
    if result["stuck"]:
        lines.append(f"STUCK: {', '.join(result['stuck'])} — run 'dnslab repair'")
    if result.get("repaired"):
        ago = time.time() - result["repaired"]["t"]
        lines.append(f"last repair {ago:.0f}s ago with generation {result['repaired']['generation']}")
    return "\n".join(lines)
