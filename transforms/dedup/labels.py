"""Duplicate labels, the representative order and event times (pure).

A label is the record's `duplicate` object: {status, of, similarity,
containment} with status
- unique: of and similarity None, no containment;
- exact: of = representative, both 1.0;
- contained: this article is a shortened/excerpt version of `of`: its
  shingles are largely inside the representative's (containment >= the
  containment threshold, and it is the shorter of the two) while their
  Jaccard is below the near threshold;
- near: any other duplicate (similar overall, the longer version of a
  shorter representative, or a member of a chain).
`similarity` is the measured Jaccard with the representative, `containment`
the measured |A & B| / |shorter of the two|.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

UNIQUE = "unique"
EXACT = "exact"
NEAR = "near"
CONTAINED = "contained"
STATUSES = (UNIQUE, EXACT, NEAR, CONTAINED)

# Representative order key: (has no date, epoch seconds, id). Sorting by it puts
# the earliest published first, undated articles last, ties broken by id.
OrderKey = tuple[bool, float, str]


def unique_label() -> dict[str, Any]:
    # No `containment`: the field is optional in the record schema (added in a
    # minor version), present only where an overlap was measured.
    return {"status": UNIQUE, "of": None, "similarity": None}


def exact_label(representative: str) -> dict[str, Any]:
    return {"status": EXACT, "of": representative, "similarity": 1.0, "containment": 1.0}


def near_label(
    representative: str, similarity: float, containment: float | None = None
) -> dict[str, Any]:
    # Rounded so that the same pair gives the same record on every platform.
    return {
        "status": NEAR,
        "of": representative,
        "similarity": round(float(similarity), 6),
        "containment": round(float(similarity if containment is None else containment), 6),
    }


def relation_label(
    representative: str,
    similarity: float,
    containment: float,
    *,
    shorter: bool,
    near_threshold: float,
    containment_threshold: float,
) -> dict[str, Any]:
    """The label of an article measured against its representative.

    `shorter`: the article has fewer distinct shingles than the representative.
    """
    label = near_label(representative, similarity, containment)
    if shorter and similarity < near_threshold and containment >= containment_threshold:
        label["status"] = CONTAINED
    return label


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
