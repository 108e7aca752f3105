#!/usr/bin/env python3
"""A user's DNS enactor written against dnslab's automation contract (docs/automation.md), not against dnslab:
it reads what the lab gives every pipeline role (environment, config, plan store, TSIG key), writes DNS through
TSIG-signed RFC 2136 updates to the zone's primary and prints its events as JSON lines on stdout.

    python3 enactor.py racy   one freshness check before an apply, then blind writes; clean-up deletes plans
                              older than (applied - keep) and the addresses of endpoints whose plan it deleted
                              (the design behind the us-east-1 outage of October 2025)
    python3 enactor.py safe   every write is a compare-and-set on the endpoint's generation marker (TXT
                              "gen=N", an RFC 2136 prerequisite); clean-up never deletes a plan still in use

Run it in the lab:
    dnslab run playbooks/aws-2025-dynamodb-enactor-race.yml --set enactor.command="python3 examples/automation/python/enactor.py safe"
"""

import json
import os
import random
import re
import sys
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdataset
import dns.tsigkeyring
import dns.update

ENV = os.environ
PLANS = Path(ENV["DNSLAB_PLANS"])
CONFIG = json.loads(Path(ENV["DNSLAB_CONFIG"]).read_text())
KEY = json.loads(Path(ENV["DNSLAB_TSIG"]).read_text())
KEYRING = dns.tsigkeyring.from_text({KEY["name"]: KEY["secret"]})
PRIMARY, ZONE, NODE = ENV["DNSLAB_PRIMARY"], ENV["DNSLAB_ZONE"], ENV["DNSLAB_NODE"]
MODE = sys.argv[1] if len(sys.argv) > 1 else "safe"
# Endpoints in apply order: regions by name, endpoints as the config lists them.
ENDPOINTS = [e for _, region in sorted(CONFIG["regions"].items()) for e in region["endpoints"]]


def emit(event, **fields):
    print(json.dumps({"t": time.time(), "event": event, **fields}), flush=True)


