"""report.html of a real run, in a real browser: Debian's chromium, headless, loads the page a run against
real containers wrote, and the rendered DOM has the verdict, every check, the timeline and every fault;
a screenshot shows the page as a person sees it (the FAIL badge is drawn in its colour).

The run is tests/data/lossy-run.yml on its own minimal lab (brought up and taken down by the run): three
fault kinds at once, one check that holds and one that fails.
"""

from __future__ import annotations

import html as html_text
import json

import pytest
from matplotlib import image as mpimage

from tests.support import browser
from tests.integration.conftest import REPO, lab_name
from tests.support.cli import RUN_TIMEOUT, dnslab, run_args

PLAYBOOK = REPO / "tests" / "data" / "lossy-run.yml"
FAIL_RED = (0xC6, 0x28, 0x28)  # .badge.fail in lab/report/templates/style.css.j2


@pytest.fixture(scope="module")
def finished_run(lab_image, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("html") / "run"
    done = dnslab(*run_args(PLAYBOOK, lab_name("html"), run_dir), timeout=RUN_TIMEOUT)
    assert done.returncode == 1, done.stderr[-3000:]
    return run_dir


def test_the_browser_shows_the_verdict_every_check_and_the_timeline(finished_run):
    chromium = browser.chromium()
    report = json.loads((finished_run / "report.json").read_text())
    page = finished_run / "report.html"
    assert page.is_file() and report["files"]["html"] == "report.html"
    dom = browser.dump_dom(chromium, page)
    assert '<span class="badge fail" id="verdict-badge">FAIL</span>' in dom
    assert len(report["checks"]) == 2
    for check in report["checks"]:
        assert html_text.escape(check["name"], quote=False) in dom
        assert html_text.escape(check["detail"], quote=False) in dom
    assert "<svg" in dom and "What every resolver answered" in dom  # the inline timeline was parsed
    for fault in report["faults"]:
        assert f"{fault['kind']} → {fault['target']}" in dom
    assert '<section id="resolvers">' in dom and "unbound" in dom


def test_a_screenshot_shows_the_page_drawn(finished_run, tmp_path):
    chromium = browser.chromium()
    png = browser.screenshot(chromium, finished_run / "report.html", tmp_path / "report.png", height=1600)
    print(f"screenshot: {png}")
    pixels = (mpimage.imread(png)[:, :, :3] * 255).round()
    assert pixels.shape[:2] == (1600, 1280)
    red = ((abs(pixels - FAIL_RED) <= 3).all(axis=2)).sum()
    assert red > 500, f"the FAIL badge is not drawn in red ({red} pixels)"
    assert (pixels < 250).any(axis=2).mean() > 0.03, "the page looks blank"
