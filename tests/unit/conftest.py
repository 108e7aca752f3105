"""What the unit tests share beyond tests/support (record factories, hypothesis strategies, the CLI helper):
the hypothesis profile every property test runs under.

DNSLAB_FUZZ_EXAMPLES (default 150) examples per property keep `make test` bounded; raise it for a long soak.
No deadline: a loader's first example pays for imports and the topology it reads. Function-scoped fixtures
(tmp_path_factory) are fine: every example writes a file of its own under a fresh directory.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dnslab", max_examples=int(os.environ.get("DNSLAB_FUZZ_EXAMPLES", "150")), deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile("dnslab")
