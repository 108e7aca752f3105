"""A user's own test suite with dnslab's pytest plugin: their enactor through the us-east-1 race of
October 2025 on a real lab.

    MY_ENACTOR="python3 examples/automation/python/enactor.py safe" pytest examples/pytest

MY_ENACTOR is the command that starts the enactor (run in the directory pytest runs in, mounted read-only
into each enactor's container). The plugin brings one lab up for this module and takes it down afterwards.
"""

import os

import pytest

ENACTOR = os.environ.get("MY_ENACTOR", "python3 examples/automation/python/enactor.py safe")

pytestmark = pytest.mark.dnslab(topology="enactors.yml")


def test_enactor_never_empties_the_endpoint_in_the_race(dnslab):
    result = dnslab.run("aws-2025-dynamodb-enactor-race.yml", set={"enactor.command": ENACTOR})
    result.assert_passed()
    assert result.report["probes"]["empty_answers"] == 0
    assert result.check("never_empty")["ok"]
