"""The incident library end to end through `dnslab run`: every playbook as written shows the operators'
symptom (exit 1, its check failing), and with its mitigation's --set options passes (exit 0) because the
safeguard really acted (its events are in events.jsonl). Then `dnslab matrix` on one playbook, both ways.

Each run brings up a lab of its own (the variants differ in topology for serve-stale) and takes it down.
About 16 minutes (with test_dnssec_playbooks): `make test-library` (marker `library`), which CI runs after `make test`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lab import library
from tests.integration.conftest import lab_name
from tests.support.cli import dnslab, read_jsonl, run_playbook

pytestmark = pytest.mark.library
RESOLVERS = {"unbound", "bind-resolver", "knot-resolver", "pdns-recursor"}


@pytest.fixture(scope="module")
def ready(rt, lab_image):
    return lab_image


def run(name: str, variant: str, out: Path) -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
    entry = library.find(name)
    sets = [word for option in (entry.mitigated if variant == "mitigated" else ()) for word in ("--set", option)]
    return run_playbook(entry.file, lab_name(f"{name[:24]}-{variant[0]}"), out, "--no-keep", *sets)


def named(events: list[dict], event: str) -> list[dict]:
    return [e for e in events if e["event"] == event]


def failed_checks(report: dict) -> list[str]:
    return [c["name"] for c in report["checks"] if not c["ok"]]


def test_facebook_no_route_to_the_servers_resolvers_servfail_and_the_apps_retries_storm(ready, tmp_path):
    done, report, events = run("facebook-2021-auth-unreachable", "as-written", tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    failed = failed_checks(report)
    assert "every resolver keeps answering through the outage" in failed
    assert "the apps' immediate retries do not multiply the resolvers' query rate" in failed
    # The route is gone: every resolver answers SERVFAIL at once rather than timing out.
    figures = report["probes"]["by_resolver"]
    assert set(figures) == RESOLVERS
    assert all(f["servfail"] > 0 and f["servfail"] > f["timeout"] for f in figures.values()), figures
    [injected] = named(events, "fault_injected")
    assert injected["target"] == "role:resolver" and injected["params"]["how"] == "reject", injected
    # glibc's lookups fail within a second (all three nameservers' SERVFAIL), and it retries at once.
    attempts = [a for a in read_jsonl(tmp_path / "apps.jsonl") if a.get("kind") == "attempt"]
    assert {a["app"] for a in attempts} == {"app-glibc", "app-jvm"}
    servfails = sorted(a["resolve_s"] for a in attempts if a["app"] == "app-glibc" and a["resolution"] == "servfail")
    assert len(servfails) > 100 and servfails[len(servfails) // 2] < 1, servfails[-10:]
    # The storm is at the three resolvers in the apps' resolv.conf (Unbound's the least: the apps' first
    # nameserver, its usual rate already holds the glibc app's lookups); PowerDNS Recursor, which only the
    # probes ask, keeps its usual rate.
    amplification = next(c for c in report["checks"] if c["check"] == "amplification")
    [fault] = amplification["data"]["faults"]
    factors = {server: figures["factor"] for server, figures in fault["by_server"].items()}
    assert set(factors) == RESOLVERS and factors["pdns-recursor"] < 1.5, factors
    assert factors["unbound"] > 1.5 and factors["bind-resolver"] > 2.5 and factors["knot-resolver"] > 2.5, factors
    print(amplification["detail"])


def test_facebook_with_serve_stale_the_resolvers_bridge_the_outage(ready, tmp_path):
    done, report, events = run("facebook-2021-auth-unreachable", "mitigated", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert report["verdict"] == "pass"
    # The servers really were unreachable: the same partition as without serve-stale.
    [injected] = named(events, "fault_injected")
    assert injected["target"] == "role:resolver" and injected["params"]["how"] == "reject", injected
    assert "serve_stale: true" in (tmp_path / "playbook.yml").read_text()
    availability = next(c for c in report["checks"] if c["name"].startswith("every resolver"))
    assert all(v["ratio"] >= 0.75 for v in availability["data"]["by_resolver"].values())
    attempts = [a for a in read_jsonl(tmp_path / "apps.jsonl") if a.get("kind") == "attempt"]
    assert attempts and "policy: backoff" in (tmp_path / "playbook.yml").read_text()
    print(next(c for c in report["checks"] if c["check"] == "amplification")["detail"])


def _cascade(report: dict) -> dict:
    [outage] = report["apps"]["outages"]
    return outage


def test_aws_cascade_the_workload_stays_collapsed_after_the_repair(ready, tmp_path):
    done, report, events = run("aws-2025-dynamodb-cascade", "as-written", tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "the lease workload is back within 15 s of DNS" in failed_checks(report)
    assert named(events, "action_done") and not named(events, "refused")  # naive enactors, a real repair
    outage = _cascade(report)
    print("\n".join(f"{m}: {r['text']}" for m, r in outage["models"].items()), outage["workloads"])
    workload = outage["workloads"]["dwfm"]
    assert workload["back_s"] is None and workload["goodput_before"] > 50, workload
    assert workload["goodput_after"] < 0.2 * workload["goodput_before"], workload
    # Every model had its symptom while the endpoint was empty, stale-on-error kept its last answer.
    attempts = [a for a in read_jsonl(tmp_path / "apps.jsonl") if a.get("kind") == "attempt"]
    empty = [a for a in attempts if a["resolution"] in ("nodata", "nxdomain")]
    assert {a["model"] for a in empty} == {"glibc", "nscd", "dnsmasq", "jvm"}, {a["model"] for a in empty}
    assert any(a["source"] == "stale" for a in attempts if a["model"] == "stale-on-error")
    assert (tmp_path / "samples.jsonl").stat().st_size > 0 and outage["amplification"]["unbound"]


def test_aws_cascade_throttled_reestablishment_recovers(ready, tmp_path):
    done, report, events = run("aws-2025-dynamodb-cascade", "mitigated", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    outage = _cascade(report)
    print("\n".join(f"{m}: {r['text']}" for m, r in outage["models"].items()), outage["workloads"])
    workload = outage["workloads"]["dwfm"]
    assert workload["after_dns_s"] is not None and workload["after_dns_s"] <= 15, workload
    assert set(outage["models"]) == {"glibc", "nscd", "dnsmasq", "jvm", "stale-on-error"}
    assert all(r["app_back_s"] is not None for r in outage["models"].values()), outage["models"]
    assert "max_concurrent: 4" in (tmp_path / "playbook.yml").read_text()


def test_akamai_config_pushed_everywhere_servers_answer_servfail(ready, tmp_path):
    done, report, events = run("akamai-2021-servfail-config", "as-written", tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "the name keeps resolving through every resolver" in failed_checks(report)
    assert report["probes"]["by_rcode"].get("SERVFAIL", 0) > 0
    [finished] = named(events, "rollout_finished")
    assert finished["changed"] == ["sec-knot", "sec-nsd"] and finished["halted_at"] is None


def test_akamai_staged_rollout_halts_at_the_canary(ready, tmp_path):
    done, report, events = run("akamai-2021-servfail-config", "mitigated", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    [check] = named(events, "health_check")
    assert check["node"] == "sec-knot" and not check["healthy"] and "SERVFAIL" in check["answers"]
    [halted] = named(events, "rollout_halted")
    assert halted["server"] == "sec-knot" and halted["untouched"] == ["sec-nsd"]
    assert [e["target"] for e in named(events, "fault_injected")] == ["sec-knot"]  # sec-nsd never changed


def test_salesforce_bad_zone_change_everywhere_at_once_empties_the_name(ready, tmp_path):
    done, report, events = run("salesforce-2021-global-push", "as-written", tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert report["probes"]["empty_answers"] > 0
    assert {e["target"] for e in named(events, "fault_injected")} == {"sec-knot", "sec-nsd"}


def test_salesforce_staggered_change_stops_at_the_health_gate(ready, tmp_path):
    done, report, events = run("salesforce-2021-global-push", "mitigated", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    [check] = named(events, "health_check")
    assert check["node"] == "sec-knot" and check["answers"] == ["NXDOMAIN"] * 3  # the name has nothing else
    assert named(events, "rollout_halted")[0]["server"] == "sec-knot"


def test_azure_lame_delegation_makes_every_resolver_servfail(ready, tmp_path):
    done, report, events = run("azure-2019-lame-delegation", "as-written", tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    servfail = {r: f["servfail"] for r, f in report["probes"]["by_resolver"].items()}
    assert set(servfail) == RESOLVERS and all(n > 0 for n in servfail.values()), servfail
    assert named(events, "delegation_changed")[0]["to"] == "root"


def test_azure_preflight_check_refuses_the_lame_delegation(ready, tmp_path):
    done, report, events = run("azure-2019-lame-delegation", "mitigated", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    [preflight] = named(events, "preflight_check")
    assert preflight["server"] == "root" and preflight["serves"] is False
    assert named(events, "change_refused") and not named(events, "fault_injected")
    assert report["probes"]["ok"] == report["probes"]["total"]


def test_dyn_flooded_servers_make_resolvers_time_out(ready, tmp_path):
    done, report, events = run("dyn-2016-auth-flood", "as-written", tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    [finished] = named(events, "flood_finished")
    lost = sum(pair.get("lost", 0) for pair in finished["results"].values())
    sent = sum(pair.get("sent", 0) for pair in finished["results"].values())
    assert sent > 0 and lost > sent / 2, finished  # the servers really were overloaded
    assert report["probes"]["timeouts"] + report["probes"]["by_rcode"].get("SERVFAIL", 0) > 0


def test_dyn_rrl_and_an_unattacked_secondary_keep_the_name_up(ready, tmp_path):
    done, report, events = run("dyn-2016-auth-flood", "mitigated", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    [finished] = named(events, "flood_finished")
    assert sum(pair.get("sent", 0) for pair in finished["results"].values()) > 0  # the same flood ran
    assert "sec-extra" in (tmp_path / "playbook.yml").read_text()


def test_aws_seoul_fleet_shrinks_to_nothing_and_lookups_time_out(ready, tmp_path):
    done, report, events = run("aws-seoul-2018-resolver-capacity", "as-written", tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert [e["resolver"] for e in named(events, "fleet_removed")] == [
        "unbound", "bind-resolver", "knot-resolver", "pdns-recursor"]
    assert report["probes"]["timeouts"] > 0
    assert failed_checks(report) == ["clients can resolve through their resolver fleet"]


def test_aws_seoul_capacity_guard_keeps_two_resolvers(ready, tmp_path):
    done, report, events = run("aws-seoul-2018-resolver-capacity", "mitigated", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [e["resolver"] for e in named(events, "fleet_removed")] == ["unbound", "bind-resolver"]
    [guard] = named(events, "capacity_guard")
    assert guard["refused"] == "knot-resolver" and guard["minimum"] == 2
    assert report["probes"]["timeouts"] > 0  # the removed ones still time out; the fleet as a whole answers


def test_matrix_runs_one_playbook_both_ways_in_parallel_and_draws_it(ready, tmp_path):
    out = tmp_path / "matrix"
    done = dnslab("matrix", "azure-2019-lame-delegation", "--jobs", "2", "--out", str(out),
                  "--lab-prefix", lab_name("mx"), timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    built = json.loads((out / "matrix.json").read_text())
    assert built["vendors"] == ["Unbound", "BIND", "Knot Resolver", "PowerDNS Recursor"]
    written, mitigated = built["rows"]
    assert (written["variant"], written["exit_code"], mitigated["variant"], mitigated["exit_code"]) == \
        ("as-written", 1, "mitigated", 0)
    assert all(cell["symptom"] == "SERVFAIL" and cell["availability"] < 0.9 for cell in written["cells"].values())
    assert all(cell["availability"] == 1.0 for cell in mitigated["cells"].values())
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    page = (out / "matrix.html").read_text()
    for row in built["rows"]:  # every run is linked, and the link leads to its report.html
        link = f"runs/{row['playbook']}-{row['variant']}/report.html"
        assert f'<a href="{link}">' in page and (out / link).is_file()
    assert 'src="data:image/png;base64,' in page
    assert "| azure-2019-lame-delegation (as-written) | 1 (reproduced) |" in (out / "matrix.md").read_text()
    assert "Knot Resolver" in done.stdout
