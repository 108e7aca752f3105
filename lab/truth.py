"""What the authoritative data held during a run, and whether an answer a client got was one of those.

truth.jsonl (docs/records.md) holds what each sampled authoritative server answered when asked directly
from inside its own network namespace (lab.agents.truth): one line per change. Every server of a probed
name's zone is sampled, its hidden primary too: whatever any of them held *is* the authoritative data at
that time — a zone-data fault (an emptied RRset, a changed TTL, a secondary left behind by a serial
regression) changes what servers hold, so answers that follow it are right. A lie told in front of a server
(a dns-answer fault: spoof, nxdomain, ...) never reaches the sampler, so answers carrying it are wrong.

`Truth.verdict(probe)` judges one probe that got an answer (NOERROR, NODATA or NXDOMAIN, no error):

- held:   some server held exactly this answer (rcode and the set of answers, order ignored) at a time from
          which a cache could still serve it: start - SLACK_S <= t <= end + ttl + SLACK_S, where `ttl` is
          the TTL it was held under (raised to MIN_CACHE_TTL_S). A TTL change starts a new period, so a copy
          cached under the old TTL is judged by the old TTL;
- unseen: not held, and some server of the name was not being sampled within the last ttl + SLACK_S
          seconds before t (before its sampler started or the server first answered it, or while the
          sampler was being restarted): what it held then is unknown, so the answer is not judged;
- stale:  wrong: held once, but it ended longer ago than its TTL allows;
- unheld: wrong: no server held it at or before that time (not in any recent truth).

A period a server held ends at the next different answer it gave (an error rcode such as SERVFAIL or
REFUSED, or a non-authoritative answer, is "holds nothing"); a query the server did not answer at all
(paused, stopped) ends nothing: its data stays what it was. A name whose truth has a CNAME is unseen unless
held: the chain's target is not sampled.

Pure: lab.records applies it to every probe it reads (the `truth` field), one probe at a time.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TRUTH_FILE = "truth.jsonl"
# Sampling every 0.1 s, integer TTLs rounded down and containers' clocks: 1 s covers them all.
SLACK_S = 1.0
# Knot Resolver keeps every answer for at least 5 s (its cache.min_ttl default), whatever the zone says.
MIN_CACHE_TTL_S = 5.0
VERDICTS = ("held", "unseen", "stale", "unheld")
WRONG = ("stale", "unheld")
HELD_RCODES = ("NOERROR", "NXDOMAIN")

Record = dict[str, Any]
Key = tuple[str, str]  # (absolute lower-case name, upper-case type)


@dataclass(frozen=True)
class Period:
    """One answer a server held, from `start` (first seen) to `end` (first seen otherwise; inf: to the end)."""

    server: str
    start: float
    end: float
    rcode: str
    answers: frozenset[str]
    ttl: float
    cname: bool


def key_of(name: Any, rdtype: Any) -> Key:
    text = str(name).lower()
    return (text if text.endswith(".") else text + ".", str(rdtype).upper())


def answer_text(value: Any) -> str:
    """An answer as compared: addresses in their canonical form, anything else as written."""
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return str(value)


def is_answer(probe: Mapping[str, Any]) -> bool:
    """The probe got an answer worth judging: NOERROR (with data or NODATA) or NXDOMAIN, no error."""
    return probe.get("rcode") in HELD_RCODES and not probe.get("error")


class Truth:
    """The periods every sampled server held, per (name, type), and when each server was watched."""

    def __init__(self, lines: Iterable[Record]):
        self.periods: dict[Key, list[Period]] = defaultdict(list)
        self.servers: dict[Key, set[str]] = defaultdict(set)  # who holds each name (sampled or meant to be)
        self.watched: dict[str, list[list[float]]] = defaultdict(list)  # server -> [[start, end], ...]
        self.horizon: dict[Key, float] = {}  # the longest TTL any server held the key under
        self.by_answer: dict[tuple, list[Period]] = defaultdict(list)  # (key, rcode, answers) -> periods
        self.chained: set[Key] = set()  # keys whose truth had a CNAME
        self.first_seen: dict[tuple[str, Key], float] = {}  # (server, key) -> its first answer to the sampler
        self.lines = 0
        current: dict[tuple[str, Key], tuple[tuple, float]] = {}
        for line in sorted(lines, key=lambda record: record["t"]):
            self.lines += 1
            self._read(line, current)
        for (server, key), (state, start) in current.items():
            self._close(server, key, state, start, math.inf)
        for key, periods in self.periods.items():
            periods.sort(key=lambda period: period.start)
            self.horizon[key] = max(period.ttl for period in periods)
            for period in periods:
                self.by_answer[(key, period.rcode, period.answers)].append(period)
                if period.cname:
                    self.chained.add(key)
        for spans in self.watched.values():
            for span in spans:
                span[1] = math.inf if span[1] is None else span[1]

    def _read(self, line: Record, current: dict) -> None:
        server = str(line.get("server"))
        sampler = line.get("sampler")
        if sampler == "planned":
            for name, rdtype in line.get("queries") or []:
                self.servers[key_of(name, rdtype)].add(server)
        elif sampler == "started":
            if not self.watched[server] or self.watched[server][-1][1] is not None:
                self.watched[server].append([line["t"], None])
        elif sampler == "stopped":
            if self.watched[server] and self.watched[server][-1][1] is None:
                self.watched[server][-1][1] = line["t"]
        elif "name" in line and line.get("rcode") is not None:  # an error (no answer at all) ends nothing
            key = key_of(line["name"], line.get("type"))
            self.servers[key].add(server)
            self.first_seen.setdefault((server, key), line["t"])
            held = line["rcode"] in HELD_RCODES and bool(line.get("aa"))
            state = (line["rcode"], frozenset(map(answer_text, line.get("answers") or [])),
                     float(line.get("ttl") or 0), bool(line.get("cname"))) if held else None
            previous = current.get((server, key))
            if previous is not None and previous[0] == state:
                return
            if previous is not None:
                self._close(server, key, previous[0], previous[1], line["t"])
            current[(server, key)] = (state, line["t"])

    def _close(self, server: str, key: Key, state: tuple | None, start: float, end: float) -> None:
        if state is not None:
            rcode, answers, ttl, cname = state
            self.periods[key].append(Period(server, start, end, rcode, answers, max(ttl, MIN_CACHE_TTL_S), cname))

    def verdict(self, probe: Mapping[str, Any]) -> str | None:
        """One of VERDICTS for a probe that got an answer; None for one that did not (see is_answer)."""
        if not is_answer(probe):
            return None
        key = key_of(probe.get("name"), probe.get("type"))
        t = float(probe["t"])
        rcode, answers = probe["rcode"], frozenset(map(answer_text, probe.get("answers") or []))
        same = self.by_answer.get((key, rcode, answers), ())
        if any(p.start - SLACK_S <= t <= p.end + p.ttl + SLACK_S for p in same):
            return "held"
        if key in self.chained or self._unseen(key, t):
            return "unseen"
        if any(p.start - SLACK_S <= t for p in same):
            return "stale"
        return "unheld"

    def _unseen(self, key: Key, t: float) -> bool:
        servers = self.servers.get(key)
        if not servers:
            return True
        since = t - self.horizon.get(key, MIN_CACHE_TTL_S) - SLACK_S
        # Watched means sampled, and answered at least once: a server paused from the start holds unknown data.
        return not all(self._watched(server, since, t) and self.first_seen.get((server, key), math.inf) <= since
                       for server in servers)

    def _watched(self, server: str, since: float, until: float) -> bool:
        spans = self.watched.get(server, [])
        index = bisect.bisect_right([span[0] for span in spans], since) - 1
        return index >= 0 and spans[index][1] >= until

    def held_at(self, name: str, rdtype: str, t: float) -> list[Period]:
        """What the servers held for (name, type) at time t (for reports and tests)."""
        return [p for p in self.periods.get(key_of(name, rdtype), ()) if p.start <= t < p.end]


def mark(probe: Record, truth: Truth) -> Record:
    """Add `truth` (a verdict, or None for a probe without an answer) to the probe; returns it."""
    probe["truth"] = truth.verdict(probe)
    return probe


def is_wrong(probe: Mapping[str, Any]) -> bool:
    return probe.get("truth") in WRONG


# ---- what to sample (pure, from a lab description) ----------------------------------------------------------


def in_zone(name: str, zone: str) -> bool:
    name, zone = name.lower(), zone.lower()
    return zone == "." or name == zone or name.endswith("." + zone)


def plan(description: Mapping[str, Any], queries: Iterable[tuple[str, str]]) -> dict[str, list[list[str]]]:
    """server node -> the [name, type] queries it is sampled for: every server of each name's deepest lab
    zone, its primary included."""
    zones = description["zones"]
    where: dict[str, list[list[str]]] = {}
    for name, rdtype in queries:
        name = key_of(name, rdtype)[0]
        zone = max((z for z in zones if in_zone(name, z)), key=lambda z: 0 if z == "." else z.count(".") + 1,
                   default=None)
        if zone is None:
            continue
        info = zones[zone]
        for server in ([info["primary"]] if info.get("primary") else []) + list(info["servers"]):
            if [name, rdtype] not in where.setdefault(server, []):
                where[server].append([name, rdtype])
    return where
