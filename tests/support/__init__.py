"""Helpers shared by test modules (fixtures that are not the pytest plugin's)."""
