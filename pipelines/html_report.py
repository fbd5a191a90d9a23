"""run-report.html: the run report as one self-contained page with charts.

Built from run-report.json (the counts) and the run's output files (cluster titles,
dead-letter examples; see run_outputs.py). The page loads nothing: CSS and SVG charts
are inline and a Content-Security-Policy forbids scripts and any fetch, so it reads
the same offline, from a file, or as a CI artifact. Every string that comes from an
article or an input (titles, URLs, sources, error messages, options) is escaped with
`html.escape`; matplotlib escapes the chart labels it writes.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from apache_beam.io.filesystems import FileSystems

from newsbeam.pipelines.charts import bar_chart, line_chart
from newsbeam.pipelines.run_outputs import RunOutputs, scan_outputs

logger = logging.getLogger(__name__)

HTML_REPORT_NAME = "run-report.html"
DUPLICATE_STATUSES = ("unique", "exact", "near")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;
padding:1rem 1.5rem;color:#1d2430;background:#fff}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .4rem;
border-bottom:1px solid #d8dde6;padding-bottom:.2rem}
.kpis{display:flex;flex-wrap:wrap;gap:.6rem;margin:.8rem 0}
.kpi{border:1px solid #d8dde6;border-radius:6px;padding:.4rem .8rem;min-width:8rem}
.kpi b{display:block;font-size:1.3rem}.muted{color:#5b6577}
.row{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem;align-items:start}
figure{margin:0}figure svg{width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:.2rem .4rem;border-bottom:1px solid #eceff4;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px;word-break:break-all}.warn{color:#a8433b;font-weight:600}
@media (max-width:800px){.row{grid-template-columns:1fr}}
"""


def write_html_report(output_dir: str, report: dict[str, Any]) -> str:
    """Scan the run's outputs, render the page and write it beside run-report.json."""
    page = render_html(report, scan_outputs(output_dir))
    path = FileSystems.join(output_dir, HTML_REPORT_NAME)
    with FileSystems.create(path) as handle:
        handle.write(page.encode("utf-8"))
    return path


# -- the numbers, from run-report.json -------------------------------------------------


def funnel(report: dict[str, Any]) -> list[tuple[str, int]]:
    """Articles left after each step: records in -> parsed -> cleaned -> kept -> written."""
    letters = report.get("dead_letters", {})
    early = sum(v for k, v in letters.items() if k.startswith(("read.", "parse.")))
    cleaning = sum(v for k, v in letters.items() if k.startswith("clean."))
    parsed = report.get("articles_parsed", 0)
    cleaned = parsed - cleaning
    return [
        ("records in", parsed + early),
        ("parsed", parsed),
        ("cleaned", cleaned),
        ("kept (after filters)", cleaned - sum(report.get("filtered", {}).values())),
        ("written", report.get("articles_written", 0)),
    ]


