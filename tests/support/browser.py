"""A real browser for tests: Debian's chromium, headless, loading local files only.

`chromium()` finds it, or installs it from Debian's packages with apt-get when it is missing and we are
root (as lab.image installs mmdebstrap), so a fresh machine and CI run the browser tests too. Otherwise
the test is skipped — or fails under CI=true, where a skipped test is a failed one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_TIMEOUT = 900  # seconds: apt-get update plus about 100 MB of packages


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"CI=true but no browser: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium() -> str:
    """The chromium binary, installed with apt-get first when missing and we are root."""
    found = next((shutil.which(name) for name in NAMES if shutil.which(name)), None)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        _unavailable("chromium is missing: install it with 'sudo apt-get install chromium'")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                                   "chromium"]):
        print(f"[browser] {' '.join(command)}", flush=True)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            _unavailable(f"could not install chromium ({' '.join(command)}): {tail[0]}")
    return shutil.which("chromium") or "chromium"


def headless(binary: str, url: str, *action: str, width: int = 1280, height: int = 2400,
             timeout: float = 120) -> subprocess.CompletedProcess:
    """Run chromium headless on `url` with `action` (--dump-dom, --screenshot=FILE) in a private profile.
    No network is needed (file:// pages); as root chromium needs --no-sandbox."""
    with tempfile.TemporaryDirectory(prefix="dnslab-chromium-") as profile:
        command = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions",
                   "--disable-background-networking", "--disable-sync", "--hide-scrollbars",
                   "--host-resolver-rules=MAP * ~NOTFOUND",  # a page that reached for the network would show it
                   f"--window-size={width},{height}", *action, url]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=profile)


def dump_dom(binary: str, page: Path) -> str:
    """The DOM after the page loaded, serialised."""
    done = headless(binary, page.resolve().as_uri(), "--dump-dom")
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def screenshot(binary: str, page: Path, png: Path, width: int = 1280, height: int = 2400) -> Path:
    done = headless(binary, page.resolve().as_uri(), f"--screenshot={png.resolve()}", width=width, height=height)
    assert done.returncode == 0 and png.is_file() and png.stat().st_size > 0, done.stderr[-2000:]
    return png
