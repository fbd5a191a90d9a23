"""Event-time order of articles for the story stage (shared by batch and stream)."""

from __future__ import annotations

from newsbeam.schemas.article import Article
from newsbeam.transforms.dedup.labels import event_time

# (has no time, time, id): undated articles last, ties broken by id.
OrderKey = tuple[bool, float, str]


def article_time(article: Article) -> float | None:
    # The stream dedup's event time: published_at, else ingested_at, capped at ingested_at.
    return event_time(article.published_at, article.ingested_at)


def order_key(article_id: str, time: float | None) -> OrderKey:
    return (time is None, time if time is not None else 0.0, article_id)


def representative_of(article: Article) -> str | None:
    """The dedup representative a duplicate inherits its story from (None if unique)."""
    duplicate = article.duplicate or {}
    if duplicate.get("status", "unique") == "unique":
        return None
    return duplicate.get("of")
