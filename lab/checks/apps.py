"""What applications and servers saw: app availability, app recovery after DNS is healthy again, and the
query amplification a fault causes at the servers (figures from lab.appfigures; records in docs/apps.md).

These kinds judge other records than probes: app attempts (`apps`: lab.agents.app lines) and counter
samples (`samples`: {"t", "server", "role", "stats": {counter: cumulative}}, lab.serverstats), selected by
their own filters instead of the probe filters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lab import appfigures as figures
from lab import records, streaks
from lab.checks.base import Check, CheckResult, Fold, Scope, SpecProblem, at_least, share_text
from lab.params import Param
from lab.records import Record

DnsBack = Callable[[float], "float | None"]  # an outage's end -> when DNS was healthy again (None: never)

GROUPINGS = ("app", "model")

APP_FILTERS: dict[str, Param] = {
    "apps": Param(list[str], False, None, "app nodes to judge (default: all)"),
    "models": Param(list[str], False, None, "resolver models to judge: glibc, nscd, dnsmasq, jvm, stale-on-error"),
    "window": Param(list[float], False, None, "[start, end] seconds since the run started (default: whole run)"),
}
SAMPLE_FILTERS: dict[str, Param] = {
    "servers": Param(list[str], False, None, "server nodes to judge (default: all that were sampled)"),
    "roles": Param(list[str], False, None, "roles to judge: resolver, authoritative (default: all)"),
}


def _select_attempts(spec: Mapping[str, Any], streams: Mapping[str, list[Record]], t0: float) -> list[Record]:
    chosen_apps = set(spec["apps"]) if spec.get("apps") else None
    models = set(spec["models"]) if spec.get("models") else None
    window = spec.get("window")
    return [a for a in figures.attempts(streams["apps"])
            if (chosen_apps is None or a.get("app") in chosen_apps) and (models is None or a.get("model") in models)
            and (window is None or window[0] <= a["t"] - t0 <= window[1])]


def _select_samples(spec: Mapping[str, Any], streams: Mapping[str, list[Record]], t0: float) -> list[Record]:
    servers = set(spec["servers"]) if spec.get("servers") else None
    roles = set(spec["roles"]) if spec.get("roles") else None
    return sorted((s for s in streams["samples"]
                   if (servers is None or s.get("server") in servers) and (roles is None or s.get("role") in roles)),
                  key=lambda s: s["t"])


# ---- app_availability ---------------------------------------------------------------------------------------

def app_availability(scope: Scope) -> CheckResult:
    """The share of app attempts whose request succeeded must be at least `min`, for every app (or model)."""
    minimum, per = scope.spec["min"], scope.spec["per"]
    shares = figures.availability(scope.probes, key=per)
    ok = all(share["share"] >= minimum for share in shares.values())
    each = ", ".join(f"{name} {share_text(s['ok'], s['attempts'])}{' ✗' if s['share'] < minimum else ''}"
                     for name, s in shares.items())
    return scope.result(ok, f"requests ok per {per} (min {minimum:.1%}): {each}", min=minimum, per=per,
                        shares=shares)


def _availability_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return at_least("min", 0, spec, high=1) + _grouping(spec)


def _grouping(spec: Mapping[str, Any]) -> list[SpecProblem]:
    if spec.get("per") is None or spec["per"] in GROUPINGS:
        return []
    return [SpecProblem("per", f"per must be one of {', '.join(GROUPINGS)}, not {spec['per']!r}")]


# ---- app_recovers_within ------------------------------------------------------------------------------------

def app_recovers_within(scope: Scope, dns_back: DnsBack) -> CheckResult:
    """After each fault, every app (or model) must succeed again within `seconds` of DNS being healthy.

    DNS is healthy again (`since: dns`) when every resolver's probes have recovered after the fault's clear,
    as recovers_within sees it, or at the clear itself (`since: clear`, or when nothing was probed); with
    `after_action` the outage ends at that action instead of a clear (e.g. `repair`). An app has recovered at
    the first successful attempt from then on that starts `stable` successes in a row."""
    limit = scope.spec["seconds"]
    windows, missing = _outages(scope)
    if not windows:
        return scope.result(False, missing, faults=[])
    faults = [_app_recovery(scope, window, dns_back) for window in windows]
    late = [f for f in faults if f["worst_s"] is None or f["worst_s"] > limit]
    noun = "outages" if scope.spec.get("after_action") else "faults"
    head = f"{len(faults) - len(late)}/{len(faults)} {noun}: apps back within {limit:g}s of DNS"
    return scope.result(not late, head + "; " + "; ".join(f.pop("text") for f in faults), faults=faults)


def _app_recovery(scope: Scope, window: Record, dns_back: DnsBack) -> dict[str, Any]:
    label = f"{window['kind']} on {window['target']}"
    result: dict[str, Any] = {"id": window["id"], "kind": window["kind"], "dns_back_s": None, "worst_s": None,
                              "by": {}}
    if window["end"] is None:
        return result | {"text": f"{label} was never cleared"}
    back = dns_back(window["end"])
    if back is None:
        return result | {"text": f"{label} cleared {scope.at(window['end'])}: DNS never recovered"}
    result["dns_back_s"] = scope.since_start(back)
    recovered = figures.recovery(scope.probes, back, scope.t0, scope.spec["stable"], key=scope.spec["per"])
    result["by"] = {name: {k: v for k, v in r.items() if k != "text"} for name, r in recovered.items()}
    gaps = [r["after_dns_s"] for r in recovered.values()]
    never = [name for name, r in recovered.items() if r["after_dns_s"] is None]
    result["worst_s"] = None if never else max(gaps)
    each = ", ".join(f"{name} " + ("not back" if r["after_dns_s"] is None else f"+{r['after_dns_s']:.1f}s")
                     for name, r in recovered.items())
    return result | {"text": f"{label}: DNS back at {scope.at(back)}, apps after it: {each}"}


def _outages(scope: Scope) -> tuple[list[Record], str]:
    """The outages to recover from: fault windows (`fault` picks one), or with `after_action` every time that
    action was done (its `end`); and what to say when there is none."""
    action = scope.spec.get("after_action")
    if action is not None:
        done = [{"id": action, "kind": "action", "target": action, "start": e["t"], "end": e["t"]}
                for e in scope.events if e.get("event") == "action_done" and e.get("action") == action]
        return done, f"the action {action!r} was never done: nothing to recover from"
    wanted = scope.spec.get("fault")
    windows = [w for w in records.fault_windows(scope.events) if wanted is None or wanted in (w["id"], w["kind"])]
    which = f"matching {wanted!r}" if wanted is not None else "at all"
    return windows, f"no fault was injected {which}: nothing to recover from"


class _Judged(Fold):
    """A kind of this module: `judge` weighs the records its filters selected (scope.probes) once the run's
    probes went by."""

    selects_probes = False
    judge: Callable[[Scope], CheckResult]

    def result(self) -> CheckResult:
        return type(self).judge(self.scope)


class _JudgedWithDns(_Judged):
    """A kind that counts from when DNS was healthy again after each outage: every resolver's probes ok
    again (recovers_within's rule, `stable` in a row), told by `dns_back(outage end)` — None when one never
    came back; the end itself with `since: clear` or when nothing was probed."""

    judge: Callable[[Scope, DnsBack], CheckResult]

    def __init__(self, scope: Scope):
        super().__init__(scope)
        windows, _ = _outages(scope)
        self.recovery = streaks.GroupRecovery([w["end"] for w in windows if w["end"] is not None], records.is_ok,
                                              scope.spec["stable"], lambda probe: probe.get("resolver"))

    def feed(self, probe: Record) -> None:
        self.recovery.feed(probe)

    def dns_back(self, cleared: float) -> float | None:
        return cleared if self.scope.spec["since"] == "clear" else self.recovery.all_back(cleared)

    def result(self) -> CheckResult:
        return type(self).judge(self.scope, self.dns_back)


def _recovery_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    problems = at_least("seconds", 0, spec) + at_least("stable", 1, spec) + _grouping(spec)
    if spec.get("since") not in (None, "dns", "clear"):
        problems.append(SpecProblem("since", f"since must be dns or clear, not {spec['since']!r}"))
    return problems


# ---- workload_recovers_within ------------------------------------------------------------------------------

def workload_recovers_within(scope: Scope, dns_back: DnsBack) -> CheckResult:
    """After each fault (or `after_action`), every workload must hold `share` of its leases again within
    `seconds` of DNS being healthy (`stable` reports in a row)."""
    limit, share = scope.spec["seconds"], scope.spec["share"]
    windows, missing = _outages(scope)
    if not windows:
        return scope.result(False, missing, faults=[])
    results, texts, ok = [], [], True
    for window in windows:
        label = f"{window['kind']} on {window['target']}"
        back = None if window["end"] is None else dns_back(window["end"])
        entry: dict[str, Any] = {"id": window["id"], "kind": window["kind"], "dns_back_s": None, "by": {}}
        if back is None:
            ok = False
            results.append(entry)
            texts.append(f"{label}: DNS never recovered")
            continue
        entry["dns_back_s"] = scope.since_start(back)
        parts = []
        for name, reports in figures.by(scope.probes, "workload").items():
            leases_back = figures.workload_recovered_at(reports, back, share, scope.spec["stable"])
            after = None if leases_back is None else round(leases_back - back, 3)
            tail = figures.goodput(reports, (max(back, reports[-1]["t"] - 5), reports[-1]["t"]))
            held = after is not None and after <= limit
            ok = ok and held
            entry["by"][name] = {"after_dns_s": after,
                                 "back_s": None if leases_back is None else scope.since_start(leases_back),
                                 "goodput_end": tail, "leases_end": reports[-1]["leases"]}
            parts.append(f"{name} " + ("not recovered" if after is None else f"back +{after:.1f}s")
                         + f" (goodput {tail}/s at the end){'' if held else ' ✗'}")
        results.append(entry)
        texts.append(f"{label}: DNS back at {scope.at(back)}, " + ", ".join(parts))
    return scope.result(ok, f"leases back ({share:.0%}) within {limit:g}s of DNS: " + "; ".join(texts),
                        faults=results)


def _select_reports(spec: Mapping[str, Any], streams: Mapping[str, list[Record]], t0: float) -> list[Record]:
    chosen = set(spec["workloads"]) if spec.get("workloads") else None
    return [r for r in figures.lease_reports(streams["apps"]) if chosen is None or r.get("workload") in chosen]


def _workload_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    return at_least("share", 0, spec, high=1) + _recovery_constraints({**spec, "per": None})


# ---- amplification ------------------------------------------------------------------------------------------

def amplification(scope: Scope) -> CheckResult:
    """During each fault, a server's `counter` must grow at least `min` / at most `max` times as fast as in
    the `baseline` seconds before it (per server, or summed over the selected servers)."""
    wanted = scope.spec.get("fault")
    windows = [w for w in records.fault_windows(scope.events) if wanted is None or wanted in (w["id"], w["kind"])]
    if not windows:
        return scope.result(False, "no fault was injected: no window to compare with the time before", faults=[])
    low, high = scope.spec.get("min"), scope.spec.get("max")
    counter, baseline = scope.spec["counter"], scope.spec["baseline"]
    servers = sorted({s["server"] for s in scope.probes})
    results, texts, ok = [], [], True
    for window in windows:
        end = window["end"] if window["end"] is not None else scope.probes[-1]["t"]
        before, during = (window["start"] - baseline, window["start"]), (window["start"], end)
        groups = {name: figures.series(scope.probes, name, counter) for name in servers}
        if not scope.spec["per_server"]:
            groups = {"+".join(servers): _summed(groups.values())}
        each = {name: figures.amplification(points, before, during) for name, points in groups.items()}
        held = {name: a["factor"] is not None and (low is None or a["factor"] >= low)
                and (high is None or a["factor"] <= high) for name, a in each.items()}
        ok = ok and all(held.values())
        results.append({"id": window["id"], "kind": window["kind"], "by_server": each})
        texts.append(f"{window['kind']} on {window['target']}: " + ", ".join(
            f"{name} " + (f"×{a['factor']:g}" if a["factor"] is not None else f"no ratio ({a['before']}/s before)")
            + ("" if held[name] else " ✗") for name, a in each.items()))
    bounds = " and ".join(text for text in (low is not None and f"at least ×{low:g}",
                                            high is not None and f"at most ×{high:g}") if text)
    return scope.result(ok, f"{counter} during the fault vs the {baseline:g}s before ({bounds}): " + "; ".join(texts),
                        counter=counter, faults=results)


def _summed(all_points) -> list[tuple[float, float]]:
    """One cumulative series from several: a step function summed at every sample time."""
    all_points = [points for points in all_points if points]
    times = sorted({t for points in all_points for t, _ in points})
    summed = []
    for t in times:
        total = 0.0
        for points in all_points:
            earlier = [v for pt, v in points if pt <= t]
            total += earlier[-1] if earlier else 0.0
        summed.append((t, total))
    return summed


def _amplification_constraints(spec: Mapping[str, Any]) -> list[SpecProblem]:
    problems = at_least("baseline", 1, spec) + at_least("min", 0, spec) + at_least("max", 0, spec)
    if spec.get("min") is None and spec.get("max") is None:
        problems.append(SpecProblem(None, "amplification needs min or max (or both)"))
    return problems


def _check(kind: str, function, own: Mapping[str, Param], filters: Mapping[str, Param], constraints,
           select, noun: str, with_dns: bool = False) -> Check:
    """A kind of this module from its function (`with_dns`: it takes dns_back too, see _JudgedWithDns)."""
    help_text = (function.__doc__ or "").strip().splitlines()[0]
    fold = type(function.__name__, (_JudgedWithDns if with_dns else _Judged,),
                {"__doc__": function.__doc__, "judge": staticmethod(function)})
    return Check(kind, fold, {**own, **filters}, help_text, constraints, select, noun)


CHECKS = {c.kind: c for c in (
    _check("app_availability", app_availability, {
        "min": Param(float, True, None, "smallest share of successful requests, 0..1"),
        "per": Param(str, False, "app", "hold every app or every model to min: app, model"),
    }, APP_FILTERS, _availability_constraints, _select_attempts, "app attempt"),
    _check("app_recovers_within", app_recovers_within, {
        "seconds": Param(float, True, None, "longest allowed time from DNS healthy again to the app succeeding"),
        "fault": Param(str, False, None, "fault id or kind to judge (default: every fault)"),
        "stable": Param(int, False, 3, "consecutive successes (and ok probes) that count as recovered"),
        "since": Param(str, False, "dns", "dns: from when the resolvers answer ok again; clear: from the clear"),
        "per": Param(str, False, "app", "judge every app or every model: app, model"),
        "after_action": Param(str, False, None, "the outage ends at this action (e.g. repair), not at a clear"),
    }, APP_FILTERS, _recovery_constraints, _select_attempts, "app attempt", with_dns=True),
    _check("workload_recovers_within", workload_recovers_within, {
        "seconds": Param(float, True, None, "longest allowed time from DNS healthy again to the leases back"),
        "share": Param(float, False, 1.0, "share of the leases that must be active again, 0..1"),
        "fault": Param(str, False, None, "fault id or kind to judge (default: every fault)"),
        "stable": Param(int, False, 2, "consecutive reports (and ok probes) that count as recovered"),
        "since": Param(str, False, "dns", "dns: from when the resolvers answer ok again; clear: from the clear"),
        "after_action": Param(str, False, None, "the outage ends at this action (e.g. repair), not at a clear"),
    }, {"workloads": Param(list[str], False, None, "workload nodes to judge (default: all)")},
        _workload_constraints, _select_reports, "workload report", with_dns=True),
    _check("amplification", amplification, {
        "counter": Param(str, False, "queries_in", "counter to compare: queries_in, queries_upstream, "
                                                    "cache_hits, servfail_sent"),
        "min": Param(float, False, None, "smallest allowed factor (rate during / rate before)"),
        "max": Param(float, False, None, "largest allowed factor"),
        "baseline": Param(float, False, 10.0, "seconds before the fault that give the usual rate"),
        "fault": Param(str, False, None, "fault id or kind to judge (default: every fault)"),
        "per_server": Param(bool, False, True, "judge each server, or the selected servers summed"),
    }, SAMPLE_FILTERS, _amplification_constraints, _select_samples, "counter sample"),
)}
