"""Programs that run inside lab containers with the image's own python3, dnspython 2.3 and PyYAML 6.0.

They are mounted read-only from the source tree (PYTHONPATH=/opt/dnslab), so they import nothing from
`lab` outside this package and only what Debian bookworm ships.
"""
