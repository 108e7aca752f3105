"""The app agents in real containers before any topology knows them: a real Unbound answering the service
names, real services, apps of every resolver model, two lease workloads — and one DNS outage (docker pause)
that every one of them lives through on the same timeline (lab.agents.app, service, workload; docs/apps.md).

Plain docker-py: one internal network (IPv4 and IPv6) labelled for the session's sweep, the agents' source
put into each container before it starts, everything removed in a finally. The timeline, about 40 s:
warm-up until every app has succeeded, OUTAGE seconds with the DNS server paused, AFTER seconds after it.
"""

from __future__ import annotations

import datetime
import io
import ipaddress
import json
import os
import tarfile
import time
from pathlib import Path

import docker.errors
import docker.types
import pytest

from lab import appfigures, serverstats
from lab.checks import judge
from tests.integration.conftest import lab_name

REPO = Path(__file__).resolve().parents[2]
OUTAGE = 10.0  # longer than the workload's lease ttl + renew period, and the jvm cache's positive time
AFTER = 15.0
NSCD_PRUNE = 15  # nscd's CACHE_PRUNE_INTERVAL (glibc nscd/connections.c)
TIMEOUT, ATTEMPTS = 1, 2  # resolv.conf of the apps: a failed lookup takes TIMEOUT * ATTEMPTS seconds
JVM_POSITIVE, JVM_NEGATIVE = 4, 2
DNSMASQ_MIN_TTL = 8  # dnsmasq keeps the 2 s answers this long (min-cache-ttl)
DNS_TTL = 2
NSCD_NEGATIVE = 4
LEASES = 100
V6 = ipaddress.ip_network("fd53:a5::/64")

pytestmark = pytest.mark.timeout(240)


def _free_subnet(client) -> ipaddress.IPv4Network:
    taken = [ipaddress.ip_network(c["Subnet"]) for n in client.networks.list()
             for c in (n.attrs.get("IPAM") or {}).get("Config") or [] if "Subnet" in c]
    for third in range(200, 250):
        candidate = ipaddress.ip_network(f"10.197.{third}.0/24")
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise RuntimeError("no free 10.197.x.0/24 for the apps network")


