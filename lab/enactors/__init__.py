"""The DNS automation pipeline seen from the host: configure, reset, repair and inspect the planner and
enactors running in a lab (their code is lab/agents/planner.py, enactor.py, pipectl.py)."""

from lab.enactors.control import configure, repair, reset, status

__all__ = ["configure", "repair", "reset", "status"]
