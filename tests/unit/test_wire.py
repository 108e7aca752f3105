"""The prober's fast path (lab.agents.wire) must read every message exactly as dnspython does, or decline it.

Messages are generated record by record (so rrsets can repeat, interleave and carry duplicates, which a
dnspython-rendered message never does), sometimes compressed by dnspython, then mangled: cut short, a byte
changed, junk appended. Whenever the fast path answers, the slow path (dnspython) must give the same.
"""

from __future__ import annotations

import os
import struct

import dns.message
import dns.name
from hypothesis import HealthCheck, given, settings, strategies as st

from lab.agents import wire
from lab.agents.prober import read

QUERY = dns.message.make_query("dynamodb.us-east-1.cloud.test.", "A").to_wire()
QUERY_ID = int.from_bytes(QUERY[:2], "big")
ASKED = wire.question(QUERY)
EXAMPLES = int(os.environ.get("DNSLAB_FUZZ_EXAMPLES", "400"))

OWNERS = ["dynamodb.us-east-1.cloud.test.", "DynamoDB.US-East-1.cloud.test.", "lb.cloud.test.", "a.b.test.", "."]


def name_wire(text: str) -> bytes:
    return dns.name.from_text(text).to_wire()


def rr(owner: str, rdtype: int, ttl: int, rdata: bytes, rdclass: int = 1) -> bytes:
    return name_wire(owner) + struct.pack("!HHIH", rdtype, rdclass, ttl, len(rdata)) + rdata


plain = st.one_of(
    st.builds(lambda o, t, a: rr(o, 1, t, bytes(a)), st.sampled_from(OWNERS), st.integers(0, 2**32 - 1),
              st.lists(st.integers(0, 255), min_size=4, max_size=4)),
    st.builds(lambda o, t, a: rr(o, 1, t, bytes([10, 0, 0, a])), st.sampled_from(OWNERS), st.integers(0, 600),
              st.integers(1, 3)),  # few distinct addresses: duplicates happen
    st.builds(lambda o, t, c: rr(o, 5, t, name_wire(c)), st.sampled_from(OWNERS), st.integers(0, 600),
              st.sampled_from(OWNERS)),
)
unusual = st.one_of(
    st.builds(lambda o, t: rr(o, 16, t, b"\x05gen=7"), st.sampled_from(OWNERS), st.integers(0, 600)),  # TXT
    st.builds(lambda o: rr(o, 6, 60, name_wire("ns.test.") + name_wire("h.test.") + bytes(20)),
              st.sampled_from(OWNERS)),  # SOA
    st.builds(lambda o: rr(o, 1, 60, bytes(4), rdclass=3), st.sampled_from(OWNERS)),  # class CH
    st.builds(lambda o: rr(o, 1, 60, bytes(5)), st.sampled_from(OWNERS)),  # A with a wrong length
)
records = st.tuples(st.integers(0, 14), plain, unusual).map(lambda t: t[2] if t[0] == 0 else t[1])  # mostly plain


@st.composite
def messages(draw) -> bytes:
    rare = st.integers(0, 9).map(lambda n: n == 0)  # true one time in ten
    ident = (QUERY_ID + 1) % 65536 if draw(rare) else QUERY_ID
    flags = 0x8000 | draw(st.sampled_from([0, 0x0400, 0x0080, 0x0200, 0x0100])) | draw(st.integers(0, 15))
    if draw(rare):
        flags = draw(st.integers(0, 65535))  # anything: a query, another opcode, ...
    question = QUERY[12:] if not draw(rare) else draw(st.sampled_from([
        QUERY[12:].upper(), name_wire("other.test.") + QUERY[-4:], QUERY[12:-4] + struct.pack("!HH", 28, 1)]))
    answer = draw(st.lists(records, max_size=6))
    authority = draw(st.lists(records, max_size=2)) if draw(rare) else []
    additional = [draw(st.sampled_from([rr(".", 41, 0, b""), rr("x.test.", 1, 5, bytes(4))]))] if draw(rare) else []
    header = struct.pack("!6H", ident, flags, 1, len(answer), len(authority), len(additional))
    return header + question + b"".join(answer + authority + additional)


def variant(data, message: bytes) -> bytes:
    """The message as dnspython renders it (compressed, rrsets merged) or as built; maybe mangled."""
    if data.draw(st.booleans(), label="rendered by dnspython"):
        try:
            message = dns.message.from_wire(message).to_wire()
        except Exception:  # noqa: BLE001 - not every generated message is one dnspython reads
            pass
    mangle = data.draw(st.sampled_from(["none"] * 5 + ["cut", "byte", "junk"]), label="mangle")
    if mangle == "cut":
        return message[:data.draw(st.integers(0, len(message)))]
    if mangle == "byte" and message:
        at = data.draw(st.integers(0, len(message) - 1))
        return message[:at] + bytes([data.draw(st.integers(0, 255))]) + message[at + 1:]
    if mangle == "junk":
        return message + data.draw(st.binary(min_size=1, max_size=4))
    return message


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.data())
def test_the_fast_path_reads_a_message_as_dnspython_does_or_declines(built, data):
    message = variant(data, built)
    fast = wire.decode(message, QUERY_ID, ASKED)
    if fast is not None:
        assert fast == read(message, QUERY, "A", QUERY_ID, None)


def test_a_plain_answer_takes_the_fast_path():
    query = dns.message.from_wire(QUERY)
    response = dns.message.make_response(query)
    for address in ("192.0.2.10", "192.0.2.11", "192.0.2.10"):
        response.answer.append(dns.rrset.from_text(query.question[0].name, 30, "IN", "A", address))
    message = response.to_wire()
    assert wire.decode(message, QUERY_ID, ASKED) == ("NOERROR", ["192.0.2.10", "192.0.2.11"], 30, False)
    assert read(message, QUERY, "A", QUERY_ID, None) == ("NOERROR", ["192.0.2.10", "192.0.2.11"], 30, False)


def test_what_the_fast_path_does_not_read_goes_to_dnspython():
    query = dns.message.from_wire(QUERY)
    nodata = dns.message.make_response(query)
    nodata.authority.append(dns.rrset.from_text("cloud.test.", 60, "IN", "SOA", "ns. h. 1 2 3 4 5"))
    assert wire.decode(nodata.to_wire(), QUERY_ID, ASKED) is None
    assert read(nodata.to_wire(), QUERY, "A", QUERY_ID, ASKED) == ("NOERROR", [], None, False)
    other = dns.message.make_response(query)
    other.id ^= 1
    assert read(other.to_wire(), QUERY, "A", QUERY_ID, ASKED) is None  # not ours: keep waiting
    assert read(b"\x00", QUERY, "A", QUERY_ID, ASKED).startswith("bad answer: ")