def _source_archive() -> bytes:
    """lab/__init__.py and lab/agents/*.py under /opt/dnslab, the image's PYTHONPATH."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in [REPO / "lab" / "__init__.py", *sorted((REPO / "lab" / "agents").glob("*.py"))]:
            tar.add(path, arcname=f"opt/dnslab/{path.relative_to(REPO)}")
    return buffer.getvalue()


def _file_archive(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name.lstrip("/"))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


UNBOUND_BASE = ["server:", "  interface: 0.0.0.0", "  do-ip6: no", "  access-control: 0.0.0.0/0 allow",
                '  username: ""', '  chroot: ""', '  directory: "/tmp"', '  pidfile: ""', "  do-daemonize: no",
                "  use-syslog: no", '  logfile: ""', '  module-config: "iterator"', "  extended-statistics: yes",
                # Closed world: a name outside test. is refused, never looked up with the built-in root hints.
                '  local-zone: "." refuse']
UNBOUND_CONTROL = ["remote-control:", "  control-enable: yes", "  control-interface: 127.0.0.1",
                   "  control-use-cert: no"]


def _data(name: str, address: str) -> str:
    return f"{name} {DNS_TTL} IN {'AAAA' if ':' in address else 'A'} {address}"


def _unbound_conf(answers: dict[str, list[str]]) -> str:
    """The DNS server of the apps: answers the test. names itself (a static zone, TTL DNS_TTL)."""
    lines = UNBOUND_BASE + ['  local-zone: "test." static',
                            f'  local-data: "test. {DNS_TTL} IN SOA ns.test. host.test. 1 60 60 60 {DNS_TTL}"']
    lines += [f'  local-data: "{_data(name, address)}"' for name, addresses in answers.items() for address in addresses]
    return "\n".join(lines + UNBOUND_CONTROL) + "\n"


def _resolver_conf(upstream: str) -> str:
    """A recursive Unbound that asks `upstream` for test. (the storm's resolvers)."""
    lines = UNBOUND_BASE + ['  local-zone: "test." transparent', "stub-zone:", '  name: "test."',
                            f"  stub-addr: {upstream}"]
    return "\n".join(lines + UNBOUND_CONTROL) + "\n"


class World:
    """The containers of this module, created on one network and always removed."""

    def __init__(self, client, image: str):
        self.client, self.image = client, image
        self.lab = lab_name("apps")
        self.labels = {"dnslab.lab": self.lab}
        self.containers: dict[str, object] = {}
        self.network = None
        self.source = _source_archive()

    def create_network(self) -> None:
        self.subnet = _free_subnet(self.client)
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(self.subnet)),
                                                     docker.types.IPAMPool(subnet=str(V6))])
        # internal: nothing in it reaches beyond the lab's own containers
        self.network = self.client.networks.create(f"{self.lab}-net", driver="bridge", internal=True,
                                                   enable_ipv6=True, ipam=ipam, labels=self.labels)

    def v4(self, host: int) -> str:
        return str(self.subnet.network_address + host)

    def v6(self, host: int) -> str:
        return str(V6.network_address + host)

    def start(self, name: str, host: int, command: list[str], files: dict[str, str] | None = None) -> None:
        api = self.client.api
        networking = api.create_networking_config({self.network.name: api.create_endpoint_config(
            ipv4_address=self.v4(host), ipv6_address=self.v6(host))})
        created = api.create_container(
            self.image, command=command, name=f"{self.lab}-{name}", hostname=name, labels=self.labels,
            environment={"PYTHONPATH": "/opt/dnslab", "PYTHONDONTWRITEBYTECODE": "1"},
            host_config=api.create_host_config(network_mode=self.network.name, dns=[]),
            networking_config=networking)
        container = self.client.containers.get(created["Id"])
        self.containers[name] = container
        container.put_archive("/", self.source)
        if files:
            container.put_archive("/", _file_archive(files))
        container.start()

    def agent(self, name: str, host: int, module: str, spec: dict) -> None:
        self.start(name, host, ["python3", "-m", f"lab.agents.{module}", json.dumps(spec)])

    def lines(self, name: str) -> list[dict]:
        out = self.containers[name].logs(stdout=True, stderr=False).decode()
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def stderr(self, name: str) -> list[tuple[float, str]]:
        """(time the engine received it, text) of every line the container wrote to stderr."""
        out = self.containers[name].logs(stdout=False, stderr=True, timestamps=True).decode()
        lines = []
        for line in out.splitlines():
            stamp, _, text = line.partition(" ")
            whole, _, fraction = stamp.rstrip("Z").partition(".")
            seconds = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc).timestamp()
            lines.append((seconds + float("0." + (fraction or "0")), text))
        return lines

    def stop_agents(self, names: list[str]) -> None:
        """SIGTERM to the agents `names` at once (each exits within its current request), then wait for them."""
        for name in names:
            try:
                self.containers[name].kill(signal="SIGTERM")
            except docker.errors.APIError:
                pass
        for name in names:
            try:
                self.containers[name].wait(timeout=15)
            except Exception:  # noqa: BLE001 - removed with force in the finally anyway
                pass

    def exec(self, name: str, command: list[str]) -> str:
        result = self.containers[name].exec_run(command)
        assert result.exit_code == 0, (name, command, result.output.decode()[-300:])
        return result.output.decode()

    def remove(self) -> None:
        for container in self.containers.values():
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass
        if self.network is not None:
            try:
                self.network.remove()
            except docker.errors.APIError:
                pass


def _app(world: World, name: str, model: str, **extra) -> dict:
    spec = {"app": name, "model": model, "name": "svc.test.", "port": 80, "rate": 4, "request_timeout": 1,
            "resolv_conf": {"nameservers": [world.v4(2)], "timeout": TIMEOUT, "attempts": ATTEMPTS},
            "max_seconds": 120, "seed": 1}
    return spec | extra


