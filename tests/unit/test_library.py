"""The incident library without Docker: its index, each playbook valid both ways, `dnslab list`, the
`library:` header's validation, the server options behind the mitigations, and the pure parts of actions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import library
from lab.errors import PlaybookError, TopologyError
from lab.playbook import actions, changes, document
from lab.topology import load
from lab.topology.render import Tsig, render
from tests.support.cli import dnslab

REPO = Path(__file__).resolve().parents[2]
TSIG = Tsig("dnslab-update.", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=")

LIBRARY = {
    "facebook-2021-auth-unreachable", "akamai-2021-servfail-config", "salesforce-2021-global-push",
    "azure-2019-lame-delegation", "aws-seoul-2018-resolver-capacity", "aws-2025-dynamodb-enactor-race",
    "dyn-2016-auth-flood",
    # DNSSEC incidents (docs/dnssec.md)
    "cloudflare-2023-expired-rrsig", "nz-2023-ksk-rollover", "se-2022-bad-signatures", "slack-2021-dnssec-denial",
}


def test_the_library_indexes_every_incident_playbook_and_nothing_else():
    entries = library.entries()
    assert {e.name for e in entries} == LIBRARY
    for entry in entries:
        # The file name says the incident, the year and the mechanism.
        assert Path(entry.file).stem == entry.name and f"-{entry.year}-" in entry.name
        assert entry.incident and entry.mechanism and entry.symptom and entry.mitigation and entry.mitigated
    assert [e.date for e in entries] == sorted(e.date for e in entries)


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_each_library_playbook_is_valid_as_written_and_mitigated(name):
    entry = library.find(name)
    written = document.load(entry.file)
    mitigated = document.load(entry.file, list(entry.mitigated))
    assert written.sections["library"]["incident"] == entry.incident
    assert written.document != mitigated.document  # the switch changes something real


def test_list_prints_one_row_per_playbook_and_json_has_the_switches():
    done = dnslab("list", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {r["name"] for r in rows} == LIBRARY
    assert all(r["mitigated"] for r in rows)
    table = dnslab("list", timeout=60, env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"})
    assert table.returncode == 0, table.stderr
    for name in LIBRARY:
        assert sum(name in line for line in table.stdout.splitlines()) == 1, (name, table.stdout)


def test_a_broken_library_header_is_reported_with_its_place(tmp_path):
    source = (REPO / "playbooks" / "azure-2019-lame-delegation.yml").read_text()
    broken = source.replace("date: 2019-05-02", "date: last tuesday").replace(
        "  mitigation: a pre-flight", "  mitigaton: a pre-flight")
    path = tmp_path / "broken.yml"
    path.write_text(broken.replace("file: ../compose/default.yml", f"file: {REPO}/compose/default.yml"))
    with pytest.raises(PlaybookError) as caught:
        document.load(path)
    text = str(caught.value)
    assert f"{path}:" in text
    assert "library date must be a day" in text
    assert "unknown library field 'mitigaton'" in text and "missing the required field 'mitigation'" in text
    assert library.entries(tmp_path) == []  # not indexed until it is fixed


def test_serve_stale_is_rendered_into_each_vendors_own_config(tmp_path):
    path = tmp_path / "stale.yml"
    path.write_text(f"extends: {REPO}/compose/default.yml\nname: stale\noptions:\n  resolver: {{serve_stale: true}}\n")
    files = render(load.load(path), TSIG)
    assert "serve-expired: yes" in files["unbound"]["unbound.conf"]
    assert "stale-answer-enable yes;" in files["bind-resolver"]["named.conf"]
    assert "modules.load('serve_stale < cache')" in files["knot-resolver"]["kresd.conf"]
    assert "serve-stale-extensions=" in files["pdns-recursor"]["recursor.conf"]
    plain = render(load.load(REPO / "compose" / "default.yml"), TSIG)
    assert "serve-expired" not in plain["unbound"]["unbound.conf"]
    assert "stale-answer" not in plain["bind-resolver"]["named.conf"]
    assert "serve_stale" not in plain["knot-resolver"]["kresd.conf"]
    assert "serve-stale" not in plain["pdns-recursor"]["recursor.conf"]


def test_unknown_or_mistyped_options_name_their_place(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(f"extends: {REPO}/compose/default.yml\nname: bad\noptions:\n  resolver: {{serve_stale: 1}}\n"
                    "  resolvr: {}\n")
    with pytest.raises(TopologyError) as caught:
        load.load(path)
    text = str(caught.value)
    assert f"{path}:4:" in text and "serve_stale must be a boolean" in text
    assert f"{path}:5:" in text and 'did you mean "resolver"' in text


def test_changes_are_registered_actions_with_validated_params():
    assert {"rollout", "delegate", "scale_in"} <= set(actions.ACTIONS)
    assert actions.param_problems("rollout", {"servers": ["sec-knot"]})  # change is required
    assert not actions.param_problems("rollout", {"change": "servfail", "servers": ["sec-knot"],
                                                  "strategy": "staged"})


def test_health_checks_are_asked_from_a_resolver_never_from_a_server_being_changed():
    description = {"nodes": {
        "sec-knot": {"role": "authoritative", "addresses": {"core": "10.53.0.11"}},
        "sec-nsd": {"role": "authoritative", "addresses": {"core": "10.53.0.12"}},
        "unbound": {"role": "resolver", "addresses": {"core": "10.53.0.21", "edge": "10.53.1.21"}},
        "client1": {"role": "client", "addresses": {"edge": "10.53.1.101"}},
    }}
    assert changes.vantage(description, "sec-knot", {"sec-knot", "sec-nsd"}) == "unbound"
    assert changes.vantage(description, "sec-knot", {"unbound"}) == "sec-nsd"
    assert changes.vantage(description, "client1", set()) == "unbound"


def test_rrl_is_rendered_into_each_authoritative_servers_config(tmp_path):
    path = tmp_path / "rrl.yml"
    path.write_text(f"extends: {REPO}/compose/default.yml\nname: rrl\noptions:\n  authoritative: {{rrl: 20}}\n")
    files = render(load.load(path), TSIG)
    assert "rate-limit { responses-per-second 20; slip 2; };" in files["primary"]["named.conf"]
    assert "mod-rrl:" in files["sec-knot"]["knot.conf"] and "rate-limit: 20" in files["sec-knot"]["knot.conf"]
    assert "rrl-ratelimit: 20" in files["sec-nsd"]["nsd.conf"]
    plain = render(load.load(REPO / "compose" / "default.yml"), TSIG)
    assert "mod-rrl" not in plain["sec-knot"]["knot.conf"] and "rate-limit" not in plain["primary"]["named.conf"]
    assert "rrl-ratelimit: 0" in plain["sec-nsd"]["nsd.conf"]


def test_flood_queries_are_the_service_name_and_random_names_under_the_zone():
    from lab.playbook import flood

    lines = flood.query_lines(["x.cloud.test."], 3, "cloud.test.", seed=1)
    assert lines[0] == "x.cloud.test. A" and len(lines) == 4
    assert all(line.endswith(".cloud.test. A") for line in lines) and len(set(lines)) == 4
    report = "  Queries sent:         80000\n  Queries completed:    76858 (96.07%)\n  Queries lost:         3142 (3.93%)\n"
    assert flood.parse_report(report) == {"sent": 80000, "completed": 76858, "lost": 3142}


def test_a_playbook_can_override_a_topology_that_extends_another():
    entry = library.find("dyn-2016-auth-flood")
    loaded = document.load(entry.file, list(entry.mitigated))
    assert loaded.topology.zones["cloud.test."].servers == ("sec-knot", "sec-nsd", "sec-extra")
    assert loaded.topology.nodes["sec-knot"].options["rrl"] == 20
    topology = document.topology_document(loaded)
    assert "extends" not in topology and "wan" in topology["networks"]  # written elsewhere, still whole


def test_a_library_header_that_is_no_mapping_is_placed_at_its_key(tmp_path):
    path = tmp_path / "scalar.yml"
    path.write_text(f"name: x\nlibrary: yes please\ntopology: {REPO}/compose/default.yml\nsteps: []\nchecks: []\n")
    with pytest.raises(PlaybookError) as caught:
        document.load(path)
    assert str(caught.value).startswith(f"{path}:2:10: `library:` must be a mapping"), str(caught.value)
