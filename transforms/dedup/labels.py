"""Duplicate labels, the representative order and event times (pure).

A label is the record's `duplicate` object: {status, of, similarity} with
status unique (of/similarity None), exact (of = representative, 1.0) or near
(of = representative, similarity = measured Jaccard with it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

UNIQUE = "unique"
EXACT = "exact"
NEAR = "near"
STATUSES = (UNIQUE, EXACT, NEAR)

# Representative order key: (has no date, epoch seconds, id). Sorting by it puts
# the earliest published first, undated articles last, ties broken by id.
OrderKey = tuple[bool, float, str]


def unique_label() -> dict[str, Any]:
    return {"status": UNIQUE, "of": None, "similarity": None}


def exact_label(representative: str) -> dict[str, Any]:
    return {"status": EXACT, "of": representative, "similarity": 1.0}


def near_label(representative: str, similarity: float) -> dict[str, Any]:
    # Rounded so that the same pair gives the same record on every platform.
    return {"status": NEAR, "of": representative, "similarity": round(float(similarity), 6)}


def parse_timestamp(value: str | None) -> float | None:
    """RFC 3339 / ISO 8601 -> epoch seconds; None when absent or unparseable.

    A timestamp without an offset is taken as UTC.
    """
    if not value:
        return None
    try:
        text = value.strip()
        if text[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat has no "Z"
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    except (ValueError, TypeError, AttributeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def order_key(article_id: str, published_at: str | None) -> OrderKey:
    """Batch representative order: earliest `published_at`, None last, then id."""
    ts = parse_timestamp(published_at)
    return (ts is None, ts if ts is not None else 0.0, article_id)


def event_time(published_at: str | None, ingested_at: str | None) -> float | None:
    """Stream event time: published_at, else ingested_at.

    A published_at later than ingested_at (a typo, a wrong time zone) would
    push the stream's clock into the future and expire everything, so it is
    capped at ingested_at.
    """
    published = parse_timestamp(published_at)
    ingested = parse_timestamp(ingested_at)
    if published is None:
        return ingested
    if ingested is not None and published > ingested:
        return ingested
    return published
