"""The lease manager's state machine and its admission throttle with a fake clock (lab.agents.leases)."""

from __future__ import annotations

import random

import pytest

from lab.agents.leases import ACTIVE, BACKOFF, ESTABLISH, ESTABLISHING, EXPIRED, RENEW, Admission, Leases


def leases(count=4, admission=None, jitter=False, retry_delay=0.1, now=0.0) -> Leases:
    return Leases(count, renew_every=1.0, ttl=3.0, now=now, rng=random.Random(1), admission=admission,
                  jitter=jitter, retry_delay=retry_delay, backoff_base=0.1, backoff_cap=2.0)


def test_leases_start_alive_with_renewals_spread_over_one_period():
    table = leases(count=4)
    assert table.counts() == {ACTIVE: 4, EXPIRED: 0, ESTABLISHING: 0, BACKOFF: 0}
    assert table.due(0.0) == [(0, RENEW)]
    assert table.due(0.5) == [(1, RENEW), (2, RENEW)]
    assert table.due(0.5) == []  # sent already: no second renewal while one is out


def test_a_renewed_lease_stays_alive_and_an_unrenewed_one_expires_after_ttl():
    table = leases(count=1)
    assert table.due(0.0) == [(0, RENEW)]
    table.finished(0, RENEW, True, 0.1)  # alive until 3.1, next renewal at 1.1
    assert table.due(1.0) == [] and table.due(1.1) == [(0, RENEW)]
    table.finished(0, RENEW, False, 1.6)  # failed: retried at the next period, still alive until 3.1
    assert table.due(2.5) == [] and table.due(2.6) == [(0, RENEW)]
    table.finished(0, RENEW, False, 3.0)
    assert table.due(3.1) == [(0, ESTABLISH)] and table.counts()[ESTABLISHING] == 1


def test_a_renewal_that_returns_after_expiry_does_not_revive_the_lease():
    table = leases(count=1, admission=Admission(max_concurrent=1))
    table.due(0.0)
    table.expire(3.0)
    assert table.leases[0].state == EXPIRED
    table.finished(0, RENEW, True, 3.2)
    assert table.leases[0].state == EXPIRED


def test_failed_reestablishment_without_jitter_retries_in_lockstep():
    table = leases(count=3, retry_delay=0.1)
    table.expire(10.0)
    assert [kind for _, kind in table.due(10.0)] == [ESTABLISH] * 3  # unthrottled: all at once
    for lease_id in range(3):
        table.finished(lease_id, ESTABLISH, False, 10.5)
    assert table.counts()[BACKOFF] == 3
    assert table.due(10.59) == [] and len(table.due(10.6)) == 3  # the same moment for every lease


def test_jittered_backoff_spreads_the_retries_and_grows_with_failures():
    table = leases(count=50, jitter=True)
    table.expire(10.0)
    table.due(10.0)
    for lease_id in range(50):
        table.finished(lease_id, ESTABLISH, False, 10.0)
    waits = sorted(lease.retry_at - 10.0 for lease in table.leases)
    assert 0 <= waits[0] < waits[-1] <= 0.1  # first failure: uniform in [0, base]
    assert len({round(w, 6) for w in waits}) == 50
    assert max(table.wait_after(6) for _ in range(200)) <= 2.0  # capped
    assert max(table.wait_after(3) for _ in range(200)) > 0.1  # the range grew: [0, 0.4]


def test_success_makes_a_lease_active_and_frees_its_admission():
    admission = Admission(max_concurrent=2)
    table = leases(count=4, admission=admission)
    table.expire(10.0)
    assert [lease for lease, _ in table.due(10.0)] == [0, 1]  # only two may establish at once
    assert table.due(10.1) == []
    table.finished(0, ESTABLISH, True, 10.2)
    assert table.leases[0].state == ACTIVE and table.leases[0].valid_until == pytest.approx(13.2)
    assert table.due(10.2) == [(2, ESTABLISH)]


def test_token_bucket_admits_rate_per_second_after_its_burst():
    admission = Admission(rate=2.0, burst=2, now=0.0)
    assert [admission.admit(0.0) for _ in range(3)] == [True, True, False]
    assert admission.admit(0.4) is False and admission.admit(0.5) is True  # 2/s: one token per 0.5 s


def test_admission_from_a_playbook_value():
    assert Admission.from_spec(None).admit(0.0) and Admission.from_spec(None).max_concurrent is None
    assert Admission.from_spec(4).max_concurrent == 4
    both = Admission.from_spec({"max_concurrent": 3, "rate": 10, "burst": 5})
    assert (both.max_concurrent, both.rate, both.burst) == (3, 10, 5)
    with pytest.raises(ValueError, match="throttle"):
        Admission.from_spec({"max_concurrent": 0})


def test_leases_need_a_ttl_longer_than_the_renewal_period():
    with pytest.raises(ValueError, match="renew_every < ttl"):
        Leases(1, renew_every=3.0, ttl=3.0, now=0.0, rng=random.Random())