def _workload(world: World, name: str, **extra) -> dict:
    spec = {"workload": name, "name": f"{name}.test.", "port": 80, "leases": LEASES, "renew_every": 1, "ttl": 3,
            "request_timeout": 0.5, "resolve_every": 0.5, "model": "glibc", "family": "ipv4",
            "resolv_conf": {"nameservers": [world.v4(2)], "timeout": 1, "attempts": 1},
            "max_seconds": 120, "seed": 2}
    return spec | extra


def _start_late(world: World, name: str) -> float:
    """Start the app `name` and return the time of its first attempt."""
    model, extra = APPS[name]
    world.agent(name, APP_HOSTS[name], "app", _app(world, f"app-{name}", model, **extra))
    _wait_until(lambda: any(appfigures.succeeded(a) for a in appfigures.attempts(world.lines(name))), 15,
                f"the {name} app's first success")
    return appfigures.attempts(world.lines(name))[0]["t"]


def _wait_until(predicate, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {within:.0f} s: {what}")


APPS = {  # container name -> (model, extra settings); nscd and dnsmasq start late (see timeline)
    "glibc": ("glibc", {}),
    "nscd": ("nscd", {"nscd": {"positive": 3600, "negative": NSCD_NEGATIVE}}),
    "dnsmasq": ("dnsmasq", {"dnsmasq": {"min_cache_ttl": DNSMASQ_MIN_TTL, "log_queries": True}}),
    "jvm": ("jvm", {"cache": {"positive": JVM_POSITIVE, "negative": JVM_NEGATIVE}}),
    "stale": ("stale-on-error", {}),
}
APP_HOSTS = {name: host for host, name in enumerate(APPS, start=21)}


NAMES = {"svc.test.": (10, True), "unthrottled.test.": (11, False), "throttled.test.": (12, False)}  # host, AAAA


@pytest.fixture(scope="module")
def world(engine, lab_image):
    """The network, the DNS server and the services every phase uses; always removed."""
    world = World(engine, lab_image)
    try:
        world.create_network()
        world.answers = {name: [world.v4(host)] + ([world.v6(host)] if v6 else [])
                         for name, (host, v6) in NAMES.items()}
        world.start("dns", 2, ["unbound", "-d", "-c", "/etc/unbound/apps.conf"],
                    {"/etc/unbound/apps.conf": _unbound_conf(world.answers)})
        world.agent("svc", 10, "service", {"service": "svc", "instance": "svc-1", "listen": ["0.0.0.0", "::"],
                                           "capacity": 8, "service_time": 0.005, "max_seconds": 300})
        for name, host in (("svc-u", 11), ("svc-t", 12)):  # the workloads' endpoint, one each
            world.agent(name, host, "service", {
                "service": name, "capacity": 4, "service_time": 0.005, "service_times": {"/establish": 0.05},
                "stats_every": 1, "max_seconds": 300, "seed": host})
        yield world
    finally:
        world.remove()


@pytest.fixture(scope="module")
def timeline(world):
    """Every app model and both workloads through one outage: the DNS server paused for OUTAGE seconds."""
    # Two caches refresh on cycles of their own, so their apps start late and the outage is placed against them:
    # - nscd prunes (and refreshes) its cache on a 15 s cycle from its start: its refresh, seen about 17 s
    #   after the app's first lookup, must fall into the outage (pause 12..16 s after that lookup);
    # - dnsmasq fetches again only at the first query after min-cache-ttl: its first answer must come 2..6 s
    #   before the outage, so that it is served from cache past its TTL and then expires inside the outage.
    early = [name for name in APPS if name not in ("nscd", "dnsmasq")]
    for name in early:
        model, extra = APPS[name]
        world.agent(name, APP_HOSTS[name], "app", _app(world, f"app-{name}", model, **extra))
    world.agent("unthrottled", 31, "workload", _workload(world, "unthrottled", throttle=None, jitter=False,
                                                         retry_delay=0.1))
    world.agent("throttled", 32, "workload", _workload(world, "throttled", throttle={"max_concurrent": 4},
                                                       jitter=True, backoff={"base": 0.1, "cap": 1.0}))
    agents = [*APPS, "unthrottled", "throttled"]
    started = time.time()
    _wait_until(lambda: all(any(appfigures.succeeded(a) for a in appfigures.attempts(world.lines(n))) for n in early)
                and all(len(appfigures.lease_reports(world.lines(w))) >= 3 for w in ("unthrottled", "throttled")),
                30, "the apps succeeded once and both workloads reported")
    nscd_first = _start_late(world, "nscd")
    time.sleep(max(0.0, nscd_first + 7 - time.time()))
    dnsmasq_first = _start_late(world, "dnsmasq")
    pause_at = min(max(dnsmasq_first + 4, nscd_first + 12), nscd_first + 16)
    time.sleep(max(0.0, pause_at - time.time()))
    dns = world.containers["dns"]
    paused = time.time()
    dns.pause()
    try:
        time.sleep(OUTAGE)
    finally:
        back = time.time()  # from here on the DNS server answers (unpause returns a little later)
        dns.unpause()
    time.sleep(AFTER)
    ended = time.time()
    world.stop_agents(agents)
    result = {"t0": started, "paused": paused, "back": back, "ended": ended, "world": world,
              "apps": {n: [a for a in appfigures.attempts(world.lines(n)) if a["t"] + a["latency_s"] < ended]
                       for n in APPS},
              "dnsmasq_log": world.stderr("dnsmasq"),
              "leases": {w: appfigures.lease_reports(world.lines(w)) for w in ("unthrottled", "throttled")},
              "services": {n: world.lines(n) for n in ("svc", "svc-u", "svc-t")}}
    if os.environ.get("DNSLAB_APPS_TIMELINE"):  # a copy of what the tests judge, for a look by hand
        Path(os.environ["DNSLAB_APPS_TIMELINE"]).write_text(
            json.dumps({k: v for k, v in result.items() if k != "world"}))
    return result


STORM = {"storm-immediate": (41, 51, {"policy": "immediate", "max": 5}),
         "storm-backoff": (42, 52, {"policy": "backoff", "max": 5, "base": 0.2, "cap": 2.0})}
STORM_BEFORE, STORM_DURING = 8.0, 10.0


@pytest.fixture(scope="module")
def storm(world, timeline):
    """Retry storms at a resolver: two glibc apps, each behind its own recursive Unbound, one retrying at once
    and one with backoff; the DNS server stops serving test. (it refuses: a lame delegation), the resolvers
    answer SERVFAIL at once, and their own counters (unbound-control) say how many queries came in."""
    for name, (resolver_host, app_host, policy) in STORM.items():
        resolver = f"res-{name}"
        world.start(resolver, resolver_host, ["unbound", "-d", "-c", "/etc/unbound/resolver.conf"],
                    {"/etc/unbound/resolver.conf": _resolver_conf(world.v4(2))})
        spec = _app(world, name, "glibc", retry=policy, family="ipv4")
        spec["resolv_conf"]["nameservers"] = [world.v4(resolver_host)]
        world.agent(name, app_host, "app", spec)
    _wait_until(lambda: all(any(appfigures.succeeded(a) for a in appfigures.attempts(world.lines(n))) for n in STORM),
                20, "both storm apps succeeded once")
    samples: list[dict] = []

    def sample_for(seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            for name in STORM:
                text = world.exec(f"res-{name}", ["unbound-control", "-c", "/etc/unbound/resolver.conf",
                                                  "stats_noreset"])
                samples.append({"t": time.time(), "server": f"res-{name}", "role": "resolver",
                                "software": "unbound", "stats": serverstats.parse("resolver", "unbound", text)})
            time.sleep(0.5)

    control = ["unbound-control", "-c", "/etc/unbound/apps.conf"]
    sample_for(STORM_BEFORE)
    world.exec("dns", control + ["local_zone", "test.", "refuse"])
    world.exec("dns", control + ["local_data_remove", "svc.test."])
    broken = time.time()  # from here on the DNS server refuses svc.test.
    sample_for(STORM_DURING)
    restored = time.time()
    world.exec("dns", control + ["local_zone", "test.", "static"])
    for address in world.answers["svc.test."]:
        world.exec("dns", control + ["local_data", _data("svc.test.", address)])
    world.stop_agents(list(STORM))
    return {"samples": samples, "broken": broken, "restored": restored,
            "apps": {n: appfigures.attempts(world.lines(n)) for n in STORM}}


def _report(timeline, name: str) -> str:
    """One line per app for the test log: what it saw, like the report will say."""
    attempts = timeline["apps"][name]
    seen = appfigures.outage(attempts, timeline["paused"], timeline["back"])
    first = seen["first_failure"]
    first_text = "none" if first is None else f"+{first['t'] - timeline['paused']:.1f} s"
    back = next(iter(appfigures.recovery(attempts, timeline["back"], timeline["paused"]).values()))
    return (f"{name}: first failure {first_text} after the pause, {seen['failures']}/{seen['attempts']} failed "
            f"in the outage; {back['text']} (times since the pause)")


def test_every_app_succeeded_before_the_outage_and_the_network_is_closed(timeline):
    world = timeline["world"]
    assert world.network.attrs["Internal"] is True
    before = (timeline["t0"], timeline["paused"])
    for name, attempts in timeline["apps"].items():
        share = appfigures.availability(attempts, window=before)[f"app-{name}"]["share"]
        assert share >= 0.9, (name, share)


def test_apps_reach_the_service_over_ipv6_first_as_getaddrinfo_orders_it(timeline):
    ok = [a for a in timeline["apps"]["glibc"] if appfigures.succeeded(a)]
    assert ok and {a["address"] for a in ok} == {timeline["world"].v6(10)}, {a["address"] for a in ok}
    assert {a["instance"] for a in ok} == {"svc-1"}


def test_glibc_fails_within_timeout_times_attempts_and_recovers(timeline):
    attempts = timeline["apps"]["glibc"]
    print(_report(timeline, "glibc"))
    during = [a for a in attempts if timeline["paused"] + 0.1 <= a["t"] and a["t"] + a["latency_s"] < timeline["back"]]
    assert during and all(a["resolution"] == "timeout" and a["request"] == "no-address" for a in during), during
    budget = TIMEOUT * ATTEMPTS
    assert all(budget - 0.2 <= a["resolve_s"] <= budget + 0.6 for a in during), [a["resolve_s"] for a in during]
    back = appfigures.recovered_at(attempts, timeline["back"])
    assert back is not None and back - timeline["back"] <= budget + 1.0, back


def test_jvm_keeps_succeeding_from_its_cache_until_it_expires(timeline):
    attempts = timeline["apps"]["jvm"]
    print(_report(timeline, "jvm"))
    paused, back = timeline["paused"], timeline["back"]
    lookups = [a for a in attempts if a["source"] == "system" and a["resolution"] == "ok" and a["t"] < paused]
    expires = lookups[-1]["t"] + lookups[-1]["resolve_s"] + JVM_POSITIVE
    in_outage = [a for a in attempts if paused <= a["t"] < back]
    cached = [a for a in in_outage if a["t"] < expires - 0.1]
    assert all(appfigures.succeeded(a) and a["source"] == "cache" for a in cached), cached
    after = [a for a in in_outage if a["t"] >= expires + 0.1 and a["t"] + a["latency_s"] < back]
    assert after and not any(appfigures.succeeded(a) for a in after), after
    # Java caches the failure too: negative-cache answers, then a recovery no later than its negative ttl
    # plus one lookup after DNS is back.
    assert any(a["source"] == "negative-cache" for a in after)
    recovered = appfigures.recovered_at(attempts, back)
    assert recovered is not None and recovered - back <= JVM_NEGATIVE + TIMEOUT * ATTEMPTS + 1.0


def test_stale_on_error_never_fails_through_the_outage(timeline):
    attempts = timeline["apps"]["stale"]
    print(_report(timeline, "stale"))
    assert all(appfigures.succeeded(a) for a in attempts), [a for a in attempts if not appfigures.succeeded(a)]
    stale = [a for a in attempts if a["source"] == "stale"]
    assert stale and {a["underlying"] for a in stale} == {"timeout"}


def test_dnsmasq_serves_past_the_dns_ttl_up_to_its_min_cache_ttl(timeline):
    """dnsmasq raises the 2 s TTL to min-cache-ttl: its cache answers that long after its last upstream reply,
    then glibc times out asking a dnsmasq that has nobody to ask."""
    attempts = timeline["apps"]["dnsmasq"]
    print(_report(timeline, "dnsmasq"))
    paused, back = timeline["paused"], timeline["back"]
    replies = {}  # query type -> time of dnsmasq's last upstream reply before the pause
    for t, text in timeline["dnsmasq_log"]:
        if t < paused and "reply svc.test is" in text:
            replies[":" in text.rsplit(" ", 1)[-1]] = t
    assert len(replies) == 2, replies  # A and AAAA
    first_reply, last_reply = min(replies.values()), max(replies.values())
    assert paused - 6.4 < first_reply and last_reply < paused - 2, "the dnsmasq app started off its mark"
    # dnsmasq counts TTLs in whole seconds: an entry ends up to 1 s before its TTL is over.
    cached = [a for a in attempts if paused <= a["t"] <= first_reply + DNSMASQ_MIN_TTL - 1.3]
    assert cached and all(appfigures.succeeded(a) for a in cached), cached
    # In the outage, answers kept coming from dnsmasq's cache after the 2 s TTL would have ended them ...
    assert any(a["t"] > last_reply + DNS_TTL + 0.3 for a in cached), (last_reply, cached)
    # ... until min-cache-ttl ended them too: glibc then times out asking a dnsmasq with nobody to ask.
    expired = [a for a in attempts if last_reply + DNSMASQ_MIN_TTL + 0.3 <= a["t"] and a["t"] + a["latency_s"] <= back]
    assert expired and all(a["resolution"] == "timeout" for a in expired), expired
    assert appfigures.recovered_at(attempts, back) - back <= TIMEOUT * ATTEMPTS + 1.0


def test_nscd_turns_a_timed_out_refresh_into_a_cached_host_not_found(timeline):
    """getaddrinfo asks nscd (GETAI). nscd refreshes its entry on its pruning cycle; the refresh that times out
    in the outage replaces the entry by a negative one (host not found), which the next pruning cycle — not
    negative-time-to-live — removes. The app never waits for DNS, but fails with NXDOMAIN after DNS is back."""
    attempts = timeline["apps"]["nscd"]
    print(_report(timeline, "nscd"))
    paused, back = timeline["paused"], timeline["back"]
    assert max(a["resolve_s"] for a in attempts) < 0.5  # every answer came from nscd's cache, good or bad
    seen = appfigures.outage(attempts, paused, back)
    assert all(appfigures.succeeded(a) for a in attempts if paused <= a["t"] <= paused + 1)  # cached at first
    first = seen["first_failure"]
    assert first is not None and first["resolution"] == "nxdomain", seen
    failures = [a for a in attempts if not appfigures.succeeded(a) and a["t"] > paused]
    assert {a["resolution"] for a in failures} == {"nxdomain"}
    recovered = appfigures.recovered_at(attempts, back)
    assert recovered is not None
    # Back much later than DNS (and than NSCD_NEGATIVE after the failure), within one pruning cycle of it.
    assert recovered - back > TIMEOUT * ATTEMPTS + 1.0, recovered - back
    assert recovered - first["t"] <= NSCD_PRUNE + 2.0, recovered - first["t"]


def test_unthrottled_reestablishment_stays_collapsed_after_dns_is_back(timeline):
    reports = timeline["leases"]["unthrottled"]
    before = appfigures.goodput(reports, (timeline["paused"] - 3, timeline["paused"]))
    tail = appfigures.goodput(reports, (timeline["back"] + AFTER / 2, timeline["back"] + AFTER))
    print(f"unthrottled: goodput {before}/s before, {tail}/s in the last {AFTER / 2:.0f} s; "
          f"leases at the end {reports[-1]['leases']}")
    assert before >= 0.8 * LEASES, before  # one renewal a second per lease: healthy
    assert tail <= 0.1 * before, (before, tail)
    assert reports[-1]["leases"]["active"] <= 0.2 * LEASES, reports[-1]
    assert appfigures.workload_recovered_at(reports, timeline["back"]) is None
    service = [s for s in timeline["services"]["svc-u"] if s["kind"] == "stats"]
    assert service[-1]["abandoned"] > LEASES, service[-1]  # the work nobody waited for


def test_throttled_reestablishment_with_jitter_recovers_in_bounded_time(timeline):
    reports = timeline["leases"]["throttled"]
    recovered = appfigures.workload_recovered_at(reports, timeline["back"])
    before = appfigures.goodput(reports, (timeline["paused"] - 3, timeline["paused"]))
    tail = appfigures.goodput(reports, (timeline["back"] + AFTER / 2, timeline["back"] + AFTER))
    print(f"throttled: all leases back {recovered - timeline['back']:.1f} s after DNS, goodput {before}/s "
          f"before, {tail}/s after")
    assert recovered is not None and recovered - timeline["back"] <= 6.0
    assert reports[-1]["leases"]["active"] == LEASES, reports[-1]
    assert tail >= 0.6 * before, (before, tail)  # about all of it; a busy machine costs some
    # The outage itself took every lease: recovery was a real re-establishment, not luck.
    during = [r for r in reports if timeline["paused"] + 5 <= r["t"] <= timeline["back"]]
    assert during and all(r["leases"]["active"] == 0 for r in during), during


def test_immediate_retries_multiply_the_queries_a_resolver_gets_and_backoff_does_not(storm):
    fault = {"id": "lame", "kind": "lame-delegation", "target": "dns"}
    events = [{"t": storm["samples"][0]["t"], "event": "run_started"},
              {"t": storm["broken"], "event": "fault_injected", **fault},
              {"t": storm["restored"], "event": "fault_cleared", **fault}]
    immediate, backoff = judge([
        {"check": "amplification", "servers": ["res-storm-immediate"], "min": 3, "baseline": STORM_BEFORE},
        {"check": "amplification", "servers": ["res-storm-backoff"], "max": 1.5, "baseline": STORM_BEFORE},
    ], [], events, samples=storm["samples"])
    print(immediate.detail)
    print(backoff.detail)
    assert immediate.ok and backoff.ok, (immediate.detail, backoff.detail)
    factor = {result.data["faults"][0]["by_server"].popitem()[1]["factor"] for result in (immediate, backoff)}
    assert max(factor) > 3 * min(factor)
    # What the storm was made of: SERVFAIL answered at once, every attempt retried the allowed five times.
    broken = [a for a in storm["apps"]["storm-immediate"]
              if storm["broken"] + DNS_TTL + 1.5 < a["t"] < storm["restored"] - 1]  # the resolver's cache ran out
    failed = [a for a in broken if not appfigures.succeeded(a)]
    assert len(failed) == len(broken), [a for a in broken if appfigures.succeeded(a)]
    assert failed and {a["resolution"] for a in failed} == {"servfail"}, {a["resolution"] for a in failed}
    assert {a["retry"] for a in failed} == set(range(6))
