"""What the lab knows about each server implementation: its config template, how it runs in the
foreground inside a container, which directories it must be able to write, how it tells its version."""

from __future__ import annotations

from dataclasses import dataclass

# A client or agent container idles until we exec into it; the trap makes `docker stop` immediate.
IDLE = ["sh", "-c", "trap 'exit 0' TERM INT; sleep infinity & wait"]


@dataclass(frozen=True)
class Software:
    label: str  # what `status` shows
    template: str | None  # template under templates/, rendered to /lab/node/<config>
    config: str | None
    command: tuple[str, ...]
    writable: tuple[str, ...] = ()  # tmpfs directories the server writes (caches, journals, sockets)
    version: str = "true"  # shell command that prints the version on its first line
    ipv4_only: tuple[str, ...] = ()  # arguments of `command` that keep it off IPv6: dropped in a dual-stack lab

    def command_for(self, ipv6: bool) -> list[str]:
        return [arg for arg in self.command if not (ipv6 and arg in self.ipv4_only)]


# Keyed by (role, software): BIND is both an authoritative server and a resolver.
SOFTWARE: dict[tuple[str, str], Software] = {
    ("authoritative", "bind"): Software(
        "BIND", "named-auth.conf.j2", "named.conf",
        ("named", "-g", "-4", "-c", "/lab/node/named.conf"), ("/var/cache/bind",), "named -v", ("-4",)),
    ("authoritative", "knot"): Software(
        "Knot DNS", "knot.conf.j2", "knot.conf",
        ("knotd", "-c", "/lab/node/knot.conf"), ("/var/lib/knot", "/run/knot"), "knotd -V"),
    ("authoritative", "nsd"): Software(
        "NSD", "nsd.conf.j2", "nsd.conf",
        ("nsd", "-d", "-c", "/lab/node/nsd.conf"), ("/var/lib/nsd",), "nsd -v 2>&1"),
    ("resolver", "unbound"): Software(
        "Unbound", "unbound.conf.j2", "unbound.conf",
        ("unbound", "-d", "-c", "/lab/node/unbound.conf"), (), "unbound -V"),
    ("resolver", "bind"): Software(
        "BIND", "named-resolver.conf.j2", "named.conf",
        ("named", "-g", "-4", "-c", "/lab/node/named.conf"), ("/var/cache/bind",), "named -v", ("-4",)),
    ("resolver", "knot-resolver"): Software(
        "Knot Resolver", "kresd.conf.j2", "kresd.conf",
        ("kresd", "-n", "-c", "/lab/node/kresd.conf", "/var/cache/knot-resolver"),
        ("/var/cache/knot-resolver",), "kresd -V"),
    ("resolver", "pdns-recursor"): Software(
        "PowerDNS Recursor", "recursor.conf.j2", "recursor.conf",
        ("pdns_recursor", "--config-dir=/lab/node"), ("/run/pdns-recursor",),
        "pdns_recursor --version 2>&1 | grep -o 'PowerDNS Recursor [0-9.]*'"),
    ("client", "tools"): Software("dig, kdig, dnsperf", None, None, tuple(IDLE), (), "dig -v 2>&1"),
    # Pipeline agents run from the source tree mounted at /opt/dnslab (lab/agents/planner.py, enactor.py).
    ("agent", "planner"): Software("dnslab planner", None, None, ("python3", "-m", "lab.agents.planner"), (),
                                   "python3 --version"),
    ("agent", "enactor"): Software("dnslab enactor", None, None, ("python3", "-m", "lab.agents.enactor"), (),
                                   "python3 --version"),
    # The plan store over HTTP, for agents spread over engines (lab/agents/planstore.py).
    ("agent", "planstore"): Software("dnslab plan store", None, None, ("python3", "-m", "lab.agents.planstore"),
                                     (), "python3 --version"),
    # What applications see (lab.topology.appnodes): a service's agent is its command (nodespec gives it its
    # settings); apps and workloads idle until a run starts their agent, as a client's prober.
    ("service", "http"): Software("dnslab service (HTTP)", None, None, ("python3", "-m", "lab.agents.service"), (),
                                  "python3 --version"),
    **{("app", model): Software(f"dnslab app ({model})", None, None, tuple(IDLE), (), "python3 --version")
       for model in ("glibc", "nscd", "dnsmasq", "jvm", "stale-on-error")},
    ("workload", "lease-manager"): Software("dnslab lease workload", None, None, tuple(IDLE), (), "python3 --version"),
}


def software_of(role: str, software: str) -> Software:
    return SOFTWARE[(role, software)]