def losses(report: dict[str, Any]) -> list[tuple[str, int]]:
    """Where the articles that were not written went: dead letters and filters."""
    rows = [(f"dead letter: {key}", v) for key, v in report.get("dead_letters", {}).items()]
    rows += [(f"filtered: {key}", v) for key, v in report.get("filtered", {}).items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def languages(report: dict[str, Any]) -> list[tuple[str, int]]:
    counters = report.get("stages", {}).get("language", {})
    # Plain codes only: backend.*, hint.* and und.<reason> are other counts.
    return _by_count((k, v) for k, v in counters.items() if "." not in k)


def topics(report: dict[str, Any]) -> list[tuple[str, int]]:
    counters = report.get("stages", {}).get("classify", {})
    return _by_count((k, v) for k, v in counters.items() if not k.startswith("skipped_language."))


def duplicate_statuses(report: dict[str, Any]) -> list[tuple[str, int]]:
    counters = report.get("stages", {}).get("dedup", {})
    return [(status, counters.get(status, 0)) for status in DUPLICATE_STATUSES]


def dead_letters(report: dict[str, Any]) -> list[tuple[str, int]]:
    return _by_count(report.get("dead_letters", {}).items())


def _by_count(items: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(items, key=lambda item: (-item[1], item[0]))


# -- the page ---------------------------------------------------------------------------


def render_html(report: dict[str, Any], outputs: RunOutputs) -> str:
    e = _escape
    wall = report.get("wall_seconds") or 0
    rate = report.get("articles_per_second")
    kpis = [
        ("articles written", f"{report.get('articles_written', 0):,}"),
        ("dead letters", f"{report.get('dead_letters_written', 0):,}"),
        ("files read", f"{report.get('files_read', 0):,}"),
        ("wall time", f"{wall:,.1f} s"),
        ("articles/s", "–" if rate is None else f"{rate:,}"),
    ]
    accounted = report.get("all_articles_accounted_for")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>newsbeam run report – {e(report.get('started_at', ''))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>newsbeam run report</h1>",
        f'<p class="muted">started {e(report.get("started_at", "?"))} · '
        f"{e(report.get('pipeline_version', ''))} · output <code>"
        f"{e(report.get('output_dir', ''))}</code></p>",
        '<div class="kpis">'
        + "".join(f'<div class="kpi"><b>{e(v)}</b>{e(k)}</div>' for k, v in kpis)
        + "</div>",
    ]
    if accounted is False:
        parts.append(
            '<p class="warn" id="unaccounted">Not every parsed article was written, filtered '
            "or dead-lettered: see the counts below.</p>"
        )
    if outputs.unreadable_lines:
        parts.append(
            f'<p class="warn">{outputs.unreadable_lines:,} line(s) of the output files are not '
            "JSON objects (was the folder edited after the run?).</p>"
        )
    parts += _section(
        "funnel",
        "Stage funnel",
        funnel(report),
        "articles",
        extra=_table("Where the rest went", losses(report), "losses", "count"),
    )
    parts += _section(
        "dead-letters",
        "Dead letters by stage and reason",
        dead_letters(report),
        "records",
        extra=_examples(outputs),
    )
    parts += _section("languages", "Languages", languages(report), "articles")
    parts += _section("topics", "Topics (top label per article)", topics(report), "articles")
    parts += _section("duplicates", "Duplicate status", duplicate_statuses(report), "articles")
    parts += _clusters(outputs)
    parts += _throughput(report)
    parts += _provenance(report)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _section(
    key: str, title: str, items: list[tuple[str, int]], unit: str, *, extra: str = ""
) -> list[str]:
    head = f'<section id="{key}"><h2>{_escape(title)}</h2>'
    if not items or not any(value for _, value in items):
        return [head, f'<p class="muted empty">None in this run.</p>{extra}</section>']
    svg = bar_chart(items, xlabel=unit, name=key)
    chart = f'<figure class="chart" id="chart-{key}">{svg}</figure>'
    table = _table(title, items, key, unit)
    return [head, f'<div class="row">{chart}<div>{table}{extra}</div></div></section>']


def _table(caption: str, items: Sequence[tuple[str, int]], key: str, unit: str) -> str:
    rows = "".join(
        f'<tr data-key="{_escape(label)}" data-value="{value}">'
        f'<td>{_escape(label)}</td><td class="n">{value:,}</td></tr>'
        for label, value in items
    )
    return (
        f'<table class="counts" data-table="{_escape(key)}"><thead><tr><th>'
        f'{_escape(caption)}</th><th class="n">{_escape(unit)}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _examples(outputs: RunOutputs) -> str:
    if not outputs.dead_letter_examples:
        return ""
    rows = "".join(
        f"<tr><td>{_escape(key)}</td><td><code>{_escape(example.source)}</code><br>"
        f'<span class="muted">{_escape(example.error)}</span></td></tr>'
        for key, examples in sorted(outputs.dead_letter_examples.items())
        for example in examples
    )
    return (
        '<table id="dead-letter-examples"><thead><tr><th>reason</th><th>example source and '
        f"error</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _clusters(outputs: RunOutputs) -> list[str]:
    head = '<section id="clusters"><h2>Largest duplicate clusters</h2>'
    if not outputs.clusters:
        return [head, '<p class="muted empty">No duplicates in this run.</p></section>']
    rows = []
    for cluster in outputs.clusters:
        title = _escape(cluster.title) if cluster.title else '<span class="muted">(no title)</span>'
        others = "".join(
            f"<li>{_escape(t) if t else '(no title)'}</li>" for t in cluster.member_titles
        )
        statuses = ", ".join(f"{_escape(k)} {v}" for k, v in cluster.statuses.items())
        rows.append(
            f'<tr data-representative="{_escape(cluster.representative_id)}" '
            f'data-value="{cluster.duplicates}"><td class="cluster-title">{title}<br><code>'
            f"{_escape(cluster.representative_id)}</code></td>"
            f'<td class="n">{cluster.duplicates:,}</td><td>{statuses}</td>'
            f"<td><ul>{others}</ul></td></tr>"
        )
    return [
        head,
        '<table id="cluster-table"><thead><tr><th>representative</th><th class="n">duplicates'
        "</th><th>status</th><th>some duplicates' titles</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section>",
    ]


def _throughput(report: dict[str, Any]) -> list[str]:
    rows = report.get("throughput") or []
    head = '<section id="throughput"><h2>Throughput over the run</h2>'
    note = (
        f'<p class="muted">{report.get("articles_per_second") or 0:,} articles/s over '
        f"{report.get('wall_seconds') or 0:,} s of wall time (start-up included). Counted in "
        "1 s buckets for the first 2 minutes, then 10 s, then 60 s; the batch job writes "
        "after deduplication has seen every article, so writing comes late in the run.</p>"
    )
    if not rows:
        return [head, note, '<p class="muted empty">No throughput counters.</p></section>']
    series_names = sorted({k for row in rows for k in row if k not in ("start", "width")})
    # One point per bucket, as a rate so that buckets of different widths compare;
    # a gap (no articles in a bucket) is drawn as zero.
    x: list[float] = []
    series: dict[str, list[float]] = {name: [] for name in series_names}
    previous_end = 0
    for row in rows:
        if row["start"] > previous_end:
            x.append(previous_end)
            for name in series_names:
                series[name].append(0.0)
        x.append(row["start"])
        for name in series_names:
            series[name].append(row.get(name, 0) / row["width"])
        previous_end = row["start"] + row["width"]
    x.append(previous_end)
    for name in series_names:
        series[name].append(series[name][-1])
    chart = line_chart(
        x, series, xlabel="seconds since the start", ylabel="articles/s", name="throughput"
    )
    totals = [(name, sum(row.get(name, 0) for row in rows)) for name in series_names]
    return [
        head,
        note,
        f'<div class="row"><figure class="chart" id="chart-throughput">{chart}</figure>'
        f"<div>{_table('Counted in the series', totals, 'throughput', 'articles')}</div></div>"
        "</section>",
    ]


def _provenance(report: dict[str, Any]) -> list[str]:
    inputs = "".join(f"<li><code>{_escape(i)}</code></li>" for i in report.get("inputs", []))
    rows = []
    for group in ("options", "versions"):
        for key, value in (report.get(group) or {}).items():
            rows.append(
                f'<tr data-group="{group}" data-key="{_escape(key)}"><td>{group}</td>'
                f"<td>{_escape(key)}</td><td><code>{_escape(_plain(value))}</code></td></tr>"
            )
    return [
        '<section id="provenance"><h2>Inputs, options and versions</h2>',
        f"<ul>{inputs}</ul>",
        "<table><thead><tr><th></th><th>name</th><th>value</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section>",
    ]


def _plain(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value) or "–"
    return str(value)


def _escape(value: Any) -> str:
    return html.escape(str(value), quote=True)
