"""CleanArticles on the DirectRunner: main and dead-letter outputs, counters."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from clean_fixtures import read_html_case, read_text_case

from newsbeam.schemas.article import Article, Source
from newsbeam.transforms.clean.transform import CleanArticles, CleanConfig


def _article(article_id: str, *, text: str = "", html: str | None = None, **fields) -> Article:
    return Article(
        id=article_id,
        source=Source(kind="file", uri=f"{article_id}.in"),
        raw=html if html is not None else text,
        text=text,
        html=html,
        **fields,
    )


@pytest.mark.slow
def test_clean_articles_on_direct_runner() -> None:
    text_raw, _, _ = read_text_case("touchline_transfer.txt")
    html_raw, _, _ = read_html_case("harbour_port_strike.html")
    junk = bytes(range(256)).decode("latin-1") * 100
    inputs = [
        _article("text", text=text_raw),
        _article("html", html=html_raw),
        _article("only-furniture", text="Advertisement\n\nShare this article\n\n© 2024 Herald"),
        _article("junk", html=junk),
    ]
    pipeline = TestPipeline()
    outputs = pipeline | beam.Create(inputs) | CleanArticles(CleanConfig(html_time_limit_s=30))
    summary = outputs.main | "Main" >> beam.Map(
        lambda a: (a.id, a.title, tuple(a.authors), a.html is None, a.text.count("\n\n") + 1)
    )
    assert_that(
        summary,
        equal_to(
            [
                (
                    "text",
                    "Castellano completes £48m move to Northbridge United",
                    ("Dan Keller",),
                    True,
                    6,
                ),
                (
                    "html",
                    "Port Alden dockworkers walk out as talks over automation collapse",
                    ("Maria Okonkwo", "Tom Reyes"),
                    True,
                    8,
                ),
            ]
        ),
        label="CheckMain",
    )
    dead = outputs.dead_letter | "Dead" >> beam.Map(lambda d: (d.id, d.stage, d.reason, d.raw[:11]))
    assert_that(
        dead,
        equal_to(
            [
                ("only-furniture", "clean", "empty_after_cleaning", "Advertiseme"),
                ("junk", "clean", "extraction_failed", junk[:11]),
            ]
        ),
        label="CheckDead",
    )
    result = pipeline.run()
    result.wait_until_finish()

    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("newsbeam.clean"))[
            "counters"
        ]
    }
    assert counters["articles"] == 2
    assert counters["html_extracted"] == 1
    assert counters["dead_letter.empty_after_cleaning"] == 1
    assert counters["dead_letter.extraction_failed"] == 1
    assert counters["removed.repeated-lead"] == 1
    assert counters["removed.ad-marker"] == 1
    assert counters["removed.related-headlines"] == 4
