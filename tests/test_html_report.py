"""run-report.html: built after every batch run and by `newsbeam report DIR`.

The examples run (plus a feed of hostile articles) is made once per module; the
page is parsed with the standard library's HTMLParser and its numbers compared with
run-report.json, and opened in headless Chromium (the last tests).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from browser import Chromium, chromium_path

from conftest import REPO_ROOT
from newsbeam.cli import main
from newsbeam.pipelines import charts, html_report
from newsbeam.pipelines.run_outputs import RunOutputs
from newsbeam.pipelines.timeline import bucket_start, bucket_width, throughput_series

EXAMPLES = REPO_ROOT / "examples" / "articles"
# A title that would run if it reached the page unescaped (it is also in a duplicate
# cluster, so it shows as the cluster's title), and an id that would break out of an
# attribute.
HOSTILE_TITLE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
HOSTILE_ID = 'evil"><svg onload="window.__pwned=3">'
HOSTILE_BODY = (
    "Harbour authorities in Antwerp said on Tuesday that the new container terminal would "
    "open three months late because cranes ordered from a supplier in Shanghai were held up "
    "by a dispute over customs paperwork and a shortage of qualified crane operators."
)


def hostile_feed() -> str:
    records = [
        {
            "id": HOSTILE_ID,
            "title": HOSTILE_TITLE,
            "url": "javascript:alert(1)",
            "text": HOSTILE_BODY,
        },
        {
            "id": "hostile-copy",
            "title": "</td></tr></table><h1>injected</h1>",
            "text": HOSTILE_BODY,
        },
        {"id": "hostile-empty", "title": "<b>no text</b>", "text": ""},
    ]
    return "\n".join(json.dumps(record) for record in records) + "\n"


@pytest.fixture(scope="module")
def examples_run(tmp_path_factory):
    inputs = tmp_path_factory.mktemp("in")
    shutil.copytree(EXAMPLES, inputs / "articles")
    (inputs / "articles" / "hostile.jsonl").write_text(hostile_feed())
    out = tmp_path_factory.mktemp("out")
    assert main(["-q", "run", str(inputs / "articles"), "--output", str(out)]) == 0
    report = json.loads((out / "run-report.json").read_text())
    page = (out / "run-report.html").read_text()
    return out, report, page


class _Page(HTMLParser):
    """Collects what the tests look at: tables' data rows, figures, tags, attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, int]] = {}
        self.figures: dict[str, int] = {}  # figure id -> <svg> elements inside
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.kpis: dict[str, str] = {}
        self._table: str | None = None
        self._figure: str | None = None
        self._kpi: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs.items()]
        if tag == "table" and "data-table" in attrs:
            self._table = attrs["data-table"]
            self.tables[self._table] = {}
        elif tag == "tr" and self._table and "data-key" in attrs:
            self.tables[self._table][attrs["data-key"]] = int(attrs["data-value"])
        elif tag == "figure":
            self._figure = attrs.get("id")
            self.figures[self._figure] = 0
        elif tag == "svg" and self._figure:
            self.figures[self._figure] += 1
        elif tag == "div" and attrs.get("class") == "kpi":
            self._kpi = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "figure":
            self._figure = None
        elif tag == "div" and self._kpi is not None:
            value, *label = self._kpi
            self.kpis["".join(label)] = value
            self._kpi = None

    def handle_data(self, data):
        if self._kpi is not None:
            self._kpi.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_every_chart_is_present(examples_run):
    _, _, page = examples_run
    figures = _parse(page).figures
    for chart in ("funnel", "dead-letters", "languages", "topics", "duplicates", "throughput"):
        assert figures.get(f"chart-{chart}", 0) >= 1, f"no SVG chart for {chart}"


