"""The resolver stack's config files (lab.agents.stubconf): what glibc, nscd and dnsmasq will read."""

from __future__ import annotations

import pytest

from lab.agents import stubconf


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_resolv_conf_defaults_are_glibcs_own():
    assert lines(stubconf.resolv_conf(["10.53.1.21"])) == ["nameserver 10.53.1.21", "options timeout:5 attempts:2"]


def test_resolv_conf_renders_every_option_in_resolv_conf_5_spelling():
    text = stubconf.resolv_conf(["10.53.1.21", "10.53.1.22", "fd53::21"], timeout=1, attempts=3, rotate=True,
                                single_request=True, single_request_reopen=True, ndots=1, search=["cloud.test"])
    assert lines(text) == [
        "search cloud.test",
        "nameserver 10.53.1.21", "nameserver 10.53.1.22", "nameserver fd53::21",
        "options timeout:1 attempts:3 ndots:1 rotate single-request single-request-reopen",
    ]


@pytest.mark.parametrize("kwargs, message", [
    ({"nameservers": ["10.0.0.1"] * 4}, "1 to 3 nameservers"),
    ({"nameservers": []}, "1 to 3 nameservers"),
    ({"nameservers": ["resolver.test"]}, "does not appear to be an IPv4 or IPv6 address"),
    ({"nameservers": ["10.0.0.1"], "timeout": 31}, "timeout must be an integer from 1 to 30"),
    ({"nameservers": ["10.0.0.1"], "timeout": 0}, "timeout"),
    ({"nameservers": ["10.0.0.1"], "attempts": 6}, "attempts must be an integer from 1 to 5"),
    ({"nameservers": ["10.0.0.1"], "timeout": 1.5}, "timeout must be an integer"),
    ({"nameservers": ["10.0.0.1"], "ndots": 16}, "ndots"),
])
def test_resolv_conf_refuses_what_glibc_would_silently_cap_or_ignore(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stubconf.resolv_conf(**kwargs)


def test_nscd_conf_caches_hosts_only_with_the_given_times():
    text = lines(stubconf.nscd_conf(positive=30, negative=4, reload_count="unlimited", shared=False))
    assert "enable-cache hosts yes" in text
    assert {f"enable-cache {t} no" for t in ("passwd", "group", "netgroup", "services")} <= set(text)
    assert "positive-time-to-live hosts 30" in text and "negative-time-to-live hosts 4" in text
    assert "reload-count unlimited" in text and "shared hosts no" in text and "persistent hosts no" in text


def test_nscd_conf_defaults_are_glibcs_built_in_hosts_times():
    text = lines(stubconf.nscd_conf())
    assert "positive-time-to-live hosts 3600" in text and "negative-time-to-live hosts 20" in text


def test_nscd_conf_refuses_a_reload_count_it_cannot_store():
    with pytest.raises(ValueError, match="reload_count"):
        stubconf.nscd_conf(reload_count=300)


def test_dnsmasq_conf_forwards_only_to_the_lab_resolvers():
    text = lines(stubconf.dnsmasq_conf(["10.53.1.21", "10.53.1.22"]))
    assert text[:7] == ["listen-address=127.0.0.1", "bind-interfaces", "port=53", "no-resolv", "no-hosts",
                        "log-facility=-", "server=10.53.1.21"]
    assert "server=10.53.1.22" in text and "cache-size=150" in text
    assert not any(line.startswith(("min-cache-ttl", "use-stale-cache", "no-negcache")) for line in text)


def test_dnsmasq_conf_cache_rules():
    text = lines(stubconf.dnsmasq_conf(["10.53.1.21"], min_cache_ttl=5, max_cache_ttl=60, neg_ttl=3,
                                       negative_cache=False, use_stale_cache=30, strict_order=True, log_queries=True))
    for line in ("min-cache-ttl=5", "max-cache-ttl=60", "neg-ttl=3", "no-negcache", "use-stale-cache=30",
                 "strict-order", "log-queries"):
        assert line in text
    assert "use-stale-cache" in lines(stubconf.dnsmasq_conf(["10.53.1.21"], use_stale_cache=True))


@pytest.mark.parametrize("kwargs, message", [
    ({"servers": []}, "at least one upstream"),
    ({"servers": ["10.0.0.1"], "min_cache_ttl": 3601}, "min_cache_ttl must be an integer from 0 to 3600"),
    ({"servers": ["10.0.0.1"], "use_stale_cache": 0}, "use_stale_cache"),
    ({"servers": ["not-an-address"]}, "does not appear"),
])
def test_dnsmasq_conf_refuses_what_dnsmasq_would_not_take(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stubconf.dnsmasq_conf(**kwargs)
