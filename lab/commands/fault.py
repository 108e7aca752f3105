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
    @click.option("--flush", is_flag=True, help="Then flush the resolvers (restart them: caches, and PowerDNS "
                  "Recursor's 60-s hold on servers that answered SERVFAIL, are gone), as `dnslab flush` does.")
    @click.option("--when-due", is_flag=True, hidden=True, help="Wait until the fault's --for is over (the "
                  "background clear of `fault add --for`).")
    @name_option
    @hosts_option
    def clear(fault_id: str | None, all_faults: bool, flush: bool, when_due: bool, name: str | None) -> None:
        """Undo one fault (by ID), or every fault plus anything left behind (--all)."""
        if bool(fault_id) == all_faults:
            raise InputError("give a fault ID (see 'dnslab fault list') or --all, not both")
        if when_due:
            timed.clear_when_due(_context(name), fault_id)
            return
        ctx = _context(name)
        if fault_id:
            click.echo(f"cleared {_summary(faults.clear(ctx, fault_id))}")
            _after_clear(ctx, flush, name)
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
        if cleared or flush:
            _after_clear(ctx, flush, name)

    @cli.command("flush")
    @click.argument("resolvers", nargs=-1)
    @name_option
    @hosts_option
    def flush_cmd(resolvers: tuple[str, ...], name: str | None) -> None:
        """Flush the resolvers (default: all): restart them and wait until they answer, so no cached answer,
        cached SERVFAIL or held-back server outlives a cleared fault."""
        _flush(_context(name), list(resolvers))


def _after_clear(ctx, flush: bool, name: str | None) -> None:
    """Flush when asked; else ask every resolver for the lab's name once and warn when one still fails: a
    resolver may keep failing after the lab's data is whole again (cached SERVFAIL, servers held back)."""
    import lab.faults as faults

    if flush:
        _flush(ctx, [])
        return
    if not ctx.description.get("probe_name") or faults.active(ctx):
        return
    results = lifecycle.dig(ctx.lab, ctx.description["probe_name"], ctx.description.get("probe_type") or "A")
    warning = still_failing_warning(results, ctx.description["probe_name"], ctx.lab if name else None)
    if warning:
        click.echo(warning, err=True)


def still_failing_warning(results: list[dict], qname: str, lab: str | None) -> str:
    """'' when every resolver answered; else a warning naming who failed how, and the flush that helps."""
    failing = [f"{r['resolver']} {r['rcode'] or r['error']}" for r in results if r["rcode"] not in ("NOERROR",
                                                                                                   "NXDOMAIN")]
    if not failing:
        return ""
    named = f" --name {lab}" if lab else ""
    return (f"warning: no fault is in force, but {qname} still fails through {', '.join(failing)} (a resolver "
            f"may keep a failure for up to a minute: PowerDNS Recursor holds back a server that answered SERVFAIL "
            f"for 60 s); flush the resolvers: dnslab flush{named}, or next time fault clear --flush")


def _flush(ctx, resolvers: list[str]) -> None:
    import lab.faults as faults

    known = [n for n, node in ctx.description["nodes"].items() if node["role"] == "resolver"]
    unknown = [r for r in resolvers if r not in known]
    if unknown:
        raise InputError(f"not a resolver of lab {ctx.lab}: {', '.join(unknown)}; resolvers: {', '.join(known)}")
    records = [faults.inject(ctx, "restart", node) for node in resolvers] or [
        faults.inject(ctx, "restart", "role:resolver")]  # all at once
    for record in records:
        faults.clear(ctx, record["id"])
    ready = {n: s for record in records for n, s in (record.get("ready_s") or {}).items()}
    click.echo("flushed " + ", ".join(f"{n} (answering after {s:.1f}s)" for n, s in ready.items()))


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
