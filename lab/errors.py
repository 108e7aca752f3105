"""Error classes and the exit-code contract (see DESIGN.md): the CLI is the one place that maps them to codes."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ExitCode(enum.IntEnum):
    OK = 0
    CHECK_FAILED = 1
    INVALID_INPUT = 2
    ENVIRONMENT = 3
    INTERRUPTED = 130


class LabError(Exception):
    """Something went wrong in the lab."""

    exit_code = ExitCode.ENVIRONMENT


class InputError(LabError):
    """Invalid input: a playbook, a topology or a command-line argument."""

    exit_code = ExitCode.INVALID_INPUT


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, with where it is."""

    file: str
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        return f"{where}: {self.message}"


class LocatedError(InputError):
    """One or more problems in an input file, each with file:line:col."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TopologyError(LocatedError):
    """The topology file is invalid."""


class PlaybookError(LocatedError):
    """The playbook file is invalid."""


class HostsError(LocatedError):
    """The hosts file (the Docker engines a lab may spread over) is invalid."""


class EnvironmentProblem(LabError):
    """The environment cannot run the lab (no Docker, image build failed, ...)."""


class DockerUnavailable(EnvironmentProblem):
    """Docker is not reachable."""


class LabNotFound(LabError):
    """No lab with that name is running."""

    exit_code = ExitCode.INVALID_INPUT


class Timeout(LabError):
    """A wait ran out of time."""
