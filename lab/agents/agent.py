"""What every pipeline agent (planner, enactor, the control commands) shares: its configuration, its
settings, its events and the DNS view of the endpoints.

- Configuration: /lab/node/pipeline.json, rendered from the topology's `pipeline:` section (zone, the
  primary's address as seen from this node, regions with their endpoints and address pools, agents,
  default settings). Settings written to the plan store (/plans/settings.json) override the defaults,
  re-read every cycle, so `dnslab` can retune running agents.
- Events: one JSON line per event on stdout (`t`, `source`, `event`, fields; see docs/records.md). The
  playbook runner follows the containers' logs and keeps the lines that carry an `event`.
- DNS: endpoints are read from and written to the zone's hidden primary (TSIG key /lab/node/tsig.json).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from lab.agents import ask, plans, planstore, settings as settings_table, strategy, update

# Where the automation contract (docs/automation.md) puts things; the built-in agents read them like any
# user's program would.
CONFIG = Path(os.environ.get("DNSLAB_CONFIG", "/lab/node/pipeline.json"))
KEY = os.environ.get("DNSLAB_TSIG", "/lab/node/tsig.json")
PLANS = Path(os.environ.get("DNSLAB_PLANS", "/plans"))


class DnsError(Exception):
    """The primary did not answer a read."""


class Agent:
    def __init__(self, config: dict | None = None, store_root: str | Path = PLANS, key: str = KEY):
        self.config = config if config is not None else json.loads(CONFIG.read_text())
        self.node = self.config["node"]
        self.store = planstore.open_store(store_root)  # the shared volume, or the planstore node (DNSLAB_PLANS_URL)
        self.key = key
        self.regions = self.config["regions"]
        self.endpoints = plans.endpoints_of(self.regions)
        # The address types the plans hold: AAAA too when a region's pool has IPv6 addresses (dual-stack).
        self.address_types = sorted({strategy.address_type(a) for spec in self.regions.values()
                                     for a in spec["addresses"]} | {"A"})

    def settings(self) -> dict:
        return {**settings_table.defaults(), **self.config.get("settings", {}), **self.store.settings()}

    def emit(self, event: str, **fields) -> None:
        print(json.dumps({"t": round(time.time(), 6), "source": self.node, "event": event, **fields}), flush=True)

    def status(self, state: str, **fields) -> None:
        self.store.write_status(self.node, {"state": state, **fields})

    # -- DNS --

    def read_endpoint(self, endpoint: str, timeout: float = 1.0) -> dict:
        """{"marker": generation or None, "addresses": [...]} as the primary serves it now."""
        server = self.config["primary"]
        txt = ask.ask(server, endpoint, "TXT", timeout, rd=False)
        sets = [ask.ask(server, endpoint, rdtype, timeout, rd=False) for rdtype in self.address_types]
        for result in (txt, *sets):
            if result["rcode"] not in ("NOERROR", "NXDOMAIN"):
                raise DnsError(f"{endpoint}: {result['rcode'] or result['error']}")
        addresses = [a for result in sets for a in result["answers"]]
        return {"marker": strategy.parse_marker(txt["answers"]), "addresses": sorted(addresses, key=plans.address_key)}

    def read_endpoints(self) -> dict[str, dict]:
        return {endpoint: self.read_endpoint(endpoint) for endpoint in self.endpoints}

    def send(self, ops: list, prereq: list = (), timeout: float = 2.0) -> dict:
        """One TSIG-signed update of the zone; {"rcode", "error", "latency_ms"} (lab.agents.update)."""
        return update.send({"server": self.config["primary"], "zone": self.config["zone"], "key": self.key,
                            "ops": list(ops), "prereq": list(prereq), "timeout": timeout})


def exit_on_sigterm() -> None:
    """Agents run as PID 1, which ignores SIGTERM unless it installs a handler: `docker stop` then waits
    10 s. Exit at once instead."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
