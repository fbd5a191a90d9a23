"""TextCleaner on its own: fixtures scored by shingle F1, and each behaviour in isolation."""

from __future__ import annotations

import pytest
from clean_fixtures import read_text_case, text_cases

from newsbeam.transforms.clean.rules import load_rules
from newsbeam.transforms.clean.shingle_score import mean_f1, score
from newsbeam.transforms.clean.text_cleaner import TextCleaner
from newsbeam.transforms.clean.text_normalizer import normalize_text


@pytest.fixture(scope="module")
def cleaner() -> TextCleaner:
    return TextCleaner(load_rules())


def test_text_fixtures_mean_f1_at_least_095(cleaner: TextCleaner) -> None:
    scores = []
    for name in text_cases():
        raw, gold, _ = read_text_case(name)
        scores.append(score(cleaner.clean(raw).text, gold))
    assert mean_f1(scores) >= 0.95, [
        (n, round(s.f1, 3)) for n, s in zip(text_cases(), scores, strict=True)
    ]


@pytest.mark.parametrize("name", text_cases())
def test_text_fixture(cleaner: TextCleaner, name: str) -> None:
    raw, gold, meta = read_text_case(name)
    result = cleaner.clean(raw)
    assert score(result.text, gold).recall == 1.0, "an article paragraph was removed"
    assert result.title == meta["title"]
    assert result.authors == meta["authors"]
    missing = [reason for reason in meta["removed"] if reason not in result.removed]
    assert missing == []


def test_aggressive_fixture_keeps_lists_quoted_headline_and_short_paragraph(
    cleaner: TextCleaner,
) -> None:
    raw, gold, _ = read_text_case("aggressive_school_closures.txt")
    text = cleaner.clean(raw).text
    assert text == gold.strip()
    paragraphs = text.split("\n\n")
    for line in (
        "Meadow Lane Infant School",
        "“Save Our Schools — Before It’s Too Late”",
        "It was not enough.",
        "What happens next",
        "Saint Michael's Church of England Primary School",
    ):
        assert line in paragraphs


def _para(*lines: str) -> str:
    return "\n\n".join(lines)


LEAD = (
    "The city council voted on Monday to extend the tram line to the airport, ending a "
    "decade of debate over the project's cost and route."
)
SECOND = (
    "Construction is due to begin next spring and the first trams should run in 2029, "
    "the council's transport committee said in a statement."
)
THIRD = "Opponents said they would challenge the decision in the regional court."
FOURTH = "A public meeting on the route through the old town is planned for June."


@pytest.mark.parametrize(
    ("boilerplate", "reason"),
    [
        ("Home » News » Local", "breadcrumb"),
        ("Follow us on Instagram", "social-links"),
        ("Share this story", "share-prompt"),
        ("This article is reserved for subscribers.", "paywall"),
        ("3 Comments", "comments-widget"),
        ("1000 45", "ad-marker"),
        ("Photo: Anna Berg / City Herald", "photo-credit"),
        ("Copyright 2024 City Herald. All rights reserved.", "copyright"),
        ("With assistance from Ola Nordmann.", "credit-line"),
        ("Subscribe to our weekly newsletter for more city news.", "newsletter"),
        ("Get the City Herald app for breaking news alerts", "promo"),
        ("Related: Tram fares to rise in January", "inline-related-link"),
        ("Tags: trams, transport, council", "tag"),
    ],
)
def test_each_boilerplate_kind_in_the_middle_of_an_article(
    cleaner: TextCleaner, boilerplate: str, reason: str
) -> None:
    result = cleaner.clean(_para(LEAD, boilerplate, SECOND, THIRD))
    assert result.text == _para(LEAD, SECOND, THIRD)
    assert result.removed == {reason: 1}
    dropped = [d for d in result.decisions if not d.kept]
    assert [(d.number, d.reason) for d in dropped] == [(3, reason)]


def test_prose_that_mentions_boilerplate_words_is_kept(cleaner: TextCleaner) -> None:
    sentence = (
        "Readers who subscribe to the council's newsletter were told about the vote a day "
        "early, and several shared the news on Facebook before the official announcement."
    )
    assert cleaner.clean(_para(LEAD, sentence, SECOND)).text == _para(LEAD, sentence, SECOND)


def test_repeated_lead_with_source_prefix_keeps_first(cleaner: TextCleaner) -> None:
    result = cleaner.clean(_para(LEAD, f"BERLIN (Reuters) - {LEAD}", SECOND))
    assert result.text == _para(LEAD, SECOND)
    assert result.removed == {"repeated-lead": 1}


def test_truncated_teaser_is_removed_not_the_full_lead(cleaner: TextCleaner) -> None:
    teaser = LEAD[:80].rsplit(" ", 1)[0] + " …"
    result = cleaner.clean(_para(teaser, LEAD, SECOND))
    assert result.text == _para(LEAD, SECOND)


def test_short_repeated_lines_are_not_repeats(cleaner: TextCleaner) -> None:
    text = _para(LEAD, "“No.”", SECOND, "“No.”", THIRD)
    assert cleaner.clean(text).text == text


