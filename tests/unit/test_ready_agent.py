"""The up check's standard-library question (lab.agents.ready) against dnspython's reading of the same
messages, over real sockets on this machine."""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from lab.agents import ready


@pytest.mark.parametrize("name,qtype,rd", [(".", "SOA", False), ("cloud.test.", "SOA", False),
                                           ("dynamodb.us-east-1.cloud.test", "A", True), ("api.cloud.test.", "TXT", True)])
def test_query_is_what_dnspython_reads(name, qtype, rd):
    ident, wire = ready.query(name, dns.rdatatype.from_text(qtype).value, rd)
    message = dns.message.from_wire(wire)
    assert message.id == ident
    assert message.question[0].name == dns.name.from_text(name)
    assert message.question[0].rdtype == dns.rdatatype.from_text(qtype)
    assert bool(message.flags & dns.flags.RD) == rd
    assert message.edns < 0


class Server:
    """A UDP server on localhost answering each question as `reply(query)` says (None: no answer)."""

    def __init__(self, reply):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            for answer in self.reply(dns.message.from_wire(data)):
                self.sock.sendto(answer.to_wire(), peer)


@pytest.mark.parametrize("rcode,aa", [("NOERROR", True), ("NOERROR", False), ("SERVFAIL", False), ("REFUSED", False),
                                      ("NXDOMAIN", True)])
def test_reads_rcode_and_aa(rcode, aa):
    def reply(query):
        answer = dns.message.make_response(query)
        answer.set_rcode(dns.rcode.from_text(rcode))
        answer.flags = (answer.flags | dns.flags.AA) if aa else (answer.flags & ~dns.flags.AA)
        return [answer]
    server = Server(reply)
    assert ready.ask("127.0.0.1", "cloud.test.", 6, False, port=server.port) == {"rcode": rcode, "aa": aa, "error": None}


def test_an_answer_to_another_question_is_not_ours():
    def reply(query):
        stale = dns.message.make_response(query)
        stale.id = (query.id + 1) % 65536
        stale.set_rcode(dns.rcode.SERVFAIL)
        return [stale, dns.message.make_response(query)]
    server = Server(reply)
    assert ready.ask("127.0.0.1", ".", 6, port=server.port)["rcode"] == "NOERROR"


def test_a_port_nobody_listens_on_is_refused_not_a_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = ready.ask("127.0.0.1", ".", 6, timeout=30, port=port)
    assert result["rcode"] is None and result["error"].startswith("ConnectionRefusedError")


def test_silence_is_a_timeout():
    server = Server(lambda query: [])
    assert ready.ask("127.0.0.1", ".", 6, timeout=0.05, port=server.port)["error"] == "timeout"


def test_until_asks_again_until_the_answer_is_authoritative():
    seen = []

    def reply(query):
        seen.append(query.id)
        answer = dns.message.make_response(query)
        if len(seen) < 3:
            answer.set_rcode(dns.rcode.SERVFAIL)
        else:
            answer.flags |= dns.flags.AA
        return [answer]
    server = Server(reply)
    [result] = ready.run({"queries": [{"server": "127.0.0.1", "port": server.port, "name": ".", "qtype": 6}],
                          "until": "aa", "deadline": 30, "every": 0.01})
    assert result == {"rcode": "NOERROR", "aa": True, "error": None} and len(seen) == 3
    [once] = ready.run({"queries": [{"server": "127.0.0.1", "port": server.port, "name": ".", "qtype": 6}]})
    assert once["aa"] and len(seen) == 4
