"""Payload to Article: field mapping, ids and dates (pure, no Beam).

Accepted JSON fields: `id`, `url`, `title`, `text` or `html`, `published_at`,
`author` / `authors`, `language` (a hint, recorded but never trusted). Unknown
fields are ignored. When both `text` and `html` are given, `text` wins: it is
usually the scraper's own extraction and cheaper to clean.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from newsbeam.schemas.article import Article, Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.files.reading import Payload

STAGE = "parse"

_BYLINE_PREFIX = re.compile(r"^\s*by\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*;\s*|\s+and\s+|\s*&\s*", re.IGNORECASE)
# Epoch numbers above this are milliseconds (2001-09-09 in seconds).
_EPOCH_MS_THRESHOLD = 1_000_000_000_000


class FieldError(ValueError):
    """A field has a type or value the record cannot carry."""


def stable_id(source: Source) -> str:
    """Id for an article without one: the same input position gives the same id."""
    position = f"{source.line or 0}:{source.partition or 0}:{source.offset or 0}"
    digest = hashlib.blake2b(f"{source.uri}\n{position}".encode(), digest_size=10)
    return digest.hexdigest()


def parse_payload(payload: Payload, *, ingested_at: str) -> Article | DeadLetter:
    if payload.kind == "json":
        assert isinstance(payload.content, dict)
        return parse_json_object(
            payload.content, payload.source, payload.raw, ingested_at=ingested_at
        )
    assert isinstance(payload.content, str)
    return parse_raw_text(
        payload.content, payload.source, is_html=payload.kind == "html", ingested_at=ingested_at
    )


def parse_raw_text(
    text: str, source: Source, *, is_html: bool, ingested_at: str | None = None
) -> Article | DeadLetter:
    if not text.strip():
        return _dead(source, "no_text", "payload has no text", text, None)
    return Article(
        id=stable_id(source),
        source=source,
        raw=text,
        text="" if is_html else text,
        html=text if is_html else None,
        ingested_at=ingested_at,
    )


def parse_json_object(
    obj: dict[str, Any], source: Source, raw: str, *, ingested_at: str | None = None
) -> Article | DeadLetter:
    article_id = None
    try:
        article_id = _optional_str(obj, "id") or stable_id(source)
        text = _optional_str(obj, "text")
        html = _optional_str(obj, "html")
        if not (text and text.strip()) and not (html and html.strip()):
            return _dead(
                source, "no_text", "record has no non-empty `text` or `html` field", raw, article_id
            )
        use_text = bool(text and text.strip())
        return Article(
            id=article_id,
            source=source,
            raw=raw,
            text=text if use_text else "",
            html=None if use_text else html,
            url=_optional_str(obj, "url"),
            title=_clean_title(_optional_str(obj, "title")),
            authors=_authors(obj),
            published_at=parse_timestamp(obj.get("published_at")),
            language_hint=_language_hint(obj),
            ingested_at=ingested_at,
        )
    except FieldError as exc:
        return _dead(source, "invalid_field", str(exc), raw, article_id)


def parse_timestamp(value: Any) -> str | None:
    """Normalise a date to RFC 3339 UTC (`...Z`); None when absent or unparseable.

    Accepts ISO 8601, RFC 2822 (RSS), and epoch seconds or milliseconds.
    Naive times are taken as UTC.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    moment: datetime | None = None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_THRESHOLD else value
        try:
            moment = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        candidate = value.strip()
        try:
            moment = datetime.fromisoformat(candidate)
        except ValueError:
            try:
                moment = parsedate_to_datetime(candidate)
            # OverflowError: a year of 60 digits (found by fuzzing, tests/fuzz/regressions).
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _optional_str(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError(f"field `{name}` must be a string, got {type(value).__name__}")
    return str(value)


def _clean_title(title: str | None) -> str | None:
    if title is None:
        return None
    title = " ".join(title.split())
    return title or None


def _authors(obj: dict[str, Any]) -> list[str]:
    value = obj.get("authors", obj.get("author"))
    if value is None:
        return []
    if isinstance(value, str):
        names = _AUTHOR_SPLIT.split(_BYLINE_PREFIX.sub("", value))
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        names = [_BYLINE_PREFIX.sub("", v) for v in value]
    else:
        raise FieldError("field `authors` must be a string or a list of strings")
    authors: list[str] = []
    for name in names:
        name = " ".join(name.split())
        if name and name not in authors:
            authors.append(name)
    return authors


def _language_hint(obj: dict[str, Any]) -> str | None:
    hint = _optional_str(obj, "language")
    if hint is None or not hint.strip():
        return None
    return hint.strip().lower().replace("_", "-")


def _dead(source: Source, reason: str, error: str, raw: str, article_id: str | None) -> DeadLetter:
    return DeadLetter(
        stage=STAGE, reason=reason, error=error, source=source, raw=raw, id=article_id
    )
