"""AD and Extended DNS Errors in probes, and the per-resolver outcome a DNSSEC run reports (pure)."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message

from lab.agents import prober
from lab.agents.ask import ede_codes
from lab.report.resolvers import resolver_outcomes
from lab.report.summary import probe_figures


def _answer(rcode: int, ede: int | None, ad: bool) -> dns.message.Message:
    query = prober._query("www.shop.test.", "A", dnssec=True)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if ad:
        response.flags |= dns.flags.AD
    if ede is not None:
        response.use_edns(0, 0, 1232, options=[dns.edns.EDEOption(ede)])
    return response


def test_a_dnssec_query_asks_with_edns_and_ad():
    query = prober._query("www.shop.test.", "A", dnssec=True)
    assert query.edns == 0 and query.flags & dns.flags.AD
    assert prober._query("www.shop.test.", "A").edns == -1


def test_ede_codes_and_ad_are_read_from_the_answer():
    assert ede_codes(_answer(2, 6, False)) == [6]
    assert prober.dnssec_fields(_answer(2, 7, False).to_wire()) == {"ad": False, "ede": [7]}
    assert prober.dnssec_fields(_answer(0, None, True).to_wire()) == {"ad": True, "ede": []}


def _probe(t, resolver, rcode, ede=(), answers=("192.0.2.80",)):
    return {"t": t, "resolver": resolver, "rcode": rcode, "answers": list(answers) if rcode == "NOERROR" else [],
            "ede": list(ede), "ad": rcode == "NOERROR", "error": None}


def test_outcomes_say_rcodes_ede_outage_and_recovery_after_the_clear():
    events = [{"t": 0.0, "source": "runner", "event": "run_started"},
              {"t": 2.0, "source": "runner", "event": "fault_injected", "id": "f1", "kind": "k", "target": "x"},
              {"t": 6.0, "source": "runner", "event": "fault_cleared", "id": "f1", "kind": "k", "target": "x"}]
    probes = [_probe(1, "unbound", "NOERROR"), _probe(3, "unbound", "SERVFAIL", [6]),
              _probe(5, "unbound", "SERVFAIL", [6]), _probe(9, "unbound", "SERVFAIL", [9]),
              _probe(10, "unbound", "NOERROR"),
              _probe(1, "bind-resolver", "NOERROR"), _probe(3, "bind-resolver", "SERVFAIL"),
              _probe(3.5, "bind-resolver", "NOERROR"),
              _probe(3, "pdns-recursor", "SERVFAIL", [7])]
    out = resolver_outcomes(probes, events, {"unbound": "unbound"})
    assert out["unbound"]["rcodes"] == {"SERVFAIL": 3, "NOERROR": 2}
    assert out["unbound"]["ede"] == {"6 DNSSEC Bogus": 2, "9 DNSKEY Missing": 1}
    assert (out["unbound"]["outage_s"], out["unbound"]["after_clear_s"]) == (7.0, 4.0)
    assert out["unbound"]["software"] == "unbound"
    # back while the fault was still in force: no time "after the clear"
    assert (out["bind-resolver"]["outage_s"], out["bind-resolver"]["after_clear_s"]) == (0.5, None)
    assert out["pdns-recursor"]["recovered_s"] is None and out["pdns-recursor"]["outage_s"] is None


def test_probes_and_clears_of_the_final_rollback_are_left_out_of_the_times_not_the_counts():
    """The rollback's probes are counted like every probe (probes.by_resolver agrees: docs/records.md), but
    the outage and recovery times judge only the steps."""
    events = [{"t": 0.0, "event": "run_started"},
              {"t": 0.5, "event": "fault_injected", "id": "f1", "kind": "k", "target": "x"},
              {"t": 5.0, "event": "step_finished"},
              {"t": 5.5, "event": "fault_cleared", "id": "f1", "kind": "k", "target": "x"}]
    probes = [_probe(1, "unbound", "SERVFAIL", [6]), _probe(4, "unbound", "NOERROR"), _probe(6, "unbound", "SERVFAIL")]
    out = resolver_outcomes(probes, events)["unbound"]
    assert out["rcodes"] == {"SERVFAIL": 2, "NOERROR": 1} and out["recovered_s"] == 4.0
    assert out["total"] == probe_figures(probes)["by_resolver"]["unbound"]["total"] == 3
    assert out["rcodes"]["SERVFAIL"] == probe_figures(probes)["by_resolver"]["unbound"]["servfail"]
    assert out["after_clear_s"] is None  # back while the fault held; the rollback's clear came later


def test_a_resolver_back_while_the_undo_finishes_counts_as_back_at_the_clear():
    events = [{"t": 0.0, "event": "run_started"},
              {"t": 2.0, "event": "fault_injected", "id": "f1", "kind": "k", "target": "x"},
              {"t": 6.0, "event": "fault_cleared", "id": "f1", "kind": "k", "target": "x"}]
    probes = [_probe(3, "unbound", "SERVFAIL"), _probe(5.5, "unbound", "NOERROR")]
    assert resolver_outcomes(probes, events)["unbound"]["after_clear_s"] == 0.0
