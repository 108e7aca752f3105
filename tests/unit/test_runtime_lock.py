"""runtime.LEAVING serialises network-leaving Docker calls across processes, not only threads (moby/moby#46661).
The tests use a lock of their own: other dnslab processes on this machine may hold the real one."""

import subprocess
import sys
import textwrap

from lab import runtime

CHILD = textwrap.dedent("""
    import fcntl, sys
    with open(sys.argv[1], "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("free")
        except BlockingIOError:
            print("held")
""")


def probe(path) -> str:
    return subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_leaving_is_one_lock_for_the_whole_machine():
    assert isinstance(runtime.LEAVING, runtime._MachineLock)
    assert runtime.LEAVING._path.name == "dnslab-docker-leaving.lock"


def test_the_lock_is_held_across_processes(tmp_path):
    lock = runtime._MachineLock(tmp_path / "leaving.lock")
    with lock:
        inside = probe(lock._path)
    assert (inside, probe(lock._path)) == ("held", "free")


def test_the_lock_is_released_when_the_body_raises(tmp_path):
    lock = runtime._MachineLock(tmp_path / "leaving.lock")
    try:
        with lock:
            raise KeyError("boom")
    except KeyError:
        pass
    assert probe(lock._path) == "free"
    with lock:  # and the thread lock too
        pass