def test_headline_list_run_in_body_is_removed_but_sentence_case_run_is_kept(
    cleaner: TextCleaner,
) -> None:
    headlines = [
        "Mayor Unveils Plan For New Harbour Park",
        "Police Appeal For Witnesses After Night Of Vandalism",
        "City Orchestra Announces Free Summer Concerts",
    ]
    result = cleaner.clean(_para(LEAD, *headlines, SECOND, THIRD))
    assert result.text == _para(LEAD, SECOND, THIRD)
    assert result.removed == {"related-headlines": 3}
    steps = [
        "Check the timetable before you travel",
        "Buy a ticket from the machine",
        "Validate it on board",
    ]
    kept = _para(LEAD, *steps, SECOND, THIRD)
    assert cleaner.clean(kept).text == kept


def test_related_marker_claims_teasers_but_not_the_article_after_one_headline(
    cleaner: TextCleaner,
) -> None:
    teasers = [
        "Ferry fares frozen for another year",
        "The ferry operator said single fares would stay at 45 crowns until next summer.",
        "Night buses return to the harbour",
        "Three night bus routes will again serve the harbour district from June.",
    ]
    result = cleaner.clean(_para(LEAD, SECOND, THIRD, "More from City", *teasers))
    assert result.text == _para(LEAD, SECOND, THIRD)
    assert result.removed == {"related-headlines": 5}
    # Headline, then the article goes on (subheading, paragraphs): only the headline goes.
    text = _para(
        LEAD, "Related", "Ferry fares frozen for another year", SECOND, "Next steps", THIRD, FOURTH
    )
    assert cleaner.clean(text).text == _para(LEAD, SECOND, "Next steps", THIRD, FOURTH)


def test_trailing_short_lines_after_last_sentence_are_furniture(cleaner: TextCleaner) -> None:
    result = cleaner.clean(
        _para(LEAD, SECOND, THIRD, "Jobs", "Property", "Council Opens New Library In Northgate")
    )
    assert result.text == _para(LEAD, SECOND, THIRD)
    assert result.removed == {"related-headlines": 1, "site-navigation": 2}


def test_title_byline_and_date_are_extracted(cleaner: TextCleaner) -> None:
    text = _para(
        "Tram line to reach the airport by 2029",
        "By Anna Berg and Jonas de Vries, City Herald",
        "17 March 2024, 09:14",
        LEAD,
        SECOND,
    )
    result = cleaner.clean(text)
    assert result.title == "Tram line to reach the airport by 2029"
    assert result.authors == ["Anna Berg", "Jonas de Vries"]
    assert result.text == _para(LEAD, SECOND)
    assert result.removed == {"byline": 1, "date-line": 1, "title": 1}


def test_given_title_identifies_the_headline_line(cleaner: TextCleaner) -> None:
    text = _para("Politics", "Tram line to reach the airport", LEAD, SECOND)
    result = cleaner.clean(text, title="Tram Line to Reach the Airport")
    assert result.title == "Tram line to reach the airport"
    assert result.text == _para(LEAD, SECOND)


def test_text_starting_with_the_lead_has_no_title(cleaner: TextCleaner) -> None:
    text = _para(LEAD, "What the council decided", SECOND, THIRD)
    result = cleaner.clean(text)
    assert result.title is None
    assert result.text == text  # the subheading stays


def test_sentence_starting_with_by_is_not_a_byline(cleaner: TextCleaner) -> None:
    line = "By Thursday, the council had received more than 400 objections."
    result = cleaner.clean(_para(LEAD, line, SECOND))
    assert result.authors == []
    assert line in result.text


def test_unicode_and_whitespace_normalisation() -> None:
    raw = "Cafe\u0301\u00a0 au\u200b lait\u00ad\tis “hot”\r\nnext\u2028line\ufeff \x07"
    assert normalize_text(raw) == "Café au lait is “hot”\nnext\nline"


def test_mojibake_is_repaired_and_curly_quotes_kept() -> None:
    assert normalize_text("The cafÃ© owner said â€œnoâ€\x9d.") == "The café owner said “no”."
    assert normalize_text("Crème brûlée, “naïve” — façade") == "Crème brûlée, “naïve” — façade"


def test_cleaned_text_is_normalised(cleaner: TextCleaner) -> None:
    raw = f"  {LEAD}\u200b  \r\n\r\n\r\n{SECOND.replace(' ', '  ')}\n"
    assert cleaner.clean(raw).text == _para(LEAD, SECOND)


def test_empty_and_boilerplate_only_texts(cleaner: TextCleaner) -> None:
    assert cleaner.clean("").text == ""
    result = cleaner.clean("Advertisement\n\n© 2024 City Herald")
    assert result.text == ""
    assert result.removed == {"ad-marker": 1, "copyright": 1}


def test_decisions_cover_every_non_blank_line(cleaner: TextCleaner) -> None:
    raw, _, _ = read_text_case("touchline_transfer.txt")
    result = cleaner.clean(raw)
    non_blank = [i + 1 for i, line in enumerate(raw.split("\n")) if line.strip()]
    assert [d.number for d in result.decisions] == non_blank
    assert sum(result.removed.values()) == sum(1 for d in result.decisions if not d.kept)
    table = result.format_decisions()
    assert "drop  repeat (repeated-lead)" in table
