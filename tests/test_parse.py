import pytest

from newsbeam.schemas.article import Article, Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.parse import (
    parse_json_object,
    parse_raw_text,
    parse_timestamp,
    stable_id,
)

SRC = Source(kind="file", uri="file:///feeds/a.jsonl", line=3)


def test_json_fields_are_mapped():
    article = parse_json_object(
        {
            "id": 42,
            "url": "https://x.example/a",
            "title": "  Budget   passes ",
            "text": "Body text.",
            "published_at": "2024-03-14T18:05:00+01:00",
            "author": "By Jane Doe and John Roe",
            "language": "EN_us",
        },
        SRC,
        "{}",
    )
    assert isinstance(article, Article)
    assert article.id == "42"
    assert article.title == "Budget passes"
    assert article.authors == ["Jane Doe", "John Roe"]
    assert article.published_at == "2024-03-14T17:05:00Z"
    assert article.language_hint == "en-us"
    assert article.html is None and article.text == "Body text."


def test_html_used_when_text_missing():
    article = parse_json_object({"html": "<p>x</p>"}, SRC, "{}")
    assert article.html == "<p>x</p>" and article.text == ""


def test_missing_id_gets_a_stable_id_from_the_position():
    first = parse_json_object({"text": "a"}, SRC, "{}")
    again = parse_json_object({"text": "a"}, SRC, "{}")
    elsewhere = parse_json_object({"text": "a"}, Source(kind="file", uri=SRC.uri, line=4), "{}")
    assert first.id == again.id == stable_id(SRC)
    assert first.id != elsewhere.id


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"title": "only a title"}, "no_text"),
        ({"text": "   "}, "no_text"),
        ({"text": ["a", "b"]}, "invalid_field"),
        ({"text": "ok", "authors": [1, 2]}, "invalid_field"),
        ({"text": "ok", "title": {"nested": True}}, "invalid_field"),
    ],
)
def test_unusable_records_become_dead_letters(obj, reason):
    result = parse_json_object(obj, SRC, "raw payload")
    assert isinstance(result, DeadLetter)
    assert result.reason == reason and result.stage == "parse"
    assert result.raw == "raw payload"


def test_raw_text_and_html():
    assert parse_raw_text("Hello", SRC, is_html=False).text == "Hello"
    page = parse_raw_text("<html></html>", SRC, is_html=True)
    assert page.html == "<html></html>" and page.text == ""
    assert isinstance(parse_raw_text(" \n", SRC, is_html=False), DeadLetter)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-14", "2024-03-14T00:00:00Z"),
        ("2024-03-14T18:05:00Z", "2024-03-14T18:05:00Z"),
        ("2024-03-14T18:05:00.123+01:00", "2024-03-14T17:05:00Z"),
        ("Thu, 29 Feb 2024 19:45:00 +0000", "2024-02-29T19:45:00Z"),
        (1694541600, "2023-09-12T18:00:00Z"),
        (1694541600000, "2023-09-12T18:00:00Z"),
        ("yesterday", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_timestamps_are_normalised_to_rfc3339_utc(value, expected):
    assert parse_timestamp(value) == expected
