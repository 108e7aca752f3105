"""Topology: what a lab is made of (nodes, networks, zones), how it is loaded, rendered and run."""