def test_numbers_equal_run_report_json(examples_run):
    _, report, page = examples_run
    tables = _parse(page).tables
    stages = report["stages"]
    # Expected values computed here from the JSON, independently of html_report.
    assert tables["languages"] == {
        code: n for code, n in stages["language"].items() if "." not in code
    }
    assert (
        tables["languages"]["de"] == 1
        and sum(tables["languages"].values()) == report["articles_written"]
    )
    assert tables["topics"] == {
        k: n for k, n in stages["classify"].items() if not k.startswith("skipped_language.")
    }
    assert tables["duplicates"] == {
        s: stages["dedup"].get(s, 0) for s in ("unique", "exact", "near")
    }
    assert tables["dead-letters"] == report["dead_letters"]
    assert set(report["dead_letters"]) == {"read.malformed_json", "parse.no_text"}
    assert report["dead_letters"]["parse.no_text"] == 2  # the example's and the hostile feed's
    funnel = tables["funnel"]
    assert funnel["parsed"] == report["articles_parsed"]
    assert funnel["written"] == report["articles_written"]
    assert funnel["records in"] == report["articles_parsed"] + sum(report["dead_letters"].values())
    assert tables["losses"] == {f"dead letter: {k}": v for k, v in report["dead_letters"].items()}
    # Throughput: what the series counted is every parsed and every written article.
    assert tables["throughput"] == {
        "parsed": report["articles_parsed"],
        "written": report["articles_written"],
    }
    assert sum(row.get("written", 0) for row in report["throughput"]) == report["articles_written"]
    kpis = _parse(page).kpis
    assert kpis["articles written"] == f"{report['articles_written']:,}"
    assert kpis["dead letters"] == f"{report['dead_letters_written']:,}"
    assert kpis["wall time"] == f"{report['wall_seconds']:,.1f} s"


def test_duplicate_clusters_with_titles(examples_run):
    out, report, page = examples_run
    records = [
        json.loads(line)
        for path in out.glob("articles-*.jsonl")
        for line in path.read_text().splitlines()
    ]
    sizes: dict[str, int] = {}
    for record in records:
        if record["duplicate"]["status"] != "unique":
            sizes[record["duplicate"]["of"]] = sizes.get(record["duplicate"]["of"], 0) + 1
    assert (
        sum(sizes.values())
        == report["stages"]["dedup"]["exact"] + report["stages"]["dedup"]["near"]
    )
    shown = {
        value: None
        for tag, name, value in _parse(page).attributes
        if tag == "tr" and name == "data-representative"
    }
    assert set(shown) == set(sizes)
    titles = {r["id"]: r["title"] for r in records}
    for representative in sizes:
        assert html_report._escape(titles[representative]) in page


def test_hostile_strings_are_escaped(examples_run):
    _, _, page = examples_run
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert HOSTILE_TITLE not in page and HOSTILE_ID not in page
    assert html_report._escape(HOSTILE_TITLE) in page  # shown, as text
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1&gt;injected" in page
    assert "h1" in parsed.tags and parsed.tags.count("h1") == 1  # only the page's own
    assert not [a for a in parsed.attributes if a[1].startswith("on")]  # no event handlers


def test_page_is_self_contained(examples_run):
    _, _, page = examples_run
    parsed = _parse(page)
    assert not {"script", "link", "iframe", "object", "embed", "img"} & set(parsed.tags)
    for tag, name, value in parsed.attributes:
        if name in ("href", "src", "xlink:href", "action", "srcset"):
            assert value.startswith("#"), f"<{tag} {name}={value!r}> points outside the page"
    # CSS and SVG fetch nothing either: only same-document url(#...) references.
    assert re.findall(r"url\((?!#)", page) == []
    assert "@import" not in page
    csp = next(v for t, n, v in parsed.attributes if t == "meta" and n == "content" and "src" in v)
    assert "default-src 'none'" in csp


def test_page_is_well_formed_with_unique_ids_and_resolvable_references(examples_run):
    _, _, page = examples_run
    ids = [value for _, name, value in _parse(page).attributes if name == "id"]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})[:5]
    references = set(re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', page))
    missing = {ref for pair in references for ref in pair if ref and ref not in set(ids)}
    assert missing == set()
    # Each inline chart is well-formed XML (what an SVG viewer or an XML tool needs).
    svgs = re.findall(r"<svg\b.*?</svg>", page, re.S)
    assert len(svgs) == 6
    for svg in svgs:
        ElementTree.fromstring(svg)


def test_report_command_rebuilds_the_same_page(examples_run, capsys):
    out, _, page = examples_run
    (out / "run-report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith("run-report.html")
    # Same inputs, same page: charts are rendered deterministically.
    assert (out / "run-report.html").read_text() == page


def test_report_command_without_a_run_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "run-report.json" in err and "Traceback" not in err and len(err.splitlines()) == 1
    (tmp_path / "run-report.json").write_text("[1, 2")
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(tmp_path)])
    assert exit_info.value.code == 2


