"""Shared by the sink tests: realistic article records and a PostgreSQL scratch schema."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from newsbeam import PIPELINE_VERSION
from newsbeam.schemas.article import Article, Source
from newsbeam.schemas.dead_letter import DeadLetter

POSTGRES_DSN = os.environ.get("NEWSBEAM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

_TEXTS = {
    "en": (
        "Dock workers in Rotterdam extended their strike into a second week on Monday, "
        "leaving more than forty container ships waiting at anchor off the Maasvlakte.\n\n"
        "The union said talks with the terminal operators had broken down over automation "
        "and shift pay, and that no new meeting had been scheduled."
    ),
    "de": (
        "Die Stadt Lyon hat ihren Haushalt für das kommende Jahr vorgestellt. Die Ausgaben "
        "für den öffentlichen Nahverkehr steigen um zwölf Prozent.\n\n"
        "Die Opposition kritisierte die höheren Schulden und forderte Einsparungen."
    ),
    "fr": (
        "Le Rijksmuseum a annoncé mardi que l'exposition Vermeer avait accueilli plus de "
        "650 000 visiteurs, un record pour le musée d'Amsterdam.\n\n"
        "Les billets se sont vendus en quelques jours, et le musée a prolongé ses horaires."
    ),
}


def article_records(count: int = 6) -> list[dict[str, Any]]:
    """`count` varied, schema-valid article records (as Article.to_record makes them)."""
    languages = list(_TEXTS)
    records = []
    for index in range(count):
        language = languages[index % len(languages)]
        text = _TEXTS[language] + f"\n\nUpdate {index}: the story is developing."
        kafka = index % 2 == 1
        source = (
            Source(
                kind="kafka",
                uri="kafka://broker:9092/raw-articles",
                topic="raw-articles",
                partition=index % 3,
                offset=1000 + index,
            )
            if kafka
            else Source(kind="file", uri=f"file:///data/feeds/day-{index}.jsonl", line=index + 1)
        )
        duplicate = (
            {"status": "near", "of": "article-000", "similarity": 0.91, "containment": 0.95}
            if index == 4
            else {"status": "exact", "of": "article-000", "similarity": 1.0, "containment": 1.0}
            if index == 3
            else {"status": "contained", "of": "article-000", "similarity": 0.4, "containment": 0.9}
            if index == 5
            else {"status": "unique", "of": None, "similarity": None}
        )
        article = Article(
            id=f"article-{index:03d}",
            source=source,
            raw=text,
            text=text,
            url=f"https://news.example/{language}/2024/03/story-{index}" if index != 2 else None,
            title=f"Story number {index} ({language})",
            authors=["Helen Carter", "Paulo Ramos"][: index % 3],
            # One with an offset, one without a date at all.
            published_at=(
                None if index == 5 else f"2024-03-{10 + index:02d}T08:{index:02d}:00+02:00"
            ),
            language=language,
            language_score=0.999 - index / 100,
            language_alternatives=(
                [{"language": "nl", "score": 0.2}, {"language": "af", "score": 0.05}]
                if index == 0
                else None
            ),
            language_hint="en" if index in (0, 1) else None,
            removed={"nav": 2, "related_headlines": 5} if index % 2 == 0 else {},
            content_hash=f"{index:032x}",
            duplicate=duplicate,
            topics=[{"label": "economy", "score": 0.8}, {"label": "politics", "score": 0.35}][
                : index % 3
            ],
            ingested_at="2024-03-20T12:00:00.250Z",
        )
        records.append(article.to_record(pipeline_version=PIPELINE_VERSION))
    return records


def dead_letter_records() -> list[dict[str, Any]]:
    letters = [
        DeadLetter(
            stage="read",
            reason="malformed_json",
            error="Expecting value: line 1",
            source=Source(kind="file", uri="file:///data/feed.jsonl", line=7),
            raw='{"id": "x", "text": ',
        ),
        DeadLetter(
            stage="parse",
            reason="no_text",
            error="record has no text or html",
            source=Source(
                kind="kafka", uri="kafka://broker:9092/raw", topic="raw", partition=0, offset=12
            ),
            raw='{"id": "headline-only", "title": "Only a title"}',
            id="headline-only",
        ),
    ]
    return [letter.to_record(pipeline_version=PIPELINE_VERSION) for letter in letters]


def same_instant(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def normalise_times(record: dict[str, Any], fields=("published_at", "ingested_at", "failed_at")):
    """The record with its date-times as aware datetimes (formats differ per store)."""
    out = dict(record)
    for name in fields:
        if out.get(name) is not None:
            out[name] = datetime.fromisoformat(out[name])
    return out


def postgres_available() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES_DSN, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


needs_postgres = pytest.mark.skipif(
    not postgres_available(), reason=f"PostgreSQL not reachable at {POSTGRES_DSN}"
)


@contextlib.contextmanager
def scratch_schema() -> Iterator[str]:
    """A schema of its own for one test, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"newsbeam_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def postgres_rows(query: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def postgres_execute(statements: str) -> None:
    """Run SQL that returns no rows (DDL)."""
    import psycopg

    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(statements)
