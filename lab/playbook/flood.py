"""The `flood` action: dnsperf from attacker containers of the lab against its authoritative servers.

    - action: {name: flood, params: {targets: [sec-knot, sec-nsd], from: [attacker1], qps: 3000, seconds: 20}}

Safe by construction: the targets must be authoritative nodes of this lab (their lab addresses), the
attackers nodes of this lab, and every dnsperf is bounded in time (`-l`, at most 60 s) and rate (`-Q`, at
most 20,000 queries a second per attacker and target), so it stops by itself even when the run is killed.
The action waits for the flood to end, then records what dnsperf reported (`flood_finished`: queries sent,
completed, lost per attacker and target).
"""

from __future__ import annotations

import re
import time

from lab import runtime
from lab.errors import InputError
from lab.params import Param
from lab.playbook.action import Action, RunContext

MAX_SECONDS = 60
MAX_QPS = 20_000
QUERY_FILE = f"{runtime.NODE_DIR}/flood.queries"  # put into each attacker's container
REPORT = re.compile(r"Queries (sent|completed|lost):\s+(\d+)")


def query_lines(names: list[str], random_names: int, zone: str, seed: int) -> list[str]:
    """dnsperf's input: the names asked, plus random names under the zone (each a cache miss for a
    resolver, an NXDOMAIN the server must look up)."""
    import random  # noqa: PLC0415

    rng = random.Random(seed)
    lines = [f"{name} A" for name in names]
    lines += [f"r{rng.getrandbits(40):010x}.{zone} A" for _ in range(random_names)]
    return lines


def parse_report(text: str) -> dict[str, int]:
    return {kind: int(count) for kind, count in REPORT.findall(text)}


def _log(target: str) -> str:
    return f"{runtime.NODE_DIR}/flood-{target}.log"


def flood(ctx: RunContext, params: dict) -> dict:
    """Flood `targets` from `from` for `seconds` at up to `qps` per attacker and target; wait until done."""
    nodes = ctx.description["nodes"]
    targets, attackers = list(params["targets"]), list(params["from"])
    wrong = [t for t in targets if nodes.get(t, {}).get("role") != "authoritative"]
    wrong += [a for a in attackers if a not in nodes or nodes[a]["role"] not in ("client", "agent")]
    if wrong or not targets or not attackers:
        raise InputError(f"flood: targets must be authoritative nodes and `from` client nodes of lab {ctx.lab}; "
                         f"not: {', '.join(wrong) or '(none given)'}")
    seconds, qps = int(params["seconds"]), int(params["qps"])
    if not 1 <= seconds <= MAX_SECONDS or not 1 <= qps <= MAX_QPS:
        raise InputError(f"flood: seconds must be 1-{MAX_SECONDS} and qps 1-{MAX_QPS}")
    zone = params["zone"]
    names = list(params["names"] or [ctx.description["probe_name"]])
    pairs = []
    for attacker in attackers:
        lines = query_lines(names, params["random_names"], zone, ctx.rng.getrandbits(32))
        ctx.rt.put_files(nodes[attacker]["container"], {QUERY_FILE: runtime.File.of("\n".join(lines) + "\n")})
        for target in targets:
            shared = [net for net in nodes[attacker]["addresses"] if net in nodes[target]["addresses"]]
            if not shared:
                raise InputError(f"flood: {attacker} shares no network with {target}")
            pairs.append((attacker, target, nodes[target]["addresses"][shared[0]]))
    ctx.emit("flood_started", targets=targets, attackers=attackers, seconds=seconds, qps=qps)
    for attacker, target, address in pairs:
        command = (f"dnsperf -s {address} -d {QUERY_FILE} -l {seconds} -Q {qps} -c 16 -q {2 * qps} -t 1 "
                   f"> {_log(target)} 2>&1")
        ctx.rt.exec_detached(nodes[attacker]["container"], ["sh", "-c", command])
    deadline = time.monotonic() + seconds + 4  # dnsperf waits up to its -t for the last answers
    while time.monotonic() < deadline:
        ctx.tick()
        time.sleep(0.1)
    results = {}
    for attacker, target, _ in pairs:
        log = ctx.rt.read_file(nodes[attacker]["container"], _log(target))
        results[f"{attacker}->{target}"] = parse_report(log.decode(errors="replace")) if log is not None else {}
    ctx.emit("flood_finished", results=results)
    return {"results": results}


ACTIONS = {
    "flood": Action(flood, {
        "targets": Param(list[str], True, None, "authoritative nodes to flood"),
        "from": Param(list[str], True, None, "attacker nodes (clients of the lab) that run dnsperf"),
        "qps": Param(int, False, 5000, f"queries a second per attacker and target (dnsperf -Q, at most {MAX_QPS})"),
        "seconds": Param(int, False, 20, f"how long (dnsperf -l, at most {MAX_SECONDS})"),
        "names": Param(list[str], False, None, "names to ask (default: the lab's service name)"),
        "random_names": Param(int, False, 200, "random names under `zone` added to the query list"),
        "zone": Param(str, False, "cloud.test.", "the zone the random names are under"),
    }, "dnsperf from attacker containers against authoritative servers, bounded in time and rate"),
}
