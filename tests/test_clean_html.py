"""HTML path: extraction + text rules on the fixtures, guards, and the killable worker."""

from __future__ import annotations

import pytest
from clean_fixtures import html_cases, read_html_case

from newsbeam.schemas.article import Article, Source
from newsbeam.transforms.clean.article_cleaner import ArticleCleaner, open_article_cleaner
from newsbeam.transforms.clean.config import CleanConfig
from newsbeam.transforms.clean.extraction_worker import ExtractionWorker
from newsbeam.transforms.clean.html_extractor import ExtractionError, HtmlGuards, extract_html
from newsbeam.transforms.clean.rules import load_rules
from newsbeam.transforms.clean.shingle_score import mean_f1, score
from newsbeam.transforms.clean.text_cleaner import TextCleaner


@pytest.fixture(scope="module")
def cleaner() -> ArticleCleaner:
    return ArticleCleaner(TextCleaner(load_rules()), extract_html)


def _html_article(html: str, **fields) -> Article:
    return Article(
        id="a1", source=Source(kind="file", uri="page.html"), raw=html, html=html, **fields
    )


def test_html_fixtures_mean_f1_at_least_095(cleaner: ArticleCleaner) -> None:
    scores = []
    for name in html_cases():
        raw, gold, _ = read_html_case(name)
        outcome = cleaner.clean(_html_article(raw))
        assert outcome.article is not None, outcome.dead_letter
        scores.append(score(outcome.article.text, gold))
    assert mean_f1(scores) >= 0.95, [
        (n, round(s.f1, 3)) for n, s in zip(html_cases(), scores, strict=True)
    ]


@pytest.mark.parametrize("name", html_cases())
def test_html_fixture_metadata(cleaner: ArticleCleaner, name: str) -> None:
    raw, gold, meta = read_html_case(name)
    article = cleaner.clean(_html_article(raw)).article
    assert article is not None
    assert article.html is None
    assert article.title == meta["title"]
    assert article.authors == meta["authors"]
    assert article.published_at is not None and article.published_at.startswith(
        meta["published_at"]
    )
    assert article.url == meta["url"]
    assert score(article.text, gold).f1 >= 0.9


def test_aggressive_html_keeps_lists_and_quoted_headline(cleaner: ArticleCleaner) -> None:
    raw, gold, _ = read_html_case("aggressive_school_closures.html")
    article = cleaner.clean(_html_article(raw)).article
    assert article is not None
    assert score(article.text, gold).recall == 1.0
    assert "“Save Our Schools — Before It’s Too Late”" in article.text.split("\n\n")


def test_text_rules_run_on_extracted_text(cleaner: ArticleCleaner) -> None:
    raw, _, _ = read_html_case("meridian_rate_decision.html")
    article = cleaner.clean(_html_article(raw)).article
    assert article is not None
    for reason in ("repeated-lead", "paywall", "credit-line", "inline-related-link"):
        assert article.removed.get(reason, 0) >= 1, article.removed
    assert "With assistance" not in article.text


def test_record_fields_win_over_page_metadata(cleaner: ArticleCleaner) -> None:
    raw, _, _ = read_html_case("harbour_port_strike.html")
    article = cleaner.clean(
        _html_article(
            raw, title="Strike at Port Alden", url="https://feed.example/1", authors=["Desk"]
        )
    ).article
    assert article is not None
    assert (article.title, article.url, article.authors) == (
        "Strike at Port Alden",
        "https://feed.example/1",
        ["Desk"],
    )
    assert article.published_at == "2024-03-03T07:45:00Z"


def test_binary_junk_is_extraction_failed(cleaner: ArticleCleaner) -> None:
    junk = bytes(range(256)).decode("latin-1") * 200
    outcome = cleaner.clean(_html_article(junk))
    assert outcome.dead_letter is not None
    assert outcome.dead_letter.reason == "extraction_failed"
    assert outcome.dead_letter.raw == junk


def test_page_without_text_is_extraction_failed(cleaner: ArticleCleaner) -> None:
    outcome = cleaner.clean(_html_article("<html><body><div><img src='a.png'></div></body></html>"))
    assert outcome.dead_letter is not None and outcome.dead_letter.reason == "extraction_failed"


def test_page_of_only_furniture_is_empty_after_cleaning(cleaner: ArticleCleaner) -> None:
    page = "<html><body><div><p>Advertisement</p><p>© 2024 City Herald</p></div></body></html>"
    outcome = cleaner.clean(_html_article(page))
    assert outcome.dead_letter is not None
    assert outcome.dead_letter.reason == "empty_after_cleaning"
    assert outcome.dead_letter.stage == "clean" and outcome.dead_letter.id == "a1"


def test_mojibake_is_repaired() -> None:
    raw, _, _ = read_html_case("greenway_housing_vote.html")
    broken = raw.replace("Janet Ellery", "RenÃ©e Ellery")
    assert "Renée Ellery" in extract_html(broken).text


def test_huge_page_is_cut_to_the_guard() -> None:
    raw, _, _ = read_html_case("harbour_port_strike.html")
    filler = "<div><p>Filler paragraph of a very long page that goes on.</p></div>" * 5000
    page = raw.replace("</body>", filler + "</body>")
    result = extract_html(page, HtmlGuards(max_chars=len(raw) + 1000))
    assert result.truncated
    assert "dockworkers" in result.text


@pytest.mark.slow
def test_worker_times_out_then_recovers() -> None:
    raw, gold, _ = read_html_case("harbour_port_strike.html")
    heavy = (
        "<html><body>"
        + "<div><p>Paragraph with several words to parse.</p></div>" * 40000
        + "</body></html>"
    )
    with ExtractionWorker(time_limit_s=0.05, guards=HtmlGuards(max_chars=10_000_000)) as worker:
        with pytest.raises(ExtractionError) as info:
            worker.extract(heavy)
        assert info.value.reason == "timeout"
        assert worker.restarts == 1
        worker.time_limit_s = 30.0
        result = worker.extract(raw)  # a fresh child serves the next page
        assert score(result.text, gold).recall > 0.95
        assert result.authors == ["Maria Okonkwo", "Tom Reyes"]


def test_worker_reports_extraction_errors_and_survives_deep_nesting() -> None:
    deep = "<html><body>" + "<div>" * 50000 + "<p>deep</p>" + "</div>" * 50000 + "</body></html>"
    junk = "\x00\x01\x02\x03" * 1000
    raw, _, _ = read_html_case("greenway_housing_vote.html")
    with ExtractionWorker(time_limit_s=30.0) as worker:
        for page in (deep, junk):
            with pytest.raises(ExtractionError) as info:
                worker.extract(page)
            assert info.value.reason == "extraction_failed"
        assert worker.extract(raw).title.startswith("Councillors approve")
        assert worker.restarts == 0


@pytest.mark.slow
def test_timeout_becomes_a_dead_letter_with_the_original_payload() -> None:
    heavy = "<html><body>" + "<div><p>Words to parse in a long page.</p></div>" * 40000 + "</body>"
    config = CleanConfig(html_time_limit_s=0.05, html_max_chars=10_000_000)
    with open_article_cleaner(config) as cleaner:
        outcome = cleaner.clean(_html_article(heavy))
    assert outcome.dead_letter is not None
    assert outcome.dead_letter.reason == "timeout"
    assert outcome.dead_letter.stage == "clean"
    assert outcome.dead_letter.raw == heavy
