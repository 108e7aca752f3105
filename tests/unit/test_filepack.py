"""Files carried in a container's environment (lab.runtime.filepack): what the runtime passes, written out by
the entrypoint's snippet with this machine's sh, base64 and tar into a directory standing in for the root."""

from __future__ import annotations

import os
import subprocess

from lab.runtime import File, filepack


FILES = {"/lab/node/named.conf": File.of("options { };\n"), "/lab/node/keys/k.key": File.of(b"\x00secret", 0o600),
         "/opt/dnslab/lab/agents/blob": File.of(os.urandom(100_000))}  # random, over one variable's worth


def run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", script + 'env', "node"], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, check=False)


def test_files_written_out_once_and_the_variables_gone(tmp_path):
    env = filepack.environment(FILES)
    assert len(env) > 1 and all(len(k) + 1 + len(v) < 131072 for k, v in env.items())
    done = run(filepack.unpack(str(tmp_path)), env)
    assert done.returncode == 0, done.stderr
    assert filepack.PREFIX not in done.stdout  # the node's command never sees them
    for path, file in FILES.items():
        written = tmp_path / path.lstrip("/")
        assert written.read_bytes() == file.content and written.stat().st_mode & 0o777 == file.mode
    (tmp_path / "lab/node/named.conf").write_text("changed by a fault\n")
    assert run(filepack.unpack(str(tmp_path)), env).returncode == 0  # the node starting again
    assert (tmp_path / "lab/node/named.conf").read_text() == "changed by a fault\n"


def test_nothing_carried_nothing_written(tmp_path):
    done = run(filepack.unpack(str(tmp_path)), {})
    assert done.returncode == 0 and list(tmp_path.iterdir()) == []


def test_a_broken_archive_stops_the_node(tmp_path):
    done = run(filepack.unpack(str(tmp_path)), {f"{filepack.PREFIX}0": "bm90IGEgdGFyCg=="})
    assert done.returncode == 125 and "cannot write the node's files" in done.stderr
    assert not (tmp_path / filepack.MARK).exists()


def test_too_big_to_carry_is_put_in_instead():
    huge = {"/lab/node/zone": File.of(os.urandom(filepack.LIMIT))}  # random: gzip cannot shrink it
    assert filepack.environment(huge) is None
