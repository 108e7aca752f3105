"""What applications saw, over synthetic records: the figures of lab.appfigures and the checks of lab.checks.apps
(app_availability, app_recovers_within, amplification), holding and failing."""

from __future__ import annotations

import pytest

from lab import appfigures
from lab.checks import judge, spec_problems

T0 = 1_700_000_000.0
STARTED = {"t": T0, "source": "runner", "event": "run_started"}


def attempt(t: float, app: str = "app-glibc", model: str = "glibc", ok: bool = True, **fields) -> dict:
    return {"kind": "attempt", "t": T0 + t, "app": app, "model": model, "name": "svc.test.", "cycle": 1,
            "retry": 0, "resolution": "ok" if ok else "timeout", "request": "ok" if ok else "no-address",
            "latency_s": 0.01, **fields}


def series_of(app: str, model: str, pattern: str, start: float = 0.0, every: float = 1.0) -> list[dict]:
    """One attempt per `every` seconds from `start`: "+" succeeded, "-" failed."""
    return [attempt(start + i * every, app, model, ok=(c == "+")) for i, c in enumerate(pattern)]


def probe(t: float, resolver: str = "unbound", ok: bool = True) -> dict:
    return {"t": T0 + t, "client": "client1", "resolver": resolver, "name": "svc.test.", "type": "A",
            "rcode": "NOERROR" if ok else "SERVFAIL", "answers": ["192.0.2.10"] if ok else [], "error": None}


def fault(event: str, t: float, kind: str = "pause", fault_id: str = "f1") -> dict:
    return {"t": T0 + t, "source": "runner", "event": event, "id": fault_id, "kind": kind, "target": "unbound"}


FAULT = [fault("fault_injected", 10), fault("fault_cleared", 20)]


def run(spec: dict, probes=(), events=(), app_records=(), samples=()):
    [result] = judge([spec], list(probes), [STARTED, *events], app_records, samples)
    return result


# ---- figures ------------------------------------------------------------------------------------------------

def test_availability_counts_retries_as_attempts_per_app_or_model():
    records = series_of("a1", "jvm", "++--") + series_of("a2", "jvm", "++++") + [{"kind": "summary"}]
    assert appfigures.availability(records) == {"a1": {"attempts": 4, "ok": 2, "share": 0.5},
                                          "a2": {"attempts": 4, "ok": 4, "share": 1.0}}
    assert appfigures.availability(records, key="model") == {"jvm": {"attempts": 8, "ok": 6, "share": 0.75}}
    assert appfigures.availability(records, window=(T0 + 2, T0 + 3))["a1"]["share"] == 0.0


def test_recovered_at_needs_a_stable_run_of_successes():
    records = series_of("a1", "glibc", "----+-+++++")
    assert appfigures.recovered_at(records, T0 + 0, stable=3) == T0 + 6
    assert appfigures.recovered_at(records, T0 + 0, stable=1) == T0 + 4
    assert appfigures.recovered_at(series_of("a1", "glibc", "---++"), T0, stable=3) == T0 + 3  # ok till the end
    assert appfigures.recovered_at(series_of("a1", "glibc", "-----"), T0, stable=3) is None


def test_recovery_says_dns_back_and_app_back_since_the_start():
    records = series_of("app-jvm", "jvm", "+++-------++++", start=0) + series_of("app-glibc", "glibc", "+" * 14)
    figures = appfigures.recovery(records, dns_back=T0 + 8, t0=T0)
    assert figures["app-jvm"] | {} == {"model": "jvm", "dns_back_s": 8.0, "app_back_s": 10.0, "after_dns_s": 2.0,
                                       "text": "DNS back at +8.0 s, app back at +10.0 s (+2.0 s)"}
    assert figures["app-glibc"]["after_dns_s"] == 0.0
    never = appfigures.recovery(series_of("a", "nscd", "+----"), dns_back=T0 + 2, t0=T0)["a"]
    assert never["app_back_s"] is None and never["text"] == "DNS back at +2.0 s, app not back"


def test_outage_view_first_failure_and_last_success():
    records = series_of("a", "dnsmasq", "+++++--+---")
    seen = appfigures.outage(records, T0 + 3, T0 + 9)
    assert (seen["attempts"], seen["failures"]) == (7, 4)
    assert seen["first_failure"]["t"] == T0 + 5 and seen["last_success"]["t"] == T0 + 7


def leases(t: float, active: int, goodput: float, total: int = 10) -> dict:
    return {"kind": "leases", "t": T0 + t, "leases": {"active": active, "expired": total - active,
                                                      "establishing": 0, "backoff": 0}, "goodput": goodput}


def test_workload_goodput_and_recovery():
    reports = [leases(t, 10, 10.0) for t in range(5)] + [leases(t, 0, 0.0) for t in range(5, 10)] \
        + [leases(10, 6, 30.0), leases(11, 10, 12.0), leases(12, 9, 10.0), leases(13, 10, 10.0), leases(14, 10, 10.0)]
    assert appfigures.goodput(reports, (T0, T0 + 4)) == 10.0 and appfigures.goodput(reports, (T0 + 5, T0 + 9)) == 0.0
    assert appfigures.goodput(reports, (T0 + 100, T0 + 200)) is None
    assert appfigures.workload_recovered_at(reports, T0 + 9, stable=2) == T0 + 13  # 11 was alone: 12 lost one
    assert appfigures.workload_recovered_at(reports, T0 + 9, share=0.9, stable=2) == T0 + 11
    assert appfigures.workload_recovered_at(reports[:10], T0 + 5) is None


def sample(t: float, server: str, queries: float, role: str = "resolver") -> dict:
    return {"t": T0 + t, "server": server, "role": role, "stats": {"queries_in": queries}}


