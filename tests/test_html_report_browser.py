"""run-report.html in a real browser: headless Chromium (Debian's package, installed by
.ci/setup-browser.sh) opens the examples run's page from disk, with no network.

Checks that every chart rendered (an SVG with a visible size and drawn bars or lines),
that the page logged no console message or error at all (it has no scripts, and its
Content-Security-Policy would report anything injected), and that the hostile title
is inert: shown as text, no script ran.
"""

from __future__ import annotations

import os

import pytest
from browser import Chromium, chromium_path
from test_html_report import HOSTILE_TITLE, examples_run  # noqa: F401 (fixture)

from conftest import REPO_ROOT

pytestmark = pytest.mark.slow

CHARTS = ("funnel", "dead-letters", "languages", "topics", "duplicates", "throughput")
SCREENSHOT = REPO_ROOT / "docs" / "img" / "run-report.png"

# Evaluated in the page (DevTools bypasses the page's CSP, the page itself runs nothing).
_PROBE = """(() => {
  const charts = {};
  for (const figure of document.querySelectorAll('figure.chart')) {
    const svg = figure.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    charts[figure.id.replace('chart-', '')] = {
      width: box.width, height: box.height,
      shapes: svg ? svg.querySelectorAll('path, rect, polyline, use').length : 0,
      texts: svg ? svg.querySelectorAll('text').length : 0,
    };
  }
  return {
    charts,
    pwned: window.__pwned === undefined ? null : window.__pwned,
    scripts: document.querySelectorAll('script').length,
    clusterTitles: [...document.querySelectorAll('td.cluster-title')].map(
      td => td.firstChild ? td.firstChild.textContent : ''),
    injectedHeadings: document.querySelectorAll('h1').length,
  };
})()"""


@pytest.fixture(scope="module")
def browser():
    binary = chromium_path()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/setup-browser.sh should have done it")
        pytest.skip("chromium is not installed (run .ci/setup-browser.sh)")
    chromium = Chromium(binary)
    yield chromium
    chromium.close()


def test_report_renders_in_chromium_without_errors_and_hostile_title_is_inert(
    examples_run,  # noqa: F811
    browser,
):
    out, _, _ = examples_run
    visit = browser.visit((out / "run-report.html").as_uri(), _PROBE)
    assert visit.console == []
    found = visit.evaluated
    assert set(found["charts"]) == set(CHARTS)
    for name, chart in found["charts"].items():
        assert chart["width"] > 200 and chart["height"] > 100, name
        assert chart["shapes"] > 5 and chart["texts"] > 2, name
    assert found["pwned"] is None and found["scripts"] == 0
    assert found["injectedHeadings"] == 1
    assert HOSTILE_TITLE in found["clusterTitles"]
    assert visit.screenshot_png.startswith(b"\x89PNG")
    if os.environ.get("NEWSBEAM_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(visit.screenshot_png)


def test_the_browser_check_catches_a_script_and_a_fetch(tmp_path, browser):
    """The same probe on a page that breaks the rules: proves the checks can fail."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'\"></head><body><script>window.__pwned=1</script>"
        "<img src='http://203.0.113.1/x.png'></body></html>"
    )
    visit = browser.visit(page.as_uri(), "window.__pwned === undefined")
    assert visit.evaluated is True  # blocked by the CSP ...
    assert len(visit.console) >= 2  # ... and both violations reported
