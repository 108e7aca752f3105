"""A container's starting files as a tar archive, and carried in its environment instead of put into it.

Putting files into a created container (the engine's archive call) cost more engine time than creating
it (measured one at a time under load: 89-171 ms, the create 34-128 ms; Docker mounts the container's
filesystem and runs an untar process of its own for every call), for every node of every `up`. An entrypoint that begins with
UNPACK takes them from the environment instead: the runtime passes the gzipped archive, base64 in chunks
that each fit one environment string (Linux: 128 KiB), and UNPACK writes them out before the node's
command runs, once per container (a restarted node keeps the files it has, changed or not, as it did
with files put in). Its variables are unset before the command runs; an exec into the container still
sees them (an engine gives every exec the container's environment). Files too big for that are put in.
An exec right after the start may come before UNPACK has written them: `after_files` waits for that.
"""

from __future__ import annotations

import base64
import gzip
import io
import tarfile
import time
from collections.abc import Mapping
from pathlib import PurePosixPath

from lab.runtime.base import File

PREFIX = "DNSLAB_FILES_"  # DNSLAB_FILES_0, _1, ...: the base64 of the gzipped archive, in order
CHUNK = 120_000  # characters per variable: under Linux's 131072-byte limit for one "NAME=value" string
LIMIT = 1_000_000  # characters in all: well under the 2 MiB the kernel takes for a command's arguments and environment
MARK = ".dnslab-files"  # written at the root once the files are out: a restart does not write them again


def unpack(root: str = "/") -> str:
    """The shell snippet that writes the files carried in the environment out under `root` (POSIX sh, coreutils'
    base64, tar and gzip: the lab image and every image built on it have them)."""
    mark = f"{root.rstrip('/')}/{MARK}"
    return (
        f'p=; i=0; while eval "c=\\${{{PREFIX}$i-}}"; [ -n "$c" ]; do p="$p$c"; unset {PREFIX}$i; i=$((i+1)); done; '
        f'if [ -n "$p" ] && [ ! -e {mark} ]; then '
        f'printf %s "$p" | base64 -d | tar -xzmf - -C {root} && : > {mark} '
        f'|| {{ echo "dnslab: cannot write the node\'s files" >&2; exit 125; }}; fi; p=; '
    )


UNPACK = unpack()
# For an exec right after the start (the entrypoint may not have written the files yet): wait until it has.
# The exec has the container's environment, so it knows whether the files came in it.
AWAIT = f'while [ -n "${{{PREFIX}0-}}" ] && [ ! -e /{MARK} ]; do sleep 0.02; done; '


def after_files(argv: list[str]) -> list[str]:
    """argv, run once the container's files are written out (at once if they were put in)."""
    return ["sh", "-c", AWAIT + 'exec "$@"', "dnslab-exec", *argv]


def tar(files: Mapping[str, File]) -> bytes:
    """One tar archive of files at absolute paths, with their parent directories (mode 0755, owned by root)."""
    buffer = io.BytesIO()
    dirs: set[str] = set()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, file in sorted(files.items()):
            rel = PurePosixPath(path.lstrip("/"))
            for parent in reversed(rel.parents[:-1] if len(rel.parents) > 1 else []):
                if str(parent) not in dirs:
                    dirs.add(str(parent))
                    info = tarfile.TarInfo(str(parent))
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
                    archive.addfile(info)
            info = tarfile.TarInfo(str(rel))
            info.size, info.mode, info.mtime = len(file.content), file.mode, now
            archive.addfile(info, io.BytesIO(file.content))
    return buffer.getvalue()


def environment(files: Mapping[str, File]) -> dict[str, str] | None:
    """The variables that carry `files` to UNPACK; None when they are too big to (put them in instead)."""
    text = base64.b64encode(gzip.compress(tar(files), 6)).decode()
    if len(text) > LIMIT:
        return None
    return {f"{PREFIX}{i}": text[start:start + CHUNK] for i, start in enumerate(range(0, len(text), CHUNK))}
