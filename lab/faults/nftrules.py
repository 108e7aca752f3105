"""nftables rule text for network faults, run inside a target's network namespace. Pure.

Each fault gets a table of its own (`inet dnslab_<fault id>`), so faults come and go independently and
undo is one `delete table`. Incoming packets are matched at prerouting before NAT (priority raw), so a
port-53 rule still sees port 53 when dnsdist's redirect is in place too; loopback is always exempt
(dnsdist talks to the real server over 127.0.0.1). Every table whose name starts with `dnslab` is ours:
that is what a sweep removes.
"""

from __future__ import annotations

PREFIX = "dnslab"
REDIRECT_TABLE = f"{PREFIX}_dnsdist"


def table_name(fault_id: str) -> str:
    return f"{PREFIX}_" + "".join(c if c.isalnum() else "_" for c in fault_id)


def filter_table(name: str, incoming: list[str], outgoing: list[str]) -> str:
    lines = [f"table inet {name} {{",
             "  chain incoming {", "    type filter hook prerouting priority raw; policy accept;",
             '    iifname "lo" accept']
    lines += [f"    {rule}" for rule in incoming]
    lines += ["  }", "  chain outgoing {", "    type filter hook output priority raw; policy accept;",
              '    oifname "lo" accept']
    lines += [f"    {rule}" for rule in outgoing]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


# What a partition does with the peers' packets: `drop` (silence: senders wait out their timeouts) or `reject`
# (the route is gone: an ICMP unreachable, the sender fails at once). The codes are the ones Linux hands a UDP
# socket as a hard error: host-prohibited (EHOSTUNREACH, "No route to host") and ICMPv6 reject-route (EACCES).
# Plain host-unreachable is a transient error (RFC 1122 3.2.2.1; icmp_err_convert in net/ipv4/icmp.c): a UDP
# socket without IP_RECVERR never sees it, and the resolvers time out as with drop (measured).
HOW = ("drop", "reject")
_REJECT = {"ip": "reject with icmp type host-prohibited", "ip6": "reject with icmpv6 type reject-route"}


def partition(fault_id: str, peers: list[str], how: str = "drop") -> str:
    """Drop (or reject) every packet from and to the peers' addresses (IPv4 and, dual-stack, IPv6 ones).

    Rejected, a peer's packet coming in is answered with an ICMP unreachable by this node's kernel, at most
    one a second per peer after a burst of six (net.ipv4.icmp_ratelimit, as a router limits them); a packet
    this node sends to a peer fails in the sender at once (its own ICMP error comes back over loopback,
    unlimited), so the side whose packets should fail is the one to put the rules on. The unreachables this
    node sends must leave: an ICMP error is never answered with another, so the outgoing reject rule would
    silently drop them."""
    incoming, outgoing = [], []
    if how == "reject":
        outgoing += ["icmp type destination-unreachable accept", "icmpv6 type destination-unreachable accept"]
    for family, members in (("ip", [p for p in peers if ":" not in p]), ("ip6", [p for p in peers if ":" in p])):
        if members:
            peer_set = "{ " + ", ".join(members) + " }"
            action = _REJECT[family] if how == "reject" else "drop"
            incoming.append(f"{family} saddr {peer_set} {action}")
            outgoing.append(f"{family} daddr {peer_set} {action}")
    return filter_table(table_name(fault_id), incoming, outgoing)


def loss(fault_id: str, percent: float) -> str:
    """Drop `percent` % of packets in each direction, independently per packet."""
    # numgen draws 0..99, so "< N" drops N %; nft rejects 100 as out of range: 100 % is a plain drop.
    threshold = round(percent)
    rules = [] if threshold <= 0 else ["drop"] if threshold >= 100 else [f"numgen random mod 100 < {threshold} drop"]
    return filter_table(table_name(fault_id), rules, rules)


def block_port(fault_id: str, proto: str, port: int) -> str:
    """Drop packets to the port: queries coming in, and queries the node sends out (a resolver's upstream)."""
    protos = ("udp", "tcp") if proto == "both" else (proto,)
    rules = [f"{p} dport {port} drop" for p in protos]
    return filter_table(table_name(fault_id), rules, rules)


def redirect(port: int, ipv6: bool = False) -> str:
    """Send DNS arriving from outside to dnsdist on `port`; dnsdist's own queries to 127.0.0.1:53 are local
    output, which prerouting never sees. Replaces the redirect if one is in place (one transaction).
    Dual-stack (`ipv6`): queries over IPv6 too, from an inet table."""
    family = redirect_family(ipv6)
    return absent(family, REDIRECT_TABLE) + "\n".join([
        f"table {family} {REDIRECT_TABLE} {{",
        "  chain incoming {", "    type nat hook prerouting priority dstnat; policy accept;",
        f"    udp dport 53 redirect to :{port}", f"    tcp dport 53 redirect to :{port}", "  }", "}",
    ]) + "\n"


def delete(family: str, table: str) -> str:
    return f"delete table {family} {table}\n"


def redirect_family(ipv6: bool) -> str:
    return "inet" if ipv6 else "ip"


def absent(family: str, table: str) -> str:
    """Remove the table whether or not it exists: declaring it first makes the delete always valid."""
    return f"table {family} {table} {{}}\n" + delete(family, table)


# Shell run by a sweep: delete every dnslab table in this namespace, print what went.
SWEEP_SCRIPT = (
    f"nft list tables | while read -r _ family name; do case \"$name\" in {PREFIX}*) "
    "nft delete table \"$family\" \"$name\" && echo \"$family $name\";; esac; done"
)
