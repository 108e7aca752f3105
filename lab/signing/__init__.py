"""DNSSEC for the lab: keys (keys.py) and the offline signer (signer.py). Pure: no Docker, no files."""
