"""The JSON Schema files and the code's record types must not drift apart."""

import dataclasses

from newsbeam.schemas.article import OPTIONAL_FIELDS, REQUIRED_FIELDS, Article, Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.schemas.validation import (
    ARTICLE_SCHEMA,
    DEAD_LETTER_SCHEMA,
    load_schema,
    validation_errors,
)

VERSION = "newsbeam/test"


def _full_article() -> Article:
    return Article(
        id="a1",
        source=Source(kind="kafka", uri="kafka://b:9092/raw", topic="raw", partition=0, offset=7),
        raw="{}",
        text="Body.\n\nMore body.",
        url="https://x.example/a",
        title="Title",
        authors=["Jane Doe"],
        published_at="2024-01-02T03:04:05Z",
        language_hint="de",
        language="en",
        language_score=0.99,
        language_alternatives=[{"language": "en", "score": 0.99}],
        removed={"related-headlines": 3},
        content_hash="0" * 32,
        duplicate={"status": "near", "of": "a0", "similarity": 0.91, "containment": 0.95},
        topics=[{"label": "politics", "score": 0.8}],
        story={"id": "a0", "similarity": 0.42},
        ingested_at="2024-01-02T03:05:00Z",
    )


def test_schema_fields_match_the_record_type():
    schema = load_schema(ARTICLE_SCHEMA)
    assert tuple(schema["required"]) == REQUIRED_FIELDS
    assert set(schema["properties"]) == set(REQUIRED_FIELDS) | set(OPTIONAL_FIELDS)
    record = _full_article().to_record(pipeline_version=VERSION)
    assert set(record) == set(schema["properties"])
    assert set(schema["properties"]["source"]["properties"]) == {
        f.name for f in dataclasses.fields(Source)
    }


def test_a_full_record_validates():
    record = _full_article().to_record(pipeline_version=VERSION)
    assert validation_errors(record) == []
    assert record["language_hint"] == {"value": "de", "agrees": False}


def test_a_minimal_record_validates():
    article = Article(
        id="x",
        source=Source(kind="file", uri="file:///a.txt"),
        raw="",
        ingested_at="2024-01-01T00:00:00Z",
    )
    record = article.to_record(pipeline_version=VERSION)
    assert validation_errors(record) == []
    assert "language_alternatives" not in record and "language_hint" not in record
    assert "story" not in record  # the story stage did not run


def test_the_schema_catches_bad_records():
    record = _full_article().to_record(pipeline_version=VERSION)
    record["duplicate"]["status"] = "maybe"
    record["published_at"] = "14/03/2024"
    record["surprise"] = 1
    errors = "\n".join(validation_errors(record))
    assert "maybe" in errors and "14/03/2024" in errors and "surprise" in errors


def test_dead_letter_schema_matches_the_record_type():
    letter = DeadLetter(
        stage="parse",
        reason="no_text",
        error="nothing",
        source=Source("file", "file:///a"),
        raw="x" * 10,
    )
    record = letter.to_record(pipeline_version=VERSION)
    assert validation_errors(record, DEAD_LETTER_SCHEMA) == []
    assert set(record) == set(load_schema(DEAD_LETTER_SCHEMA)["properties"])


def test_huge_dead_letter_payload_is_truncated_but_measured():
    letter = DeadLetter(
        stage="read", reason="x", error="e", source=Source("file", "f"), raw="y" * 3_000_000
    )
    record = letter.to_record(pipeline_version=VERSION)
    assert record["raw_truncated"] is True and record["raw_length"] == 3_000_000
    assert len(record["raw"]) < 3_000_000


def test_article_replace_is_dataclasses_replace():
    article = _full_article()
    fields = [f.name for f in dataclasses.fields(Article)]
    for index, name in enumerate(fields):
        changed = article.replace(**{name: f"new-{index}"})
        assert changed == dataclasses.replace(article, **{name: f"new-{index}"})
        assert getattr(changed, name) == f"new-{index}"
        assert article != changed  # a copy: the original keeps its value
    both = article.replace(topics=[], story=None)
    assert both == dataclasses.replace(article, topics=[], story=None)
    assert article.replace() == article and article.replace() is not article
    try:
        article.replace(no_such_field=1)
    except TypeError as error:
        assert "no_such_field" in str(error)
    else:
        raise AssertionError("an unknown field must raise TypeError, as dataclasses.replace")
