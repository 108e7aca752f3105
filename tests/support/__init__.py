"""Helpers the test suites share, one job a module: records (probe and event factories), strategies
(hypothesis), cli (running `dnslab` as a subprocess), swarm (engines joined as a Swarm on this machine)."""
