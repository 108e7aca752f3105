"""runtime.LEAVING serialises network-leaving Docker calls across processes, not only threads (moby/moby#46661)."""

import fcntl
import subprocess
import sys
import textwrap

from lab import runtime


def test_leaving_lock_is_held_across_processes():
    child = textwrap.dedent("""
        import fcntl, sys
        from lab import runtime
        with open(runtime.LEAVING._path, "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                print("free")
            except BlockingIOError:
                print("held")
    """)
    with runtime.LEAVING:
        inside = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout
    outside = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout
    assert (inside.strip(), outside.strip()) == ("held", "free")


def test_leaving_lock_is_released_when_the_body_raises():
    try:
        with runtime.LEAVING:
            raise KeyError("boom")
    except KeyError:
        pass
    with open(runtime.LEAVING._path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError if it were still held
