"""The article as it moves through the pipeline, and the record it becomes.

`Article` is the in-flight value every stage reads and updates; `to_record()`
turns it into the output contract described by `article.schema.json` (the
current version of versions.ARTICLE; the record carries its major version).
tests/test_schema.py keeps the two from drifting apart.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from typing import Any

from newsbeam.schemas.versions import ARTICLE

# An integer, the major version: what consumers of `schema_version: 1` rely on (see versions.py).
SCHEMA_VERSION = ARTICLE.current.major


@dataclass(slots=True)
class Source:
    """Where an article came from: a file (uri + line) or a Kafka message."""

    kind: str  # "file" | "kafka"
    uri: str
    line: int | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "uri": self.uri,
            "line": self.line,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
        }


def unique_status() -> dict[str, Any]:
    return {"status": "unique", "of": None, "similarity": None}


@dataclass(slots=True)
class Article:
    """One article between parsing and writing.

    `raw` keeps the original payload so that any later stage can dead-letter
    the article with what was actually received.
    """

    id: str
    source: Source
    raw: str
    text: str = ""
    html: str | None = None
    url: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None
    # The input's own claim (its `language` field), recorded but never trusted: the
    # detect-language stage sets `language_hint_agrees` by comparing it with its label.
    language_hint: str | None = None
    language_hint_agrees: bool | None = None
    language: str = "und"
    language_score: float = 0.0
    language_alternatives: list[dict[str, Any]] | None = None
    removed: dict[str, int] = field(default_factory=dict)
    content_hash: str | None = None
    duplicate: dict[str, Any] = field(default_factory=unique_status)
    topics: list[dict[str, Any]] = field(default_factory=list)
    # {"id", "similarity"} from the story stage; None when it did not run.
    story: dict[str, Any] | None = None
    # Event time used for ordering and retention (RFC 3339), see pipelines.
    ingested_at: str | None = None

    def replace(self, **changes: Any) -> Article:
        """A copy with ``changes``: what `dataclasses.replace` gives, about twice as fast
        (every stage calls it per article; every field is an init field, in order)."""
        values = list(_article_values(self))
        for name, value in changes.items():
            try:
                values[_FIELD_INDEX[name]] = value
            except KeyError:
                raise TypeError(f"Article has no field {name!r}") from None
        return Article(*values)

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def to_record(self, *, pipeline_version: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "source": self.source.to_dict(),
            "url": self.url,
            "title": self.title,
            "authors": list(self.authors),
            "published_at": self.published_at,
            "language": self.language,
            "language_score": self.language_score,
            "text": self.text,
            "removed": dict(sorted(self.removed.items())),
            "word_count": self.word_count,
            "content_hash": self.content_hash,
            "duplicate": dict(self.duplicate),
            "topics": list(self.topics),
            "ingested_at": self.ingested_at,
            "pipeline_version": pipeline_version,
            "schema_version": SCHEMA_VERSION,
        }
        if self.language_alternatives is not None:
            record["language_alternatives"] = self.language_alternatives
        if self.story is not None:
            record["story"] = dict(self.story)
        if self.language_hint is not None:
            # Not checked (None) is reported as not agreeing: nothing confirmed the hint.
            record["language_hint"] = {
                "value": self.language_hint,
                "agrees": bool(self.language_hint_agrees),
            }
        return record


_ARTICLE_FIELDS = tuple(f.name for f in dataclasses.fields(Article))
_FIELD_INDEX = {name: index for index, name in enumerate(_ARTICLE_FIELDS)}
_article_values = operator.attrgetter(*_ARTICLE_FIELDS)

# Fields every record carries, in output order (the optional ones are last).
REQUIRED_FIELDS = (
    "id",
    "source",
    "url",
    "title",
    "authors",
    "published_at",
    "language",
    "language_score",
    "text",
    "removed",
    "word_count",
    "content_hash",
    "duplicate",
    "topics",
    "ingested_at",
    "pipeline_version",
    "schema_version",
)
OPTIONAL_FIELDS = ("language_alternatives", "language_hint", "story")
