"""Fault apply latency per fault kind: from the step's start (the `inject` call) to the send of the first query,
by the lab's prober in client1, that shows the effect.

Per sample: a prober in client1 asks one resolver at PROBE_RATE queries/s; once it sees clean answers, the
bench calls lab.faults.inject as a playbook step does, reads the prober's lines until the effect shows in
STREAK consecutive queries, stops the prober (every query in flight gets its line) and clears the fault.
The figure is the send time of the first of those queries minus the step's start: when the effect was in
force for a client. (Its answer, or its timeout, arrives latency_ms or TIMEOUT later; results.json has
that too, as `observed_ms`.)

Baseline: the prober's own send interval measured in the same sample (1/PROBE_RATE), i.e. the resolution
floor: a ratio of 5 means the effect showed five probe intervals after the step started.

Zone-data kinds that travel NOTIFY/IXFR (empty-rrset, ttl) have a floor of their own besides: the time from
sending a plain update of the zone until both secondaries serve its SOA serial, measured in the same
sample; their second row is the step's start until both secondaries serve the fault's change (the inject
call returns then), so the difference is what the fault itself adds. Each of those updates starts at least
KNOT_NOTIFY_GAP after the previous one reached the secondaries: Knot 3.2 plans its own NOTIFY event one
second after every change it takes in, on a clock of whole seconds, and a NOTIFY from the primary that
arrives in that second does not move the planned time, so its refresh waits for that event (up to 1 s; seen
in `knotc zone-status` as "notify: +1s"). Back to back, the floor or the fault met that step in one sample
of three or more; spaced, none of 30 updates did.

Caches never hide an effect: process, network and dns-answer faults act on the resolver the client asks
(dnsdist in front of it, for dns-answer kinds), so even a cached name shows them; a partition of the
resolver from the servers is observed with a new name per query; zone-data faults change a fresh name
with TTL 0. A resolver asked 100 times a second still answers a TTL-0 RRset from its cache to the end of
the second it came in (unbound, BIND and pdns-recursor count TTLs in whole seconds; kresd keeps it 5 s, its
cache.min_ttl): a deleted RRset shows at once (the cached message is gone, the resolver asks again), but a
TTL-only change (the same values) showed at the next second boundary, 0-1000 ms after the secondaries served
it. So, as an operator would, the bench flushes from unbound's cache right after the inject call (counted
in the figure) the ttl fault's name, and for broken delegations everything (`flush_zone .`). The flush
speaks unbound's remote-control protocol as unbound-control does, plain on 127.0.0.1 as the lab renders it,
from unbound's namespace by its kept helper (lab.agents.unboundctl): no exec per flush.

The DNSSEC kinds (`--only faults-dnssec`: a lab of compose/signed.yml of its own) change shop.test., which
dnslab signs, and are seen through the validating unbound, asked with EDNS and AD: SERVFAIL where the
published data no longer validates (a rollover with the parent's DS left as it was, so no cache can hide
it), a validated NXDOMAIN for a wrong denial, and for update-ds, injected after such a rollover, validated
answers again. Unbound keeps what it validated (and a bogus verdict) for the records' TTLs, so the bench
forgets shop.test. there (`flush_zone`) right after the inject call, counted, and before each sample.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.figures import PREFIX, console, figure
from bench.probing import Prober
from lab import lifecycle, nshelper, zoneupdate
from lab.faults import FaultContext, clear, clear_all, inject, warm
from lab.faults.zonedata import wait_propagated

DEFAULT_TOPOLOGY = Path(__file__).resolve().parents[1] / "compose" / "default.yml"
CLIENT = "client1"
PROBE_RATE = 100.0  # queries/s: a 10 ms resolution floor, load bounded by EFFECT_TIMEOUT below
TIMEOUT = 1.0  # the prober's per-query timeout
STREAK = 3  # consecutive queries showing the effect: one late or lost answer on a busy machine is no effect
EFFECT_TIMEOUT = 20.0  # no effect after this long: the sample fails (the prober stops after MAX_SECONDS anyway)
CLEAN_TIMEOUT = 10.0
SPOOFED = "192.0.2.66"
KNOT_NOTIFY_GAP = 1.05  # s between the zone updates of one sample (see above)


def no_answer(r: dict) -> bool:
    return r["rcode"] is None  # timed out, or the send or receive failed


def failed(r: dict) -> bool:
    return r["rcode"] in ("SERVFAIL", None)


def rcode(code: str) -> Callable[[dict], bool]:
    return lambda r: r["rcode"] == code


@dataclass(frozen=True)
class Case:
    kind: str
    target: str
    resolver: str  # the resolver the client asks
    effect: Callable[[dict], bool]
    seen: str  # what the client sees, for the table
    params: dict = field(default_factory=dict)
    names: str = "cached"  # cached: api.cloud.test.; new: a new NXDOMAIN name per query; ttl0: a fresh TTL-0 name
    flush: str = ""  # unbound-control command run right after inject ("{name}": the fault's name); see above
    streak: int = STREAK
    name: str = "api.cloud.test."  # the name asked when `names` is "cached"
    dnssec: bool = False  # the prober asks with EDNS and AD: its lines say whether the answer validated
    before: str = ""  # unbound-control command run before the prober starts (not counted)
    setup: tuple = ()  # (kind, target, params): a fault in force before the sample's own (cleared after it)
    client: str = CLIENT  # the node the prober runs in


CASES = [
    Case("pause", "bind-resolver", "bind-resolver", no_answer, "timeout"),
    Case("kill", "pdns-recursor", "pdns-recursor", no_answer, "timeout"),
    Case("stop", "knot-resolver", "knot-resolver", no_answer, "timeout"),
    Case("restart", "bind-resolver", "bind-resolver", no_answer, "one timeout", streak=1),
    Case("partition", "unbound", "unbound", failed, "SERVFAIL/timeout, new names",
         {"from": ["role:authoritative"]}, names="new"),
    Case("loss", "knot-resolver", "knot-resolver", no_answer, "timeout", {"percent": 100}),
    Case("block-port", "bind-resolver", "bind-resolver", no_answer, "timeout"),
    Case("disconnect", "pdns-recursor", "pdns-recursor", no_answer, "timeout", {"network": "edge"}),
    Case("delay", "unbound", "unbound", lambda r: (r["latency_ms"] or 0) >= 200, "answer ≥ 200 ms", {"ms": 200}),
    Case("drop", "unbound", "unbound", no_answer, "timeout"),
    Case("servfail", "unbound", "unbound", rcode("SERVFAIL"), "SERVFAIL"),
    Case("refused", "unbound", "unbound", rcode("REFUSED"), "REFUSED"),
    Case("nxdomain", "unbound", "unbound", rcode("NXDOMAIN"), "NXDOMAIN"),
    Case("nodata", "unbound", "unbound", lambda r: r["rcode"] == "NOERROR" and not r["answers"], "NOERROR, empty"),
    Case("truncate", "unbound", "unbound", lambda r: r["error"] == "truncated", "TC bit"),
    Case("spoof", "unbound", "unbound", lambda r: r["answers"] == [SPOOFED], f"A {SPOOFED}", {"address": SPOOFED}),
    Case("empty-rrset", "primary", "unbound", lambda r: r["rcode"] in ("NOERROR", "NXDOMAIN") and not r["answers"],
         "empty answer via secondaries", {"type": "A"}, names="ttl0"),
    Case("ttl", "primary", "unbound", lambda r: r["ttl"] is not None and 60 <= r["ttl"] <= 77,
         "TTL 77 via secondaries", {"type": "A", "ttl": 77}, names="ttl0", flush="flush {name}"),
    Case("remove-glue", "tld", "unbound", failed, "SERVFAIL/timeout, new names", {"zone": "cloud.test."},
         names="new", flush="flush_zone ."),
    Case("lame-delegation", "tld", "unbound", failed, "SERVFAIL/timeout, new names", {"zone": "cloud.test."},
         names="new", flush="flush_zone ."),
]
# serial-regression is left out: a client sees nothing until the primary's next change fails to reach the
# secondaries, so it has no effect of its own to time.

SIGNED_TOPOLOGY = DEFAULT_TOPOLOGY.with_name("signed.yml")
SHOP, WWW = "shop.test.", "www.shop.test."


def validated(r: dict) -> bool:
    return r["rcode"] == "NOERROR" and bool(r.get("ad"))


def _dnssec(kind: str, target: str, effect, seen: str, params: dict, setup: tuple = ()) -> Case:
    """A DNSSEC kind on shop.test., seen through the validating unbound (see the module's docstring)."""
    return Case(kind, target, "unbound", effect, seen, {"zone": SHOP, **params}, name=WWW, dnssec=True,
                flush=f"flush_zone {SHOP}", before=f"flush_zone {SHOP}", setup=setup)


# The effect a validating client sees of each: SERVFAIL where the signed data no longer validates (a
# rollover with the parent's DS unchanged: the published KSK never matches, whatever a resolver cached),
# a validated NXDOMAIN for a wrong denial, and for a late DS (after such a rollover) validated answers again.
DNSSEC_CASES = [
    _dnssec("expire-signatures", "sec-knot", rcode("SERVFAIL"), "SERVFAIL", {"expires_in": 0}),
    _dnssec("bogus-rrsig", "sec-knot", rcode("SERVFAIL"), "SERVFAIL", {"names": [WWW]}),
    _dnssec("remove-dnskey", "sec-knot", rcode("SERVFAIL"), "SERVFAIL", {}),
    _dnssec("ksk-rollover", "sec-knot", rcode("SERVFAIL"), "SERVFAIL (DS unchanged)", {"update_parent": False}),
    _dnssec("update-ds", "tld", validated, "NOERROR + AD again after a rollover", {},
            setup=("ksk-rollover", "sec-knot", {"zone": SHOP, "update_parent": False})),
    _dnssec("wrong-denial", "sec-knot", lambda r: r["rcode"] == "NXDOMAIN" and bool(r.get("ad")),
            "NXDOMAIN + AD", {"name": WWW}),
]


def flush_unbound(ctx: FaultContext, infra: bool = False, command: str = "flush_zone .") -> None:
    """Forget unbound's cached records (`command`; with `infra`, also what it learnt about servers being slow
    or down)."""
    commands = [command] + (["flush_infra all", "flush_requestlist"] if infra else [])
    nshelper.call(ctx.rt, ctx.description, "unbound", "unboundctl", "run", {"commands": commands})


def ttl0_name(ctx: FaultContext) -> str:
    """A new name with one A record and TTL 0, served by every secondary already."""
    name = f"b{uuid.uuid4().hex[:10]}.cloud.test."
    result = zoneupdate.send(ctx.rt, ctx.description, "cloud.test.", [["replace", name, 0, "A", ["192.0.2.77"]]])
    if result["rcode"] != "NOERROR" or not wait_propagated(ctx, "cloud.test."):
        raise RuntimeError(f"could not add {name}: {result}")
    return name


def propagation_ms(ctx: FaultContext) -> float:
    """The floor of a zone change: a plain update's send until both secondaries serve its serial."""
    start = time.time()
    result = zoneupdate.send(ctx.rt, ctx.description, "cloud.test.",
                             [["replace", "floor.cloud.test.", 0, "TXT", [f'"{uuid.uuid4().hex[:8]}"']]])
    if result["rcode"] != "NOERROR" or not wait_propagated(ctx, "cloud.test."):
        raise RuntimeError(f"the floor's update did not reach both secondaries: {result}")
    return (time.time() - start) * 1000


def queries_for(ctx: FaultContext, case: Case) -> tuple[list[list[str]], dict]:
    """The prober's queries and the fault's parameters for one sample."""
    if case.names == "new":
        # The prober cycles through them: 10 s per cycle, twice the zone's negative TTL, so no answer is cached.
        token = uuid.uuid4().hex[:8]
        count = int(PROBE_RATE * 10)
        return [[f"n{token}-{i}.cloud.test.", "A"] for i in range(count)], case.params
    if case.names == "ttl0":
        name = ttl0_name(ctx)
        return [[name, "A"]], {**case.params, "name": name}
    return [[case.name, "A"]], case.params


def first_effect(lines: list[dict], start: float, effect, streak: int) -> dict | None:
    """The first query sent after `start` that begins `streak` consecutive queries (by seq) showing the effect."""
    after = [r for r in lines if r["t"] >= start]
    for i in range(len(after) - streak + 1):
        run = after[i:i + streak]
        if run[-1]["seq"] - run[0]["seq"] == streak - 1 and all(effect(r) for r in run):
            return run[0]
    return None


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not seen within {timeout:g} s")
        time.sleep(0.02)


def sample(ctx: FaultContext, case: Case) -> dict:
    """One measurement of one fault kind: {"latency_ms", "observed_ms", "inject_ms", "interval_ms", "clean_ms"}
    (and "floor_ms" for kinds that travel to the secondaries)."""
    queries, params = queries_for(ctx, case)
    floor, quiet = None, 0.0
    if case.names == "ttl0":
        time.sleep(KNOT_NOTIFY_GAP)
        floor = propagation_ms(ctx)
        quiet = time.monotonic() + KNOT_NOTIFY_GAP
    held = inject(ctx, case.setup[0], case.setup[1], case.setup[2]) if case.setup else None
    try:
        if case.before:
            flush_unbound(ctx, command=case.before)
        return _measure(ctx, case, queries, params, floor, quiet)
    finally:
        if held is not None:
            clear(ctx, held["id"])


def _measure(ctx: FaultContext, case: Case, queries: list, params: dict, floor: float | None, quiet: float) -> dict:
    """The sample itself, once its setup is in place: `quiet`, when the zone may take the next update."""
    def clean(prober: Prober) -> bool:
        lines = prober.lines()
        return len(lines) >= STREAK and all(r["rcode"] is not None and not case.effect(r) for r in lines[-STREAK:])

    with Prober(ctx.rt, ctx.description, case.client, case.resolver, queries, PROBE_RATE, TIMEOUT,
                dnssec=case.dnssec) as prober:
        try:
            wait_until(lambda: clean(prober), CLEAN_TIMEOUT, f"{case.resolver}: clean answers before {case.kind}")
        except RuntimeError:
            if case.resolver != "unbound":
                raise
            # Unbound still remembers the previous fault's servers as down: make it forget.
            flush_unbound(ctx, infra=True)
            wait_until(lambda: clean(prober), CLEAN_TIMEOUT, f"{case.resolver}: clean answers before {case.kind}")
        if floor is not None:
            time.sleep(max(0.0, quiet - time.monotonic()))
        start = time.time()
        record = inject(ctx, case.kind, case.target, params)
        try:
            inject_s = time.time() - start
            if case.flush:
                flush_unbound(ctx, command=case.flush.format(name=params.get("name", "")))
            wait_until(lambda: first_effect(prober.lines(), start, case.effect, case.streak) is not None,
                       EFFECT_TIMEOUT, f"the effect of {case.kind} ({case.seen})")
            lines = prober.stop()  # every query in flight answered or timed out: the first one may be earlier
        finally:
            prober.stop()
            clear(ctx, record["id"])
    first = first_effect(lines, start, case.effect, case.streak)
    before = [r for r in lines if r["t"] < start and r["latency_ms"] is not None]
    sends = [r["t"] for r in lines]
    return {"latency_ms": (first["t"] - start) * 1000,
            "observed_ms": (first["t"] - start) * 1000 + (first["latency_ms"] or TIMEOUT * 1000),
            "inject_ms": inject_s * 1000,
            "interval_ms": statistics.median(b - a for a, b in itertools.pairwise(sends)) * 1000,
            "clean_ms": statistics.median(r["latency_ms"] for r in before) if before else None,
            **({"floor_ms": floor} if floor is not None else {})}


def measure(ctx: FaultContext, cases: list[Case], runs: int, samples_per_run: int = 1,
            part: str = "faults") -> dict[str, list[dict]]:
    """`runs` rounds of every case, `samples_per_run` samples each; samples by kind."""
    samples: dict[str, list[dict]] = {case.kind: [] for case in cases}
    for i in range(runs):
        for case in cases:  # kinds interleaved: a slow moment of the machine does not hit one kind only
            for _ in range(samples_per_run):
                got = sample(ctx, case)
                samples[case.kind].append(got)
                console.print(f"[{part}] run {i + 1}/{runs} {case.kind:<16} effect after {got['latency_ms']:7.1f} ms "
                              f"(inject call {got['inject_ms']:.0f} ms)")
    return samples


def bench(rt, runs: int) -> list[dict]:
    return _bench(rt, runs, DEFAULT_TOPOLOGY, "faults", CASES)


def bench_dnssec(rt, runs: int) -> list[dict]:
    """The DNSSEC kinds, on the signed world (a lab of its own)."""
    return _bench(rt, runs, SIGNED_TOPOLOGY, "faults-dnssec", DNSSEC_CASES)


def _bench(rt, runs: int, topology: Path, label: str, cases: list[Case]) -> list[dict]:
    lab = f"{PREFIX}-{label}"
    try:
        description = lifecycle.up(topology, lab, rt=rt)
        ctx = FaultContext(rt, description, random.Random(1))
        warm(ctx)()  # what a run does at its start: the helpers, a signed lab's DNSSEC faults' first parses
        samples = measure(ctx, cases, runs, part=label)
        clear_all(ctx)
    finally:
        lifecycle.down(lab, rt=rt)
    return figures(cases, samples)


def figures(cases: list[Case], samples: dict[str, list[dict]]) -> list[dict]:
    results = []
    for case in cases:
        got = samples[case.kind]
        inject_ms = statistics.median(s["inject_ms"] for s in got)
        results.append(figure(
            f"fault {case.kind} on {case.target}: step start → effect at {case.client} ({case.seen})", "ms",
            [s["latency_ms"] for s in got], [s["interval_ms"] for s in got], "probe interval (resolution floor)",
            note=f"inject call {inject_ms:.0f} ms", p99=True,
            observed_ms=[s["observed_ms"] for s in got], inject_ms=[s["inject_ms"] for s in got],
            clean_answer_ms=[s["clean_ms"] for s in got], target=case.target, params=case.params,
            resolver=case.resolver))
        if case.names == "ttl0":
            added = statistics.median(s["inject_ms"] for s in got) - statistics.median(s["floor_ms"] for s in got)
            results.append(figure(
                f"fault {case.kind} on {case.target}: step start → both secondaries serve the change", "ms",
                [s["inject_ms"] for s in got], [s["floor_ms"] for s in got],
                "a plain update until both secondaries serve it (the floor)", note=f"the fault adds {added:.0f} ms",
                p99=True, added_ms=added))
    return results