def read_json(path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def write_json(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # readers never see half a file


def settings():
    return {**CONFIG["settings"], **read_json(ENV["DNSLAB_SETTINGS"], {})}


def generations():
    return sorted(int(m.group(1)) for m in (re.match(r"gen-(\d+)\.json$", p.name) for p in PLANS.glob("gen-*.json"))
                  if m)


def addresses_for(plan, endpoint):
    for region in plan["plans"].values():
        if endpoint in region["endpoints"]:
            return sorted(t["address"] for t in region["targets"] if t["weight"] > 0)
    return []


def marker(endpoint):
    """The generation the primary serves for an endpoint (its TXT gen=N), or None."""
    reply = dns.query.udp(dns.message.make_query(endpoint, "TXT"), PRIMARY, timeout=1)
    for rrset in reply.answer:
        for rdata in rrset:
            found = re.search(r"gen=(\d+)", rdata.to_text())
            if found:
                return int(found.group(1))
    return None


def rrtype(address):
    return "AAAA" if ":" in address else "A"  # a dual-stack plan holds IPv6 addresses too


def by_type(addresses):
    found = {}
    for address in addresses:
        found.setdefault(rrtype(address), []).append(address)
    return found


class Stuck(Exception):
    """Racy: an endpoint's active plan is gone, so there is no change set to compute."""


def update(endpoint, generation, addresses, ttl, seen=None, guard=False):
    """Safe (guard): replace an endpoint's addresses and marker only if the marker is still `seen`.
    Racy: a blind change set from the endpoint's active plan (the plan its marker names) to this one."""
    message = dns.update.UpdateMessage(ZONE, keyring=KEYRING, keyalgorithm=KEY["algorithm"])
    if guard:
        if seen is None:
            message.absent(endpoint, "TXT")
        else:
            message.present(endpoint, dns.rdataset.from_text("IN", "TXT", 0, f'"gen={seen}"'))
        message.delete(endpoint, "A")
        message.delete(endpoint, "AAAA")
        for rdtype, values in by_type(addresses).items():
            message.add(endpoint, ttl, rdtype, *values)
    else:
        active = marker(endpoint)
        if active is not None:
            plan = read_json(PLANS / f"gen-{active:06d}.json")
            if plan is None:
                raise Stuck(f"active plan gen={active} of {endpoint} is gone")
            for address in set(addresses_for(plan, endpoint)) - set(addresses):
                message.delete(endpoint, rrtype(address), address)
        for rdtype, values in by_type(addresses).items():
            message.add(endpoint, ttl, rdtype, *values)
    message.replace(endpoint, ttl, "TXT", f'"gen={generation}"')
    return dns.rcode.to_text(dns.query.tcp(message, PRIMARY, timeout=2).rcode())


def apply(plan, s):
    generation, ttl = plan["generation"], int(s["ttl"])
    emit("apply_started", generation=generation, strategy=MODE)
    for index, endpoint in enumerate(ENDPOINTS, 1):
        time.sleep(float(s["apply_pace"]))  # the lab's knob for how long an endpoint's update takes
        addresses = addresses_for(plan, endpoint)
        if MODE == "racy":
            rcode = update(endpoint, generation, addresses, ttl)
        else:
            for _ in range(5):
                seen = marker(endpoint)
                if seen is not None and seen >= generation:
                    rcode = "stale"
                    break
                rcode = update(endpoint, generation, addresses, ttl, seen, guard=True)
                if rcode == "NOERROR":
                    break
            if rcode != "NOERROR":  # someone applied this plan or a newer one: the rest of it is stale too
                emit("refused", generation=generation, endpoint=endpoint, reason="stale", rcode=rcode)
                return
        if rcode == "NOERROR":
            emit("endpoint_applied", generation=generation, endpoint=endpoint, index=index, addresses=addresses)
        else:
            emit("retry", generation=generation, endpoint=endpoint, error=rcode)
    emit("apply_finished", generation=generation)
    return True


def cleanup(applied, s):
    keep = int(s["keep"])
    markers = {e: marker(e) for e in ENDPOINTS}
    in_use = set(markers.values()) if MODE == "safe" else set()
    deleted = []
    for generation in generations():
        if generation < applied - keep and generation not in in_use:
            (PLANS / f"gen-{generation:06d}.json").unlink(missing_ok=True)
            deleted.append(generation)
    removed = []
    if MODE == "racy":  # the flaw: records of a plan that is gone go with it, even if they are all there is
        existing = set(generations())
        for endpoint, generation in markers.items():
            if generation is not None and generation not in existing:
                message = dns.update.UpdateMessage(ZONE, keyring=KEYRING, keyalgorithm=KEY["algorithm"])
                message.delete(endpoint, "A")
                message.delete(endpoint, "AAAA")
                dns.query.tcp(message, PRIMARY, timeout=2)
                removed.append(endpoint)
    if deleted or removed:
        emit("cleanup_deleted", generations=deleted, endpoints=removed, applied=applied)


def main():
    handled, stuck = None, False
    while True:
        s = settings()
        if not s.get("running", True):  # the lab holds every role (a reset): say so, touch nothing
            write_json(ENV["DNSLAB_STATUS"], {"state": "held", "epoch": s.get("epoch"), "t": time.time()})
            handled = None
            time.sleep(0.1)
            continue
        write_json(ENV["DNSLAB_STATUS"], {"state": "running", "epoch": s.get("epoch"), "t": time.time()})
        found = generations()
        newest = found[-1] if found else None
        try:
            served = {e: marker(e) for e in ENDPOINTS}
            gone = {e: g for e, g in served.items() if g is not None and g not in found}
            if MODE == "racy" and gone:
                endpoint, generation = sorted(gone.items())[0]
                raise Stuck(f"active plan gen={generation} of {endpoint} is gone")
            if newest is not None and newest != handled:
                stuck, handled = False, newest
                # The one-time freshness check: newer than anything applied anywhere.
                plan = read_json(PLANS / f"gen-{newest:06d}.json")
                applied = [g for g in served.values() if g is not None]
                if plan and (not applied or newest > max(applied)):
                    if apply(plan, s):
                        cleanup(newest, s)
        except Stuck as exc:
            # With no change set to compute, racy waits for a human (`dnslab repair`): the state that needed
            # an operator in us-east-1.
            if not stuck:
                emit("stuck", reason=str(exc))
            stuck = True
        except (OSError, dns.exception.DNSException) as exc:
            print(f"{NODE}: {exc}", file=sys.stderr, flush=True)  # logs go to stderr
        time.sleep(float(s["poll"]) * (0.5 + random.random()))  # jitter: three enactors never move in lockstep


if __name__ == "__main__":
    main()
