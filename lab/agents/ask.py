"""Ask DNS questions from inside a container and print the answers as one JSON document.

    python3 -m lab.agents.ask '{"queries": [{"server": "10.53.1.21", "name": "x.test.", "type": "A"}],
                               "timeout": 2, "until": "answer", "deadline": 30}'

`until` makes it a readiness probe: repeat every query until it gets an answer of that kind ("answer":
any rcode but SERVFAIL/REFUSED, "noerror": NOERROR, "aa": an authoritative NOERROR, "expect": exactly
the query's `expect` list of answers, in any order; "records": exactly its `expect` list of "TTL value"
records) or the deadline passes, every `every` seconds (0.2).

A query with `"sections": true` also gets `records`: "TTL value" of every record of the asked name and type
in any section, so a referral's NS (authority) and glue (additional) count as what the server serves.

A query with `"dnssec": true` is sent with EDNS and the AD bit (RFC 6840 5.7: tell me whether it validated);
its result then has `ad` and `ede` (the Extended DNS Error codes of the answer, RFC 8914). `"cd": true`
sets Checking Disabled: a validating resolver answers without validating. `"do": true` sets DNSSEC OK: a
signed zone's server sends the signatures too, and `records` then also holds "TTL RRSIG value" for every
signature over the asked RRset (what a DNSSEC fault publishes is confirmed signatures and all).

`"in_order": true` ends a round at the first query still not answered as `until` wants: the queries then
stand for one change that takes effect at once (a zone reload), so until it shows, one question a round.
"""

from __future__ import annotations

import json
import sys
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


EDE = 15  # EDNS option code of an Extended DNS Error (RFC 8914)


def ask(server: str, name: str, rdtype: str = "A", timeout: float = 2.0, rd: bool = True, tcp: bool = False,
        dnssec: bool = False, cd: bool = False, sections: bool = False, do: bool = False) -> dict:
    query = dns.message.make_query(name, rdtype)
    if not rd:
        query.flags &= ~dns.flags.RD
    if dnssec or do:
        # 4096 with DO: a signed answer whole, without a retry over TCP (DO is asked of a server on loopback)
        query.use_edns(0, dns.flags.DO if do else 0, 4096 if do else 1232)
    if dnssec:
        query.flags |= dns.flags.AD
    if cd:
        query.flags |= dns.flags.CD
    start = time.time()
    result = {"t": start, "server": server, "name": query.question[0].name.to_text(), "type": rdtype.upper(),
              "rcode": None, "answers": [], "ttl": None, "latency_ms": None, "error": None, "aa": False}
    try:
        send = dns.query.tcp if tcp else dns.query.udp
        response = send(query, server, timeout=timeout)
    except dns.exception.Timeout:
        result["error"] = "timeout"
        return result
    except Exception as exc:  # noqa: BLE001 - every failure is an observation, never a crash
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    result["latency_ms"] = round((time.time() - start) * 1000, 3)
    result["rcode"] = dns.rcode.to_text(response.rcode())
    result["aa"] = bool(response.flags & dns.flags.AA)
    result["tc"] = bool(response.flags & dns.flags.TC)
    if dnssec:
        result["ad"] = bool(response.flags & dns.flags.AD)
        result["ede"] = ede_codes(response)
    # Whose negative answer this is (the lab root's SOA for names outside the lab world).
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            result["soa"] = rrset.name.to_text()
    wanted = dns.rdatatype.from_text(rdtype)
    for rrset in response.answer:
        if rrset.rdtype == wanted or wanted == dns.rdatatype.ANY:
            result["answers"] += [_text(rd) for rd in rrset]
            result["ttl"] = rrset.ttl
        elif rrset.rdtype == dns.rdatatype.CNAME:
            result.setdefault("cname", []).extend(rd.to_text() for rd in rrset)
    if sections:
        result["records"] = section_records(response, rdtype, signatures=do)
    return result


def section_records(response, rdtype: str, signatures: bool = False) -> list[str]:
    """"TTL value" of every record of the asked name and type, in any section of the response; with
    `signatures`, also "TTL RRSIG value" of every signature over them."""
    asked, wanted = response.question[0].name, dns.rdatatype.from_text(rdtype)
    found = []
    for section in (response.answer, response.authority, response.additional):
        for rrset in section:
            if rrset.name != asked:
                continue
            if rrset.rdtype == wanted:
                found += [f"{rrset.ttl} {rd.to_text()}" for rd in rrset]
            elif signatures and rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == wanted:
                found += [f"{rrset.ttl} RRSIG {rd.to_text()}" for rd in rrset]
    return found


def ede_codes(response) -> list[int]:
    """Extended DNS Error codes in an answer's OPT record (dnspython 2.3 parses them as EDEOption)."""
    codes = []
    for option in response.options:
        if option.otype == EDE:
            code = getattr(option, "code", None)
            codes.append(int(code) if code is not None else int.from_bytes(option.data[:2], "big"))
    return codes


def _text(rdata) -> str:
    if rdata.rdtype == dns.rdatatype.TXT:
        return "".join(s.decode("utf-8", "replace") for s in rdata.strings)
    return rdata.to_text()


def _done(result: dict, until: str, query: dict) -> bool:
    if until == "answer":
        return result["rcode"] not in (None, "SERVFAIL", "REFUSED")
    if until == "noerror":
        return result["rcode"] == "NOERROR"
    if until == "aa":
        return result["rcode"] == "NOERROR" and result["aa"]
    if until == "expect":
        return sorted(result["answers"]) == sorted(query.get("expect", []))
    if until == "records":
        return result["rcode"] is not None and sorted(result.get("records", [])) == sorted(query.get("expect", []))
    return True


def _asked(q: dict, timeout: float) -> dict:
    return ask(q["server"], q["name"], q.get("type", "A"), timeout, q.get("rd", True), q.get("tcp", False),
               q.get("dnssec", False), q.get("cd", False), q.get("sections", False), q.get("do", False))


def run(spec: dict) -> list[dict]:
    """Every query of the spec (repeated as `until` says); one result each."""
    timeout = float(spec.get("timeout", 2.0))
    until = spec.get("until")
    deadline = time.time() + float(spec.get("deadline", 0))
    pending = list(enumerate(spec["queries"]))
    results: list = [None] * len(pending)
    while pending:
        still = []
        for k, (i, q) in enumerate(pending):
            results[i] = _asked(q, timeout)
            if until and not _done(results[i], until, q):
                if spec.get("in_order") and time.time() < deadline:
                    still = pending[k:]  # the rest waits for this one
                    break
                still.append((i, q))
        pending = still
        if not pending or time.time() >= deadline:
            break
        time.sleep(float(spec.get("every", 0.2)))
    for i, q in enumerate(spec["queries"]):
        if results[i] is None:  # held back by in_order until the deadline passed: asked once
            results[i] = _asked(q, timeout)
    return results


def main(argv: list[str]) -> int:
    json.dump(run(json.loads(argv[1])), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
