"""The app models without containers: getaddrinfo's errors as outcomes, the jvm cache and stale-on-error
with a fake clock, retry schedules, and an app's attempts and retries (lab.agents.lookup, retry, app)."""

from __future__ import annotations

import io
import json
import random
import socket

import pytest

from lab.agents import lookup, retry
from lab.agents.app import App
from lab.agents.lookup import Answer, JvmCache, StaleOnError, SystemResolver


class Clock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeGetaddrinfo:
    """Answers like socket.getaddrinfo from a script: a list of addresses, or a gai errno to raise; each
    call may take `seconds` on the fake clock."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.result: list[str] | int = ["192.0.2.10"]
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, name, port, family, kind):
        self.calls += 1
        self.clock.advance(self.seconds)
        if isinstance(self.result, int):
            raise socket.gaierror(self.result, "scripted failure")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, kind, 6, "", (a, 0)) for a in self.result]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def gai(clock):
    return FakeGetaddrinfo(clock)


def system(gai, clock, timeout=1.0):
    return SystemResolver("any", timeout, getaddrinfo=gai, clock=clock)


# ---- getaddrinfo's answers --------------------------------------------------------------------------------

def test_addresses_keep_getaddrinfos_order_without_repeats(gai, clock):
    gai.result = ["fd53::10", "192.0.2.10", "fd53::10"]  # one entry per socket type in real life
    answer = system(gai, clock).resolve("svc.test.")
    assert (answer.outcome, answer.addresses, answer.source) == ("ok", ("fd53::10", "192.0.2.10"), "system")


@pytest.mark.parametrize("errno, seconds, outcome", [
    (socket.EAI_NONAME, 0.0, "nxdomain"),
    (socket.EAI_NODATA, 0.0, "nodata"),
    (socket.EAI_AGAIN, 2.0, "timeout"),   # a lookup that waited out the resolv.conf timeout
    (socket.EAI_AGAIN, 0.01, "servfail"),  # answered at once: a SERVFAIL from every server
    (socket.EAI_FAIL, 0.0, "error"),
])
def test_getaddrinfo_errors_become_outcomes(gai, clock, errno, seconds, outcome):
    gai.result, gai.seconds = errno, seconds
    answer = system(gai, clock, timeout=1.0).resolve("svc.test.")
    assert answer.outcome == outcome and answer.addresses == () and answer.detail.startswith("EAI_")
    assert answer.seconds == pytest.approx(seconds)


# ---- jvm ----------------------------------------------------------------------------------------------------

def test_jvm_keeps_a_success_for_its_positive_time_then_asks_again(gai, clock):
    jvm = JvmCache(system(gai, clock), positive=30, negative=10, clock=clock)
    assert jvm.resolve("svc.test.").source == "system"
    clock.advance(29.9)
    gai.result = socket.EAI_AGAIN  # DNS is down: the cache does not know
    cached = jvm.resolve("svc.test.")
    assert (cached.outcome, cached.source, cached.seconds, gai.calls) == ("ok", "cache", 0.0, 1)
    clock.advance(0.1)
    assert jvm.resolve("svc.test.").outcome == "servfail" and gai.calls == 2


def test_jvm_caches_every_failure_for_its_negative_time_timeouts_too(gai, clock):
    jvm = JvmCache(system(gai, clock), positive=30, negative=10, clock=clock)
    gai.result, gai.seconds = socket.EAI_AGAIN, 2.0
    assert jvm.resolve("svc.test.").outcome == "timeout"
    gai.result, gai.seconds = ["192.0.2.10"], 0.0  # DNS is back ...
    clock.advance(9.9)
    again = jvm.resolve("svc.test.")  # ... but the app still sees the cached failure
    assert (again.outcome, again.source, gai.calls) == ("timeout", "negative-cache", 1)
    clock.advance(0.1)
    assert jvm.resolve("svc.test.").outcome == "ok" and gai.calls == 2


def test_jvm_times_count_from_the_end_of_the_lookup(gai, clock):
    gai.seconds = 2.0
    jvm = JvmCache(system(gai, clock), positive=5, negative=0, clock=clock)
    jvm.resolve("svc.test.")  # ends at +2
    clock.advance(4.9)
    assert jvm.resolve("svc.test.").source == "cache"


def test_jvm_forever_and_never(gai, clock):
    forever = JvmCache(system(gai, clock), positive=None, negative=0, clock=clock)
    forever.resolve("svc.test.")
    clock.advance(10**6)
    assert forever.resolve("svc.test.").source == "cache"
    never = JvmCache(system(gai, clock), positive=0, negative=0, clock=clock)
    never.resolve("svc.test.")
    gai.result = socket.EAI_NONAME
    assert never.resolve("svc.test.").outcome == "nxdomain"
    assert never.resolve("svc.test.").source == "system"  # a negative of 0 caches no failure either


def test_build_reads_java_spellings_of_forever(gai, clock):
    jvm = lookup.build("jvm", {"cache": {"positive": -1, "negative": "forever"}}, system=system(gai, clock))
    assert (jvm.positive, jvm.negative) == (None, None)
    assert lookup.build("jvm", {}, system=system(gai, clock)).positive == 30  # the JDK's default
    with pytest.raises(ValueError, match="unknown resolver model 'musl'"):
        lookup.build("musl", {})


# ---- stale-on-error -----------------------------------------------------------------------------------------

def test_stale_on_error_hides_failures_behind_the_last_good_answer(gai, clock):
    stale = StaleOnError(system(gai, clock), clock=clock)
    gai.result = socket.EAI_NONAME
    assert stale.resolve("svc.test.").outcome == "nxdomain"  # nothing to fall back on yet
    gai.result = ["192.0.2.10"]
    stale.resolve("svc.test.")
    gai.result, gai.seconds = socket.EAI_AGAIN, 2.0
    clock.advance(3600)
    answer = stale.resolve("svc.test.")
    assert (answer.outcome, answer.addresses, answer.source, answer.underlying) == \
        ("ok", ("192.0.2.10",), "stale", "timeout")
    assert answer.seconds == 2.0  # the app still waited for the failed lookup


def test_stale_on_error_gives_up_past_max_stale(gai, clock):
    stale = StaleOnError(system(gai, clock), max_stale=60, clock=clock)
    stale.resolve("svc.test.")
    gai.result = socket.EAI_AGAIN
    clock.advance(60)
    assert stale.resolve("svc.test.").source == "stale"
    clock.advance(0.1)
    assert stale.resolve("svc.test.").outcome == "servfail"


# ---- retry policies -----------------------------------------------------------------------------------------

def test_retry_schedules():
    rng = random.Random(7)
    assert retry.delays({"policy": "none"}, rng) == []
    assert retry.delays({"policy": "immediate", "max": 4}, rng) == [0.0] * 4
    waits = retry.delays({"policy": "backoff", "max": 6, "base": 0.5, "cap": 3}, rng)
    assert len(waits) == 6
    for n, wait in enumerate(waits, start=1):  # full jitter: anywhere in [0, min(cap, base * 2^(n-1))]
        assert 0 <= wait <= min(3, 0.5 * 2 ** (n - 1))


def test_full_jitter_spreads_over_the_whole_range():
    rng = random.Random(1)
    waits = [retry.full_jitter(4, 0.1, 5.0, rng) for _ in range(2000)]
    assert max(waits) <= 0.8 and min(waits) >= 0
    assert 0.35 < sum(waits) / len(waits) < 0.45  # uniform over [0, 0.8]: mean 0.4


@pytest.mark.parametrize("policy, message", [
    ({"policy": "exponential"}, "unknown retry policy"),
    ({"policy": "immediate", "max": 1000}, "retry max must be 0..100"),
    ({"policy": "backoff", "base": 2, "cap": 1}, "0 < base <= cap"),
])
def test_retry_policies_refuse_unbounded_or_unknown_storms(policy, message):
    with pytest.raises(ValueError, match=message):
        retry.validate(policy)


# ---- the app --------------------------------------------------------------------------------------------------

class Scripted:
    """A resolver model that answers from a list of Answers."""

    def __init__(self, *answers: Answer):
        self.answers = list(answers)

    def resolve(self, name):
        return self.answers.pop(0)


def app(resolver, **spec) -> tuple[App, io.StringIO]:
    out = io.StringIO()
    base = {"app": "app-1", "model": "glibc", "name": "svc.test.", "port": 9, "request_timeout": 0.2,
            "resolv_conf": {"nameservers": ["192.0.2.53"]}, "seed": 3}
    return App(base | spec, out=out, resolver=resolver), out


def test_immediate_retries_each_get_a_line_until_one_succeeds_or_max():
    failed = Answer("timeout", (), "system", 2.0, "EAI_AGAIN: Temporary failure in name resolution")
    the_app, out = app(Scripted(failed, failed, failed), retry={"policy": "immediate", "max": 2})
    attempts = the_app.cycle()
    assert [a["retry"] for a in attempts] == [0, 1, 2] and {a["cycle"] for a in attempts} == {1}
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == attempts and all(line["app"] == "app-1" for line in lines)
    assert {(a["resolution"], a["request"], a["address"]) for a in attempts} == {("timeout", "no-address", None)}


def test_a_refused_connection_is_an_attempt_that_failed_and_is_retried():
    ok = Answer("ok", ("127.0.0.1",))
    the_app, _ = app(Scripted(ok, ok), port=1, retry={"policy": "immediate", "max": 1})  # nothing listens on 1
    attempts = the_app.cycle()
    assert [(a["request"], a["address"]) for a in attempts] == [("refused", "127.0.0.1")] * 2


def test_prefer_reorders_by_family_and_race_is_refused_until_it_exists():
    the_app, _ = app(Scripted(), prefer="ipv4")
    assert the_app.choose(("fd53::10", "192.0.2.10", "192.0.2.11")) == "192.0.2.10"
    the_app, _ = app(Scripted(), prefer="ipv6")
    assert the_app.choose(("192.0.2.10", "fd53::10")) == "fd53::10"
    with pytest.raises(ValueError, match="Happy Eyeballs"):
        app(Scripted(), prefer="race")
