"""dnslab: a live DNS fault-injection lab with real servers in Docker."""

__version__ = "0.1.0"
