"""Locks that hold across every dnslab process on this machine: a thread lock plus an flock on a file.

They are per engine (the file name carries the engine's id): two labs on two engines never wait for each
other, two processes on one engine do. Processes on other machines talking to the same remote engine are
not covered: nothing on this machine can see them.
"""

from __future__ import annotations

import fcntl
import re
import tempfile
import threading
from pathlib import Path


def lock_path(purpose: str, engine: str = "") -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", f"{purpose}-{engine}" if engine else purpose)
    return Path(tempfile.gettempdir()) / f"dnslab-{safe}.lock"


class MachineLock:
    """A threading lock plus an flock on a file every process on the machine shares. Re-entrant it is not."""

    def __init__(self, path: Path):
        self._path = path
        self._thread = threading.Lock()
        self._file = None

    @property
    def path(self) -> Path:
        return self._path

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    def acquire(self) -> None:
        self._thread.acquire()
        try:
            self._file = open(self._path, "a")
            fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            if self._file is not None:
                self._file.close()
                self._file = None
            self._thread.release()
            raise

    def release(self) -> None:
        try:
            self._file.close()  # closing drops the flock
        finally:
            self._file = None
            self._thread.release()

    def try_acquire(self) -> bool:
        """Take the lock without waiting; False when another thread or process holds it."""
        if not self._thread.acquire(blocking=False):
            return False
        self._file = open(self._path, "a")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            self._file.close()
            self._file = None
            self._thread.release()
            return False


_LOCKS: dict[Path, MachineLock] = {}
_GUARD = threading.Lock()


def machine_lock(purpose: str, engine: str = "") -> MachineLock:
    """The one lock of this process for (purpose, engine): threads of one process share it."""
    path = lock_path(purpose, engine)
    with _GUARD:
        return _LOCKS.setdefault(path, MachineLock(path))
