"""The engine's leaving lock serialises network-leaving Docker calls across processes, not only threads
(moby/moby#46661), per engine. The tests use a lock of their own: other dnslab processes on this machine may
hold the real one."""

import subprocess
import sys
import textwrap

from lab.runtime import locks

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


def test_a_lock_is_one_per_purpose_and_engine_on_the_whole_machine():
    lock = locks.machine_lock("docker-leaving", "ENGINE:ID")
    assert lock is locks.machine_lock("docker-leaving", "ENGINE:ID")  # one per process, shared by its threads
    assert lock.path.name == "dnslab-docker-leaving-ENGINE-ID.lock"
    assert locks.machine_lock("docker-leaving", "OTHER").path != lock.path  # another engine: another lock


def test_the_lock_is_held_across_processes(tmp_path):
    lock = locks.MachineLock(tmp_path / "leaving.lock")
    with lock:
        inside = probe(lock.path)
    assert (inside, probe(lock.path)) == ("held", "free")


def test_the_lock_is_released_when_the_body_raises(tmp_path):
    lock = locks.MachineLock(tmp_path / "leaving.lock")
    try:
        with lock:
            raise KeyError("boom")
    except KeyError:
        pass
    assert probe(lock.path) == "free"
    with lock:  # and the thread lock too
        pass
