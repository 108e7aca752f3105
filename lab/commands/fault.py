"""`dnslab fault add | list | clear | kinds`: inject and undo faults by hand, also across processes."""

from __future__ import annotations

import json
import random
import time

import click

from lab import lifecycle, state
from lab.commands import hosts_option, name_option
from lab.faults import timed
from lab.errors import InputError
from lab.duration import parse_duration
from lab.names import lab_name
from lab.validation import suggest


def _context(name: str | None, seed: int | None = None):
    import lab.faults as faults

    lab = lab_name(name)
    description = state.load_description(lab)
    if description is None:
        raise lifecycle.not_up(lab)
    # The engines the lab runs on: --hosts, else the hosts file it was started with (lab.json), else local.
    ctx = faults.FaultContext(lifecycle.runtime_for(lab), description, random.Random(seed))
    for record in timed.clear_due(ctx):  # a background clear that was killed: its fault is over all the same
        click.echo(f"cleared {record['id']} (its --for was over)", err=True)  # a note: stdout stays the output (--json)
    return ctx


def _summary(record: dict) -> str:
    params = " ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                      for k, v in record.get("params", {}).items())
    nodes = ",".join(record.get("nodes", []))
    where = record["target"] if nodes == record["target"] else f"{record['target']} ({nodes})"
    chosen = " ".join(f"{k}={v}" for k, v in (record.get("chosen") or {}).items())
    return " ".join(p for p in (record["id"], record["kind"], where, params, f"[chosen {chosen}]" if chosen else "") if p)


def register(cli: click.Group) -> None:
    import lab.faults as faults
    from lab.faults.arguments import parse_cli

    groups = ", ".join(dict.fromkeys(kind.group for kind in faults.FAULTS.values()))

    @cli.group("fault", help=f"Inject, list and clear faults ({groups}).")
    def fault_group() -> None:
        pass

    @fault_group.command("kinds")
    def kinds() -> None:
        """List every fault kind with its parameters."""
        for name, kind in faults.FAULTS.items():
            params = " ".join(f"{p}={'<' + (str(v.default) if v.default is not None else '?') + '>'}"
                              + ("" if v.required else "?") for p, v in kind.params.items())
            click.echo(f"{kind.group:10} {name:18} {kind.help}" + (f"\n{'':29}{params}" if params else ""))

    @fault_group.command("add")
    @click.argument("kind")
    @click.argument("target")
    @click.argument("params", nargs=-1)
    @click.option("--for", "duration", help="Clear the fault again after this long (10s, 500ms, 2m): the command "
                  "returns at once and a background process clears it when it is due (recorded in the lab's "
                  "faults like any other: fault list shows it, fault clear ID or --all clears it sooner).")
    @click.option("--wait", "wait_for_it", is_flag=True, help="With --for: stay until the fault is cleared.")
    @name_option
    @click.option("--seed", type=int, help="Seed for random choices (random: targets, lame servers).")
    @hosts_option
    def add(kind: str, target: str, params: tuple[str, ...], duration: str | None, wait_for_it: bool,
            name: str | None, seed: int | None) -> None:
        """Inject fault KIND on TARGET (a node, role:ROLE or random:role:ROLE) with KEY=VALUE parameters.

        Lists take commas: `partition client1 from=unbound,bind-resolver`. See `dnslab fault kinds`."""
        if kind not in faults.FAULTS:
            raise InputError(f"unknown fault kind {kind!r}{suggest(kind, faults.FAULTS)}; known: {', '.join(faults.FAULTS)}")
        seconds = None
        if duration is not None:
            try:
                seconds = parse_duration(duration)
            except ValueError as exc:
                raise InputError(f"--for: {exc}") from None
        typed, problems = parse_cli(kind, faults.FAULTS[kind].params, list(params))
        if problems:
            raise InputError(f"fault {kind}: " + "; ".join(m for _, m in problems))
        ctx = _context(name, seed)
        record = faults.inject(ctx, kind, target, typed)
        click.echo(f"injected {_summary(record)}")
        by_hand = f"dnslab fault clear {record['id']}" + (f" --name {ctx.lab}" if name else "")
        if seconds is None:
            click.echo(f"clear it with: {by_hand}")
            return
        if wait_for_it:
            try:
                _wait(seconds, record["id"])
            finally:
                faults.clear(ctx, record["id"])
                click.echo(f"cleared {record['id']}")
            return
        due = timed.clear_later(ctx.lab, record, seconds)
        click.echo(f"clears itself at {time.strftime('%H:%M:%S', time.localtime(due))} (in {seconds:g}s, in the "
                   f"background); sooner: {by_hand}")

    @fault_group.command("list")
    @name_option
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @hosts_option
    def list_cmd(name: str | None, as_json: bool) -> None:
        """Faults in force in the lab."""
        ctx = _context(name)
        records = faults.active(ctx)
        if as_json:
            click.echo(json.dumps(records, indent=2))
            return
        if not records:
            click.echo(f"no active faults in lab {ctx.lab}")
        for record in records:
            until = f"  until {time.strftime('%H:%M:%S', time.localtime(record['until']))}" if record.get("until") else ""
            click.echo(f"{_summary(record)}  since {time.strftime('%H:%M:%S', time.localtime(record['start']))}{until}")

    @fault_group.command("clear")
    @click.argument("fault_id", required=False)
    @click.option("--all", "all_faults", is_flag=True, help="Clear every fault and sweep leftovers.")
    @click.option("--when-due", is_flag=True, hidden=True, help="Wait until the fault's --for is over (the "
                  "background clear of `fault add --for`).")
    @name_option
    @hosts_option
    def clear(fault_id: str | None, all_faults: bool, when_due: bool, name: str | None) -> None:
        """Undo one fault (by ID), or every fault plus anything left behind (--all)."""
        if bool(fault_id) == all_faults:
            raise InputError("give a fault ID (see 'dnslab fault list') or --all, not both")
        if when_due:
            timed.clear_when_due(_context(name), fault_id)
            return
        ctx = _context(name)
        if fault_id:
            click.echo(f"cleared {_summary(faults.clear(ctx, fault_id))}")
            return
        cleared = faults.clear_all(ctx)
        for record in cleared:
            if record["kind"] == "sweep":
                found = "; ".join(f"{k}: {', '.join(v)}" for k, v in record["swept"].items() if v)
                click.echo(f"swept leftovers: {found}")
            else:
                click.echo(f"cleared {_summary(record)}")
        if not cleared:
            click.echo(f"nothing to clear in lab {ctx.lab}")


def _wait(seconds: float, fault_id: str) -> None:
    """Wait with a progress bar; Ctrl-C ends the wait early (the caller clears the fault either way)."""
    end = time.monotonic() + seconds
    with click.progressbar(length=int(seconds * 10), label=f"{fault_id} in force", file=None) as bar:
        done = 0
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(0.1, left))
            now = int((seconds - max(0.0, end - time.monotonic())) * 10)
            bar.update(now - done)
            done = now
