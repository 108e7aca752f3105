"""Our enactor through the October 2025 us-east-1 DynamoDB DNS race, on a real lab (dnslab's pytest plugin).

The plugin brings one lab up for this module (dnslab/topology.yml) and always takes it down, also when a test
fails; a failed test keeps its run directory (report.html, report.json, probes) under .dnslab-artifacts/.
Without Docker the test is skipped; under CI=true it fails instead.
"""

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.dnslab(topology=str(PROJECT / "dnslab" / "topology.yml"))


def test_our_enactor_never_empties_the_endpoint_in_the_race(dnslab):
    result = dnslab.run(PROJECT / "dnslab" / "race.yml")
    result.assert_passed()  # on failure: every check with its detail, and the run directory
    assert result.check("never_empty")["ok"] and result.check("no_regression")["ok"]
    assert result.report["probes"]["empty_answers"] == 0
