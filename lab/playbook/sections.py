"""Top-level playbook sections other parts of the lab define: one table from section name to validator,
built here from the modules that define them (today the enactor pipeline's `pipeline:`, `enactor:` and
`planner:`, lab.playbook.pipeline).

A validator is `validator(problems, value, topology)`: it adds every problem with the section to
`problems` and returns the plain value the runner gets in `Playbook.sections[name]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lab.playbook import pipeline
from lab.validation import Problems
from lab.topology.model import Topology

Validator = Callable[[Problems, Any, Topology], Any]

SECTIONS: dict[str, Validator] = {**pipeline.SECTIONS}