def test_rates_of_cumulative_counters_survive_a_restart():
    points = appfigures.series([sample(t, "u", 10 * t) for t in range(5)] + [sample(5, "u", 5.0), sample(6, "u", 15.0)],
                         "u", "queries_in")
    assert appfigures.rate(points, (T0, T0 + 4)) == 10.0
    assert appfigures.rate(points, (T0 + 4, T0 + 6)) == pytest.approx((5 + 10) / 2)  # 40 -> 5: reset, counts from 0
    assert appfigures.rate(points, (T0 + 100, T0 + 200)) is None


def test_amplification_is_the_rate_during_over_the_rate_before():
    samples = [sample(t, "u", 10 * t) for t in range(11)] + [sample(10 + t, "u", 100 + 600 * t) for t in range(1, 6)]
    points = appfigures.series(samples, "u", "queries_in")
    assert appfigures.amplification(points, (T0, T0 + 10), (T0 + 10, T0 + 15)) == \
        {"before": 10.0, "during": 600.0, "factor": 60.0}
    idle = appfigures.series([sample(t, "u", 0) for t in range(5)] + [sample(6, "u", 50)], "u", "queries_in")
    assert appfigures.amplification(idle, (T0, T0 + 4), (T0 + 4, T0 + 6))["factor"] is None  # from zero: no ratio


# ---- checks -------------------------------------------------------------------------------------------------

def test_app_availability_per_app_and_per_model():
    records = series_of("a1", "jvm", "+" * 9 + "-") + series_of("a2", "glibc", "+" * 5 + "-" * 5)
    result = run({"check": "app_availability", "min": 0.8}, app_records=records)
    assert not result.ok and "a1 90.0%" in result.detail and "a2 50.0% ✗" in result.detail
    assert run({"check": "app_availability", "min": 0.8, "models": ["jvm"]}, app_records=records).ok
    assert run({"check": "app_availability", "min": 0.7, "per": "model", "apps": ["a1"]},
               app_records=records).data["shares"] == {"jvm": {"attempts": 10, "ok": 9, "share": 0.9}}


def test_app_checks_fail_when_no_attempt_matched():
    result = run({"check": "app_availability", "min": 0.5, "apps": ["nobody"]}, app_records=series_of("a", "jvm", "+"))
    assert not result.ok and result.detail.startswith("no app attempt matched")


def test_app_recovers_within_counts_from_when_dns_is_healthy_again():
    # The resolver's own probes are ok again from +22 (two seconds after the clear); the jvm app from +27.
    probes = [probe(t, ok=not 10 <= t < 22) for t in range(40)]
    records = series_of("app-jvm", "jvm", "+" * 12 + "-" * 15 + "+" * 13) \
        + series_of("app-glibc", "glibc", "+" * 10 + "-" * 12 + "+" * 18)
    spec = {"check": "app_recovers_within", "seconds": 4}
    result = run(spec, probes, FAULT, records)
    assert not result.ok
    [fault_figures] = result.data["faults"]
    assert fault_figures["dns_back_s"] == 22.0 and fault_figures["worst_s"] == 5.0
    assert fault_figures["by"]["app-jvm"]["app_back_s"] == 27.0 and fault_figures["by"]["app-glibc"]["after_dns_s"] == 0.0
    assert "DNS back at +22.0s" in result.detail and "app-jvm +5.0s" in result.detail
    assert run(spec | {"seconds": 5}, probes, FAULT, records).ok
    from_clear = run(spec | {"seconds": 5, "since": "clear"}, probes, FAULT, records)
    assert not from_clear.ok and from_clear.data["faults"][0]["worst_s"] == 7.0


def test_app_recovers_within_says_when_an_app_never_came_back_or_no_fault_was_injected():
    records = series_of("a", "nscd", "+" * 10 + "-" * 20)
    result = run({"check": "app_recovers_within", "seconds": 30, "since": "clear"}, [], FAULT, records)
    assert not result.ok and "a not back" in result.detail
    assert "no fault was injected" in run({"check": "app_recovers_within", "seconds": 3}, [], [], records).detail


def test_amplification_check_bounds_per_server_and_summed():
    samples = [sample(t, "unbound", 10 * t) for t in range(11)] \
        + [sample(10 + t, "unbound", 100 + 600 * t) for t in range(1, 11)] \
        + [sample(t, "bind", 10 * t) for t in range(21)]
    result = run({"check": "amplification", "min": 10, "baseline": 10}, events=FAULT, samples=samples)
    assert not result.ok and "unbound ×60" in result.detail and "bind ×1 ✗" in result.detail
    assert run({"check": "amplification", "min": 10, "servers": ["unbound"]}, events=FAULT, samples=samples).ok
    summed = run({"check": "amplification", "max": 40, "per_server": False}, events=FAULT, samples=samples)
    assert summed.ok and summed.data["faults"][0]["by_server"]["bind+unbound"]["factor"] == pytest.approx(30.5)


@pytest.mark.parametrize("spec, key", [
    ({"check": "app_availability", "min": 1.5}, "min"),
    ({"check": "app_availability", "min": 0.5, "per": "resolver"}, "per"),
    ({"check": "app_availability", "min": 0.5, "resolvers": ["unbound"]}, "resolvers"),
    ({"check": "app_recovers_within", "seconds": 5, "since": "repair"}, "since"),
    ({"check": "amplification"}, None),
    ({"check": "amplification", "max": 2, "baseline": 0}, "baseline"),
])
def test_app_check_specs_name_what_is_wrong(spec, key):
    problems = spec_problems(spec)
    assert problems and problems[0].key == key, problems
