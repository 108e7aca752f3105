"""lab.image without Docker: what `make lab-up` relies on (standard library only, the .deb cache, the tmpfs, an
import that never tags a broken stream)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab import image
from lab.errors import EnvironmentProblem

REPO = Path(__file__).resolve().parents[2]

# Stands in for the docker command-line client: `import` reads the stream and prints an id, `rmi` is logged.
FAKE_DOCKER = textwrap.dedent("""\
    import sys
    args = sys.argv[3:]  # after --host URL
    with open(sys.argv[0] + ".log", "a") as log:
        log.write(" ".join(a for a in args if not a.startswith("--change")) + "\\n")
    if args[0] == "import":
        data = sys.stdin.buffer.read()
        print("sha256:" + str(len(data)))
""")


def test_the_module_imports_with_the_standard_library_alone():
    # -S: no site-packages, so neither the docker SDK nor any other dependency can be found.
    done = subprocess.run([sys.executable, "-S", "-c", "import lab.image as i; print(i.image_tag())"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == image.image_tag()


def test_the_debs_are_copied_in_before_apt_and_out_before_the_clean_up():
    command = image.mmdebstrap_command("mmdebstrap", Path("/var/cache/my debs"))
    assert command[-2:] == [image.SUITE, "-"]  # the tar stream goes to stdout
    assert "--include=" + ",".join(image.packages()) in command
    assert "--skip=essential/unlink" in command  # else mmdebstrap deletes the essential .debs before sync-out
    hooks = [c for c in command if c.startswith(("--setup-hook", "--customize-hook"))]
    assert hooks[1] == "--setup-hook=sync-in '/var/cache/my debs' /var/cache/apt/archives/"
    assert hooks[-1] == "--customize-hook=sync-out /var/cache/apt/archives '/var/cache/my debs'"


def test_the_cache_is_machine_wide_unless_dnslab_cache_says(monkeypatch, tmp_path):
    monkeypatch.delenv("DNSLAB_CACHE", raising=False)
    monkeypatch.setenv("DNSLAB_HOME", str(tmp_path / "home"))  # a test's fresh home does not empty the cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert image.cache_dir() == tmp_path / "xdg" / "dnslab"
    monkeypatch.setenv("DNSLAB_CACHE", str(tmp_path / "mine"))
    assert image.cache_dir() == tmp_path / "mine"


def test_in_tmpfs_mounts_a_private_tmpfs_and_keeps_the_command_whole():
    command = ["mmdebstrap", "--customize-hook=chroot \"$1\" true", "bookworm", "-"]
    wrapped = image.in_tmpfs(command, Path("/tmp/dnslab-image-x"))
    assert wrapped[:3] == ["unshare", "--mount", "--propagation"]
    assert wrapped[-len(command) - 1:] == ["/tmp/dnslab-image-x", *command]
    assert 'TMPDIR="$0" exec "$@"' in wrapped[wrapped.index("-c") + 1]


@pytest.fixture
def fake_docker(tmp_path) -> tuple[list[str], Path]:
    script = tmp_path / "docker"
    script.write_text(FAKE_DOCKER)
    return [sys.executable, str(script), "--host", "unix:///nowhere"], Path(str(script) + ".log")


def test_a_finished_stream_is_imported_untagged(fake_docker):
    docker_cli, log = fake_docker
    build = [sys.executable, "-c", "import sys; print('I: running apt-get update...', file=sys.stderr); print('tar', end='')"]
    lines = []
    assert image._stream_into(build, image.CliImport(docker_cli), lines.append) == "sha256:3"
    assert lines == ["running apt-get update..."]
    assert log.read_text().split("\n")[0] == "import -"


def test_a_failed_build_removes_what_the_import_made_of_its_stream(fake_docker):
    docker_cli, log = fake_docker
    build = [sys.executable, "-c", "import sys; print('E: apt-get install failed', file=sys.stderr); sys.exit(1)"]
    with pytest.raises(EnvironmentProblem, match=r"mmdebstrap exit 1\): E: apt-get install failed"):
        image._stream_into(build, image.CliImport(docker_cli), lambda line: None)
    assert log.read_text().splitlines() == ["import -", "rmi sha256:0"]
