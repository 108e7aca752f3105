"""What `dnslab init` writes into a user's repository: a starter for testing their own DNS automation.

    dnslab/topology.yml          dnslab's default world and its enactor pipeline (`extends: dnslab:enactors.yml`)
    dnslab/race.yml              the October 2025 race with the repository's enactor in every enactor node
    dnslab/README.md             what these files are, and the commands
    automation/enactor.py        a placeholder enactor: dnslab's example of the contract (docs/automation.md)
    tests/test_dnslab_race.py    a pytest test with dnslab's plugin
    .github/workflows/dnslab.yml CI: installs dnslab's wheel, builds the lab image, runs the test

The sources are in the bundle (lab/bundled/starter/, lab.bundle); `.j2` ones are rendered with the project's
name and dnslab's version. Nothing here overwrites a file: `conflicts` says which exist, and `write` refuses.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import jinja2

from lab import bundle
from lab.errors import InputError

# destination in the user's repository -> source in lab/bundled/starter/
LAYOUT = {
    "dnslab/topology.yml": "topology.yml.j2",
    "dnslab/race.yml": "race.yml",
    "dnslab/README.md": "README.md.j2",
    "automation/enactor.py": "enactor.py",
    "tests/test_dnslab_race.py": "test_dnslab_race.py",
    ".github/workflows/dnslab.yml": "workflow.yml.j2",
}
EXECUTABLE = ("automation/enactor.py",)
PLACEHOLDER_NOTE = ("# The placeholder `dnslab init` wrote: dnslab's example enactor (examples/automation/python/, "
                    "the safe variant\n# unless started with `racy`). Replace it with your own program; the "
                    "contract it follows is\n# dnslab's docs/automation.md.\n")

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(bundle.STARTER)), undefined=jinja2.StrictUndefined,
                          keep_trailing_newline=True, autoescape=False)  # YAML, Markdown: no HTML here


def lab_name(directory: Path) -> str:
    """A lab name from the repository's directory name: lower-case letters, digits and '-', at most 40."""
    slug = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")[:40].strip("-")
    return slug or "my-lab"


def render(directory: Path) -> dict[str, str]:
    """destination (relative to DIRECTORY) -> text of every starter file."""
    directory = Path(directory)
    values = {"name": lab_name(directory),
              "version": importlib.metadata.version("dnslab")}
    files = {}
    for destination, source in LAYOUT.items():
        if source.endswith(".j2"):
            text = _ENV.get_template(source).render(**values)
        else:
            text = (bundle.STARTER / source).read_text(encoding="utf-8")
        if destination == "automation/enactor.py":
            shebang, _, rest = text.partition("\n")
            text = f"{shebang}\n{PLACEHOLDER_NOTE}{rest}"
        files[destination] = text
    return files


def conflicts(directory: Path) -> list[str]:
    """Destinations that already exist in DIRECTORY (as files or anything else)."""
    return [destination for destination in LAYOUT if (Path(directory) / destination).exists()]


def write(directory: Path) -> list[Path]:
    """Write the starter into DIRECTORY (created if missing); InputError, and nothing written, when any of its
    files exists."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is a file; give dnslab init a directory")
    taken = conflicts(directory)
    if taken:
        raise InputError(f"{directory}: {', '.join(taken)} already exist{'s' if len(taken) == 1 else ''}; "
                         "dnslab init never overwrites a file — move them away, or init another directory")
    written = []
    for destination, text in render(directory).items():
        path = directory / destination
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if destination in EXECUTABLE:
            path.chmod(0o755)
        written.append(path)
    return written
