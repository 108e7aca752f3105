"""Where dnslab's own files are: the topologies and the image recipe (compose/), the playbooks (playbooks/),
the starter `dnslab init` writes (lab/bundled/starter/) and the agents' code (lab/agents/, a plain package) —
the same in a checkout and in an installed wheel.

They are package data of `lab`, read with importlib.resources: `lab/bundled/compose` and
`lab/bundled/playbooks` are symbolic links to the repository's top-level compose/ and playbooks/, so an
editable install reads the checkout's files, and building the wheel copies the files behind the links into
it (pyproject.toml's package-data). Within the bundle the folders keep their places, so a playbook's
`topology: ../compose/enactors.yml` means the same file in both.

A topology or playbook names a bundled topology as `dnslab:NAME` (`extends: dnslab:enactors.yml`,
`topology: dnslab:default.yml`); anything else is a path relative to the file that names it. On the
command line a name that is no existing file and has no `/` is looked up here (`dnslab run
aws-2025-dynamodb-enactor-race`, `dnslab up -t minimal`).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from lab.errors import InputError
from lab.validation import suggest

PREFIX = "dnslab:"  # a bundled topology, named in a topology or playbook file


def _package_dir(*parts: str) -> Path:
    found = importlib.resources.files("lab").joinpath(*parts)
    # dnslab hands these to Docker (bind mounts, build contexts): they must be real directories, which they
    # are in a checkout and in an installed wheel (pip unpacks it); a zipped lab package is not supported.
    if not isinstance(found, Path):
        raise InputError(f"dnslab's bundled files must be on the file system, not in {found}; "
                         "install dnslab with pip or pipx")
    return found.resolve()


PACKAGE = _package_dir()  # lab itself: lab/agents/ is what runs inside containers (lifecycle.agent_code)
AGENTS = PACKAGE / "agents"
COMPOSE = _package_dir("bundled", "compose")
PLAYBOOKS = _package_dir("bundled", "playbooks")
RECIPE = COMPOSE / "image"
STARTER = _package_dir("bundled", "starter")
DEFAULT_TOPOLOGY = COMPOSE / "default.yml"


def topologies() -> list[str]:
    """File names of the bundled topologies."""
    return sorted(path.name for path in COMPOSE.glob("*.yml"))


def playbooks() -> list[str]:
    """Names (file stems) of the bundled playbooks."""
    return sorted(path.stem for path in PLAYBOOKS.glob("*.yml"))


def is_reference(name: str) -> bool:
    """`dnslab:NAME`: a bundled topology named in a file."""
    return str(name).startswith(PREFIX)


def bundled_topology(name: str) -> Path:
    """The bundled topology `NAME`, `NAME.yml` or `dnslab:NAME[.yml]`; InputError naming the ones there are."""
    return _bundled(name, COMPOSE, "topology", topologies())


def bundled_playbook(name: str) -> Path:
    """The bundled playbook `NAME` or `NAME.yml`; InputError naming the ones there are."""
    return _bundled(name, PLAYBOOKS, "playbook", playbooks())


def _bundled(name: str, directory: Path, kind: str, known: list[str], missing: str = "") -> Path:
    bare = str(name).removeprefix(PREFIX)
    file = bare if bare.endswith(".yml") else f"{bare}.yml"
    path = directory / file
    if "/" in bare or not path.is_file():
        stems = [k.removesuffix(".yml") for k in known]
        # Said the way it was asked: "dnslab:enactors.yml" in a file, "minimal" on the command line.
        spelled = [f"{PREFIX}{k}" for k in known] if is_reference(name) else stems
        hint = suggest(str(name), spelled) or f"; dnslab bundles: {', '.join(stems)}"
        raise InputError(f"{missing or f'dnslab bundles no {kind}'} {name!r}{hint}")
    return path


def referenced(name: str, relative_to: Path) -> Path:
    """A topology named in a file: `dnslab:NAME` is bundled, anything else is relative to `relative_to`
    (the naming file's directory). Raises InputError for an unknown bundled name."""
    if is_reference(name):
        return bundled_topology(name)
    return relative_to / name


def hint_for_missing(name: str) -> str:
    """What to say when a file named in a topology or playbook is missing but dnslab bundles one by that
    name: '; dnslab bundles one as dnslab:NAME', else ''."""
    file = Path(str(name)).name
    return f"; dnslab bundles one as {PREFIX}{file}" if file in topologies() else ""


def command_line(name: str, kind: str) -> Path:
    """A topology or playbook given on the command line: an existing file as given, else (a name without
    `/`, or `dnslab:NAME`) the bundled one. A missing path is returned as it is, for the loader to report."""
    path = Path(name)
    if path.is_file() or ("/" in str(name) and not is_reference(name)):
        return path
    directory, known = (COMPOSE, topologies()) if kind == "topology" else (PLAYBOOKS, playbooks())
    return _bundled(name, directory, kind, known, f"no such file, nor a {kind} dnslab bundles:")
