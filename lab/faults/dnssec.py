"""DNSSEC faults: a signer that publishes wrong signatures, keys or denials for a zone dnslab signs itself.

Every kind re-signs a static (offline-signed) zone of a signed lab on purpose wrongly and publishes it to
every server of that zone at once (a signer publishes to all of them); a KSK rollover also re-signs the
parent with the new DS. Each server's file is written, and the server signalled to reload it, by the loop
kept in the server's own container (lab.faults.zonedata.publish, as static zone-data faults do), which
returns once the server serves every RRset that changed with its new signatures, DNSKEY and DS (asked with
DNSSEC OK on 127.0.0.1): an engine call and a reload exec per server cost 200-500 ms. The rendered original
files stay on the orchestrator's side (lab.state, as for zone-data faults), so undo puts back exactly what
`up` published, byte for byte, the same way — and the sweep of `fault clear --all`, with no record at all,
through the engine (it also reaches a stopped node). Zones a BIND primary signs online (cloud.test. in
compose/signed.yml) are not for these faults: pause the primary to stop its re-signing instead.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

import dns.dnssec
import dns.rdata

from lab import state
from lab.errors import LabError
from lab.faults import arguments as P, zonedata, zonetext
from lab.faults.base import FaultContext, FaultKind, Param
from lab.parallel import parallel
from lab.signing import keys as K, signer
from lab.topology.load import parent_zone

# ---- the signed files --------------------------------------------------------------------------------------

PUBLISHED = "; published by a dnslab DNSSEC fault or signature_watch\n"


def original(ctx: FaultContext, zone: str) -> str:
    """The zone as `up` published it (rendered, kept on the orchestrator's side)."""
    return zonedata.rendered(ctx, zonedata.holders(ctx.description, zone)[0], zone)


def publish(ctx: FaultContext, record: dict, *zones: tuple[str, str]) -> None:
    """Publish each (zone, text) on every server of its zone, all at once; done when each serves it (undo puts
    the rendered originals back)."""
    files = [(node, zone, PUBLISHED + text) for zone, text in zones for node in zonedata.holders(ctx.description, zone)]
    record.setdefault("files", []).extend([node, zone] for node, zone, _ in files)  # first: a failed one is undone too
    for zone, text in {(zone, text) for _, zone, text in files}:
        zonetext.signed_rrsets(text, zone)  # parsed once here, not by each server's thread at the same time
    parallel(lambda f: zonedata.publish(ctx, *f), files)


def _undo(ctx: FaultContext, record: dict) -> None:
    files = [(node, zone, zonedata.rendered(ctx, node, zone)) for node, zone in sorted({tuple(f) for f in record.get("files", [])})]
    for _, zone, text in files:
        zonetext.signed_rrsets(text, zone)
    parallel(lambda f: zonedata.publish(ctx, *f), files)


def warm(ctx: FaultContext) -> None:
    """What the first DNSSEC fault of a process would pay for on its way (30-100 ms under load), done ahead:
    the rendered originals of the zones dnslab signs parsed (the parses are cached) and the signer's crypto
    loaded. Nothing for an unsigned lab."""
    if not ctx.description.get("dnssec"):
        return
    for zone, info in ctx.description["zones"].items():
        if not info["primary"]:
            for text in {zonedata.rendered(ctx, node, zone) for node in info["servers"]}:
                zonetext.signed_rrsets(text, zone)
                signer.sign(text, zone, _keys(ctx, zone), *_window(ctx))


def _window(ctx: FaultContext) -> tuple[float, float]:
    """The validity a correct re-signing gives (what `up` gives static zones)."""
    now = time.time()
    return now - signer.INCEPTION_SLACK, now + ctx.description["dnssec"]["static_validity"]


def _keys(ctx: FaultContext, zone: str) -> list[dict]:
    return state.dnssec_keys(ctx.lab, [zone])[zone]


def _zone(record: dict) -> str:
    return zonetext.absolute(record["params"]["zone"])


# ---- the kinds ---------------------------------------------------------------------------------------------


def _expire(ctx: FaultContext, record: dict) -> None:
    zone, after = _zone(record), record["params"]["expires_in"]
    now = time.time()
    # Already past: valid from two hours ago to one hour ago, as a signer whose re-signing stopped long ago.
    inception, expiration = (now - 7200, now - 3600) if after == 0 else (now - signer.INCEPTION_SLACK, now + after)
    record.update(zone=zone, expiration=expiration)
    publish(ctx, record, (zone, signer.sign(original(ctx, zone), zone, _keys(ctx, zone), inception, expiration)))


def _bogus(ctx: FaultContext, record: dict) -> None:
    zone = _zone(record)
    names = [zonetext.absolute(n) for n in record["params"].get("names") or []] or None
    text, touched = signer.corrupt(original(ctx, zone), zone, names)
    if not touched:
        raise LabError(f"no signed name {', '.join(names or [])} in {zone}: nothing to corrupt")
    record.update(zone=zone, corrupted=touched)
    if record["params"]["verify"]:
        # The mitigation: the signer validates its output and keeps the published zone when it fails.
        record["refused"] = signer.verify(text, zone)
        if record["refused"]:
            return
    publish(ctx, record, (zone, text))


def _remove_dnskey(ctx: FaultContext, record: dict) -> None:
    zone = _zone(record)
    record.update(zone=zone)
    publish(ctx, record, (zone, signer.without(original(ctx, zone), zone, zone, "DNSKEY")))


def _ksk_rollover(ctx: FaultContext, record: dict) -> None:
    zone, p = _zone(record), record["params"]
    parent = parent_zone(zone, ctx.description["zones"])
    old_ksk, zsk = _keys(ctx, zone)
    new_ksk = K.generate(zone, "ksk")  # lives only in the published zone: undo goes back to the old one
    record.update(zone=zone, parent=parent, old_tag=K.tag(old_ksk), new_tag=K.tag(new_ksk))
    inception, expiration = _window(ctx)
    published = [old_ksk, new_ksk, zsk] if p["double_signature"] else [new_ksk, zsk]
    child = signer.sign(original(ctx, zone), zone, published, inception, expiration)
    # The parent's new DS goes out with the child's new key, as a registry that publishes at once would.
    parent_text = [(parent, _parent_ds(ctx, zone, parent, [K.ds_text(new_ksk)]))] if p["update_parent"] else []
    publish(ctx, record, *parent_text, (zone, child))


def _parent_ds(ctx: FaultContext, zone: str, parent: str, ds_rdatas: list[str]) -> str:
    """The parent zone as published now, re-signed with `ds_rdatas` as the DS RRset of `zone` (same TTL)."""
    text = _current(ctx, parent)
    ds = zonetext.find(zonetext.parse(signer.unsigned(text, parent), parent), zone, "DS")
    if ds is None:
        raise LabError(f"{parent} holds no DS for {zone}")
    swapped = signer.without(text, parent, zone, "DS") + "".join(f"{zone} {ds[2]} IN DS {d}\n" for d in ds_rdatas)
    inception, expiration = _window(ctx)
    return signer.sign(swapped, parent, _keys(ctx, parent), inception, expiration)


def _current(ctx: FaultContext, zone: str) -> str:
    return zonedata.served_now(ctx, zonedata.holders(ctx.description, zone)[0], zone)


def _update_ds(ctx: FaultContext, record: dict) -> None:
    """The parent publishes DS records for the KSKs the child publishes now (e.g. after a rollover)."""
    zone = _zone(record)
    parent = parent_zone(zone, ctx.description["zones"])
    published = zonetext.find(zonetext.parse(_current(ctx, zone), zone), zone, "DNSKEY")
    if published is None:
        raise LabError(f"{zone} publishes no DNSKEY RRset: no DS to derive")
    ksks = [d for d in published[3] if d.split()[0] == "257"]
    ds = [dns.dnssec.make_ds(zone, dns.rdata.from_text("IN", "DNSKEY", d), "SHA256").to_text() for d in ksks]
    record.update(zone=zone, parent=parent, ds=ds)
    publish(ctx, record, (parent, _parent_ds(ctx, zone, parent, ds)))


def _wrong_denial(ctx: FaultContext, record: dict) -> None:
    zone, p = _zone(record), record["params"]
    name = zonetext.absolute(p["name"])
    text = original(ctx, zone)
    if not any(r[0] == name for r in zonetext.parse(signer.unsigned(text, zone), zone)):
        raise LabError(f"{name} does not exist in {zone}: a denial of it would be right, not wrong")
    denied = signer.without(signer.unsigned(text, zone), zone, name)
    if p.get("negative_ttl") is not None:
        denied = _with_negative_ttl(denied, zone, p["negative_ttl"])
    record.update(zone=zone, denied=name)
    inception, expiration = _window(ctx)
    publish(ctx, record, (zone, signer.sign(denied, zone, _keys(ctx, zone), inception, expiration)))


def _with_negative_ttl(text: str, zone: str, ttl: int) -> str:
    """The SOA minimum and the SOA's own TTL set to `ttl`: a denial is then cached that long (RFC 2308)."""
    soa = zonetext.find(zonetext.parse(text, zone), zone, "SOA")
    fields = soa[3][0].split()
    fields[6] = str(ttl)
    return zonetext.edit(text, zone, [["replace", zone, ttl, "SOA", [" ".join(fields)]]])


def resign_if_expiring(ctx: FaultContext, zone: str, margin: float) -> dict:
    """A signature monitor: when the zone's published signatures expire within `margin` seconds, re-sign
    it (good keys, the full validity) on every server. What the playbook action signature_watch does."""
    text = _current(ctx, zone)
    remaining = min(signer.expirations(text, zone), default=None)
    remaining = None if remaining is None else round(remaining - time.time(), 1)
    acted = remaining is not None and remaining < margin
    if acted:
        inception, expiration = _window(ctx)
        publish(ctx, {}, (zone, signer.sign(text, zone, _keys(ctx, zone), inception, expiration)))
    return {"zone": zone, "expires_in_s": remaining, "margin_s": margin, "resigned": acted}


# ---- validation (pure) -------------------------------------------------------------------------------------


def _constraints(target: str, params: Mapping[str, Any], description: dict | None, *,
                 needs_parent: bool = False, target_serves_parent: bool = False) -> list:
    zone, problems = zonedata._zone_problems(params, description)
    if zone is None or problems:
        return problems
    if not description.get("dnssec"):
        return [(None, f"lab {description['lab']} is not signed: DNSSEC faults need a topology with `dnssec:` "
                       f"(e.g. compose/signed.yml)")]
    info = description["zones"][zone]
    static = [z for z, v in description["zones"].items() if not v["primary"] and z != "."]
    if info["primary"]:
        return [("zone", f"{zone} is signed online by its primary {info['primary']}, which would re-sign over the "
                         f"fault; DNSSEC faults act on zones dnslab signs: {', '.join(static + ['.'])}")]
    if target in description["nodes"] and not target_serves_parent and not zonedata.holds(description, target, zone):
        return [(None, f"node {target!r} does not serve {zone}; its servers: {', '.join(info['servers'])}")]
    if needs_parent:
        parent = parent_zone(zone, description["zones"])
        if parent is None:
            return [("zone", f"{zone} has no parent: no DS to roll (the root's key is the resolvers' anchor)")]
        if description["zones"][parent]["primary"]:
            return [("zone", f"the parent {parent} of {zone} is signed online by its primary: dnslab cannot "
                             f"swap the DS there")]
        if target_serves_parent and target in description["nodes"] and not zonedata.holds(description, target, parent):
            return [(None, f"the DS of {zone} lives in {parent}: target one of its servers "
                           f"({', '.join(description['zones'][parent]['servers'])})")]
    return []


def _expire_constraints(target, params, description):
    return P.in_range("expires_in", params, 0, 86400) + _constraints(target, params, description)


def _negative_constraints(target, params, description):
    return P.in_range("negative_ttl", params, 0, 86400) + _constraints(target, params, description)


def _rollover_constraints(target, params, description):
    return _constraints(target, params, description, needs_parent=True)


def _ds_constraints(target, params, description):
    return _constraints(target, params, description, needs_parent=True, target_serves_parent=True)


_ZONE = Param(str, True, None, "the zone, signed by dnslab (e.g. shop.test.); every server of it is changed")

KINDS = {
    "expire-signatures": FaultKind(
        "expire-signatures", "dnssec",
        "re-sign the zone so every signature expires `expires_in` seconds from now (0: already expired) and "
        "stop re-signing; undo publishes the good signatures again",
        {"zone": _ZONE, "expires_in": Param(int, False, 0, "seconds until the signatures expire (default 0)")},
        _expire, _undo, _expire_constraints, single=True),
    "bogus-rrsig": FaultKind(
        "bogus-rrsig", "dnssec", "publish corrupted RRSIGs (one bit flipped) for `names`, default every name "
        "below the apex; the data is unchanged",
        {"zone": _ZONE, "names": Param(list[str], False, None, "owner names whose signatures go bad (default all)"),
         "verify": Param(bool, False, False, "the signer validates its output first and publishes nothing that "
                                             "fails (the mitigation; default false)")},
        _bogus, _undo, _constraints, single=True),
    "remove-dnskey": FaultKind(
        "remove-dnskey", "dnssec", "publish the zone without its DNSKEY RRset: nothing can be validated",
        {"zone": _ZONE}, _remove_dnskey, _undo, _constraints, single=True),
    "ksk-rollover": FaultKind(
        "ksk-rollover", "dnssec",
        "replace the zone's KSK by a new one; the parent publishes the new DS at once (update_parent) while "
        "resolvers still hold the old DS; double_signature keeps the old KSK signing the DNSKEY RRset too",
        {"zone": _ZONE,
         "double_signature": Param(bool, False, False, "publish and sign with old and new KSK (default false)"),
         "update_parent": Param(bool, False, True, "swap the DS in the parent (default true; false: the DS "
                                                   "never matches)")},
        _ksk_rollover, _undo, _rollover_constraints, single=True),
    "update-ds": FaultKind(
        "update-ds", "dnssec",
        "the parent publishes DS records for the KSKs the zone publishes now (after a ksk-rollover with "
        "update_parent=false: the DS change arriving late); undo restores the parent",
        {"zone": Param(str, True, None, "the child zone whose DS changes; target a server of its parent")},
        _update_ds, _undo, _ds_constraints, single=True),
    "wrong-denial": FaultKind(
        "wrong-denial", "dnssec",
        "re-sign the zone with an NSEC chain that proves `name` does not exist (it does): NXDOMAIN with a valid "
        "proof, cached for the negative TTL",
        {"zone": _ZONE, "name": Param(str, True, None, "an existing name to deny"),
         "negative_ttl": Param(int, False, None, "SOA minimum (and SOA TTL) while the fault holds (default: "
                                                 "the zone's)")},
        _wrong_denial, _undo, _negative_constraints, single=True),
}