def test_report_counts_unreadable_output_lines_instead_of_failing(tmp_path):
    (tmp_path / "articles-00000-of-00001.jsonl").write_text('{"id": "a"}\nnot json\n[1]\n')
    (tmp_path / "dead-letter-00000-of-00001.jsonl").write_text(
        '{"stage": "read", "reason": "x", "source": null, "error": 5}\n'
    )
    from newsbeam.pipelines.run_outputs import scan_outputs

    outputs = scan_outputs(str(tmp_path))
    assert outputs.unreadable_lines == 2
    assert outputs.dead_letter_examples["read.x"][0].source == "unknown source"
    page = html_report.render_html({"stages": {}}, outputs)
    assert "2 line(s) of the output files are not JSON objects" in page
    assert "None in this run." in page  # empty sections say so instead of drawing nothing


# -- pure cores ------------------------------------------------------------------------


def test_funnel_and_losses_with_filters_and_clean_dead_letters():
    report = {
        "articles_parsed": 100,
        "articles_written": 80,
        "dead_letters": {"read.malformed_json": 3, "clean.empty_after_cleaning": 5},
        "filtered": {"language.fr": 10, "duplicate.exact": 5},
    }
    assert html_report.funnel(report) == [
        ("records in", 103),
        ("parsed", 100),
        ("cleaned", 95),
        ("kept (after filters)", 80),
        ("written", 80),
    ]
    assert html_report.losses(report)[0] == ("filtered: language.fr", 10)


def test_timeline_buckets_widen_and_series_add_up():
    assert [bucket_start(s) for s in (0, 0.9, 1.2, 119.9, 120, 131, 1199, 1200, 1259, -3)] == [
        0,
        0,
        1,
        119,
        120,
        130,
        1190,
        1200,
        1200,
        0,
    ]
    assert [bucket_width(s) for s in (0, 119, 120, 1190, 1200)] == [1, 1, 10, 10, 60]
    rows = throughput_series({"written.130": 20, "parsed.0": 5, "parsed.130": 7, "junk": 1})
    assert rows == [
        {"start": 0, "width": 1, "parsed": 5},
        {"start": 130, "width": 10, "written": 20, "parsed": 7},
    ]


def test_chart_labels_are_escaped_and_math_is_not_parsed():
    svg = charts.bar_chart([("<b>x</b> & $y$", 3), ("z", 1)], xlabel="articles")
    assert svg.startswith("<svg") and "<b>" not in svg
    assert "&lt;b&gt;x&lt;/b&gt; &amp; $y$" in svg


def test_bar_chart_folds_a_long_tail_into_other():
    svg = charts.bar_chart([(f"label{i}", 100 - i) for i in range(40)], xlabel="articles")
    assert "label23" in svg and "label24" not in svg and "other (16)" in svg


def test_empty_outputs_render(tmp_path):
    page = html_report.render_html({"stages": {}, "throughput": []}, RunOutputs())
    assert page.count("None in this run.") >= 4 and "No duplicates in this run." in page


# -- in a real browser -------------------------------------------------------------------
# Headless Chromium (Debian's package, installed by .ci/setup-browser.sh) opens the page
# from disk, with no network: every chart rendered (an SVG with a visible size and drawn
# shapes), no console message or error at all (the page has no scripts, and its
# Content-Security-Policy would report anything injected), and the hostile title inert:
# shown as text, no script ran.

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


@pytest.mark.slow
def test_report_renders_in_chromium_without_errors_and_hostile_title_is_inert(
    examples_run, browser
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


@pytest.mark.slow
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
