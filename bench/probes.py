"""Probe throughput and time resolution: the lab's prober against dnsperf, both in client1, both asking the
unbound resolver for one cached name (api.cloud.test. A).

- throughput: the prober with no pacing to speak of (rate 100000 rounds/s: it sends on every turn of its
  loop) for DURATION seconds, against dnsperf bounded in time and rate (`-l DURATION -Q DNSPERF_MAX_QPS`);
  the prober's answer latency against dnsperf's average latency;
- time resolution: the prober at the playbooks' highest rate (lab.playbook.document.MAX_RATE rounds/s):
  |actual − target| interval between consecutive sends (p50, p99), against the target interval itself.

Network safety: both aim only at the lab resolver's address, on the lab's internal edge network.
"""

from __future__ import annotations

import itertools
import re
import statistics
import time
from pathlib import Path

from bench.figures import PREFIX, console, figure, percentile
from bench.probing import Prober
from lab import lifecycle
from lab.playbook.document import MAX_RATE

DEFAULT_TOPOLOGY = Path(__file__).resolve().parents[1] / "compose" / "default.yml"
CLIENT, RESOLVER = "client1", "unbound"
NAME, QTYPE = "api.cloud.test.", "A"
DURATION = 4  # seconds of sending per measurement
FULL_SPEED = 100000.0  # rounds/s: far above what the loop can do, so it never waits between sends
DNSPERF_MAX_QPS = 200000  # dnsperf's bound, well above what it reaches here: at most DURATION * this many queries


def dnsperf(rt, description: dict) -> tuple[float, float]:
    """(queries/s, average latency ms) of dnsperf from the client against the resolver, bounded."""
    server = lifecycle.resolver_address(description, RESOLVER, CLIENT)
    script = (f"printf '{NAME} {QTYPE}\\n' > /tmp/bench-queries && "
              f"dnsperf -s {server} -d /tmp/bench-queries -l {DURATION} -Q {DNSPERF_MAX_QPS} -t 2")
    result = rt.exec(description["nodes"][CLIENT]["container"], script, timeout=DURATION + 20)
    qps = re.search(r"Queries per second:\s+([\d.]+)", result.output)
    latency = re.search(r"Average Latency \(s\):\s+([\d.]+)", result.output)
    if result.exit_code != 0 or not qps or not latency:
        raise RuntimeError(f"dnsperf failed (exit {result.exit_code}): {result.output.strip()[-300:]}")
    return float(qps.group(1)), float(latency.group(1)) * 1000


def prober_run(rt, description: dict, rate: float) -> list[dict]:
    """Every line of a prober sending at `rate` rounds/s for DURATION seconds."""
    with Prober(rt, description, CLIENT, RESOLVER, [[NAME, QTYPE]], rate) as prober:
        prober.wait_lines(1)
        time.sleep(DURATION)
        return prober.stop()


def sending_rate(lines: list[dict]) -> float:
    """Queries sent per second, first send to last send."""
    return (len(lines) - 1) / (lines[-1]["t"] - lines[0]["t"])


def bench(rt, runs: int) -> list[dict]:
    lab = f"{PREFIX}-probes"
    interval_ms = 1000 / MAX_RATE
    perf_qps, perf_ms, ours_qps, ours_ms, ok_share = [], [], [], [], []
    err_p50, err_p99, paced_rate = [], [], []
    try:
        description = lifecycle.up(DEFAULT_TOPOLOGY, lab, rt=rt)
        prober_run(rt, description, 10)  # warms the resolver's cache for the name
        for i in range(runs):
            console.print(f"[probes] run {i + 1}/{runs}: dnsperf, prober at full speed, prober at {MAX_RATE:g}/s")
            qps, latency = dnsperf(rt, description)
            perf_qps.append(qps)
            perf_ms.append(latency)
            lines = prober_run(rt, description, FULL_SPEED)
            answered = [r for r in lines if r["rcode"] == "NOERROR" and r["answers"]]
            ours_qps.append(len(answered) / (lines[-1]["t"] - lines[0]["t"]))
            ours_ms.append(statistics.median(r["latency_ms"] for r in answered))
            ok_share.append(100 * len(answered) / len(lines))
            paced = prober_run(rt, description, MAX_RATE)
            errors = [abs((b["t"] - a["t"]) * 1000 - interval_ms) for a, b in itertools.pairwise(paced)]
            err_p50.append(percentile(errors, 50))
            err_p99.append(percentile(errors, 99))
            paced_rate.append(sending_rate(paced))
            console.print(f"[probes] run {i + 1}/{runs}: prober {ours_qps[-1]:,.0f} q/s, dnsperf {qps:,.0f} q/s; "
                          f"interval error p50 {err_p50[-1]:.3f} ms, p99 {err_p99[-1]:.3f} ms")
    finally:
        lifecycle.down(lab, rt=rt)
    where = f"{CLIENT} → {RESOLVER}, {NAME} {QTYPE} cached"
    return [
        figure(f"probes: answered queries/s, prober at full speed ({where})", "q/s", ours_qps, perf_qps,
               f"dnsperf -l {DURATION} -Q {DNSPERF_MAX_QPS}, same client, resolver, name",
               note=f"answered {statistics.median(ok_share):.1f}% of sent"),
        figure("probes: answer latency at full speed (prober median, dnsperf average)", "ms", ours_ms, perf_ms,
               "dnsperf average latency"),
        figure(f"probes: prober sending rate at the playbook maximum ({MAX_RATE:g} rounds/s)", "q/s", paced_rate,
               [MAX_RATE], "target rate"),
        figure(f"probes: prober send-interval error p50, |actual − {interval_ms:g} ms|", "ms", err_p50,
               [interval_ms], "target interval"),
        figure(f"probes: prober send-interval error p99, |actual − {interval_ms:g} ms|", "ms", err_p99,
               [interval_ms], "target interval"),
    ]
