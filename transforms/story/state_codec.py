"""The wire format of the stream's story state in a durable store (pure, no Beam).

The store (a compacted Kafka topic, `GROUP-story-changelog`) keeps one value per key.
Anyone with write access to the topic can produce into it, so values are decoded field
by field and checked, never unpickled. This module is the ONLY place that knows the
records' fields on the wire. Keys say what a record is:

- `s:<story id>`: an active story (centroid terms in order, size, last event time);
- `a:<article id>`: the label of an article of an active story (story id, similarity):
  replays and duplicates get their label back after a restart;
- `d:<n>`: the terms of the n-th article added to the document frequencies (a delta);
- `f:<n>:<i>`: chunk i of a snapshot of the document frequencies after n articles
  (deltas up to n are then deleted, so the topic does not grow with the stream);
- `m`: the stream clock and the expiry count.

Layout (format 1): b"NBS" FORMAT(u8) | JSON (orjson). Every value carries the state
version (`state_version`): the features' version and the parameters that shape a
stored vector. Values of another version are skipped (their vectors cannot be compared
with the job's), as are values this code cannot read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from newsbeam.transforms.story.config import StoryConfig

MAGIC = b"NBS"
FORMAT = 1
# Bump when features.py changes what a term or a weight is for text it already indexed
# (a stored vector would mean something else). Not bumped for Chinese and Japanese
# by script: the old terms of those texts were clause prefixes of 3+ characters, never
# equal to a new bigram (2), and equal to a new katakana word only where they were that
# word; stored stories stay comparable and are simply not joined by the new terms.
FEATURES_VERSION = 1

StateVersion = list[Any]


class StateCodecError(ValueError):
    """A stored value that is not a story-state record this code can read."""


def state_version(config: StoryConfig) -> StateVersion:
    """What must match for stored vectors to be comparable with the job's: the
    threshold and the window may change between runs, the weights may not."""
    return [
        FEATURES_VERSION,
        config.token_prefix,
        config.title_weight,
        config.name_weight,
        config.number_weight,
        config.max_chars,
        config.max_article_terms,
        config.max_story_terms,
        config.max_vocabulary,
    ]


@dataclass(frozen=True)
class StoryRecord:
    id: str
    centroid: list[tuple[str, float]]
    size: int
    last_time: float


@dataclass(frozen=True)
class LabelRecord:
    story_id: str
    similarity: float


@dataclass(frozen=True)
class DeltaRecord:
    documents: int
    terms: list[str]


@dataclass(frozen=True)
class ChunkRecord:
    documents: int
    index: int
    count: int
    counts: list[tuple[str, int]]


@dataclass(frozen=True)
class MetaRecord:
    clock: float
    expired: int


Record = StoryRecord | LabelRecord | DeltaRecord | ChunkRecord | MetaRecord


def story_key(story_id: str) -> str:
    return f"s:{story_id}"


def label_key(article_id: str) -> str:
    return f"a:{article_id}"


def delta_key(documents: int) -> str:
    return f"d:{documents}"


def chunk_key(documents: int, index: int) -> str:
    return f"f:{documents}:{index}"


META_KEY = "m"


def encode(record: Record, version: StateVersion) -> bytes:
    body: dict[str, Any] = {"v": version}
    if isinstance(record, StoryRecord):
        _finite(record.last_time, record.id)
        body |= {
            "k": "s",
            "id": record.id,
            "c": record.centroid,
            "n": record.size,
            "t": record.last_time,
        }
    elif isinstance(record, LabelRecord):
        body |= {"k": "a", "s": record.story_id, "p": record.similarity}
    elif isinstance(record, DeltaRecord):
        body |= {"k": "d", "n": record.documents, "terms": record.terms}
    elif isinstance(record, ChunkRecord):
        body |= {
            "k": "f",
            "n": record.documents,
            "i": record.index,
            "of": record.count,
            "c": record.counts,
        }
    else:
        # The clock is -inf before the first dated article: JSON has no infinity.
        clock = record.clock if math.isfinite(record.clock) else None
        body |= {"k": "m", "clock": clock, "x": record.expired}
    return MAGIC + bytes([FORMAT]) + orjson.dumps(body)


def decode(key: str, value: bytes) -> tuple[StateVersion, Record]:
    """(state version, record) of the value stored under `key`; StateCodecError else."""
    if len(value) < 4 or value[:3] != MAGIC:
        raise StateCodecError("not a newsbeam story-state value (bad magic bytes)")
    if value[3] != FORMAT:
        raise StateCodecError(f"story-state format {value[3]}, this version reads {FORMAT}")
    try:
        body = orjson.loads(value[4:])
        if not isinstance(body, dict):
            raise StateCodecError("story-state value is not an object")
        version = body["v"]
        if not isinstance(version, list):
            raise StateCodecError("state version is not a list")
        return version, _record(key, body)
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise StateCodecError(f"malformed story-state value: {type(exc).__name__}: {exc}") from exc


def _record(key: str, body: dict[str, Any]) -> Record:
    kind = body["k"]
    prefix = key.split(":", 1)[0]
    if kind != prefix:
        raise StateCodecError(f"a {kind!r} value under the key {key!r}")
    if kind == "s":
        story_id = _typed(body, "id", str)
        if key != story_key(story_id):
            raise StateCodecError(f"key {key!r} holds the story {story_id!r}")
        centroid = body["c"]
        if not isinstance(centroid, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and _number(p[1])
            for p in centroid
        ):
            raise StateCodecError("bad story centroid")
        size = body["n"]
        if not _int(size) or size < 1:
            raise StateCodecError("bad story size")
        return StoryRecord(
            story_id,
            [(t, float(w)) for t, w in centroid],
            size,
            _finite(body["t"], story_id),
        )
    if kind == "a":
        similarity = body["p"]
        if not _number(similarity):
            raise StateCodecError("bad label similarity")
        return LabelRecord(_typed(body, "s", str), float(similarity))
    if kind == "d":
        documents, terms = body["n"], body["terms"]
        if not _int(documents) or key != delta_key(documents):
            raise StateCodecError(f"key {key!r} holds the delta {documents!r}")
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise StateCodecError("bad delta terms")
        return DeltaRecord(documents, terms)
    if kind == "f":
        documents, index, count, counts = body["n"], body["i"], body["of"], body["c"]
        if not all(_int(n) for n in (documents, index, count)) or not 0 <= index < count:
            raise StateCodecError("bad snapshot chunk numbers")
        if key != chunk_key(documents, index):
            raise StateCodecError(f"key {key!r} holds chunk {index} of snapshot {documents}")
        if not isinstance(counts, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and _int(p[1])
            for p in counts
        ):
            raise StateCodecError("bad snapshot counts")
        return ChunkRecord(documents, index, count, [(t, n) for t, n in counts])
    if kind == "m":
        if key != META_KEY:
            raise StateCodecError(f"a meta value under the key {key!r}")
        clock, expired = body["clock"], body["x"]
        if (clock is not None and not _number(clock)) or not _int(expired):
            raise StateCodecError("bad meta record")
        return MetaRecord(float("-inf") if clock is None else float(clock), expired)
    raise StateCodecError(f"unknown story-state record kind {kind!r}")


def _finite(value: Any, story_id: str) -> float:
    if not _number(value) or not math.isfinite(value):
        raise StateCodecError(f"story {story_id!r} has no finite last event time")
    return float(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _typed(fields: dict[str, Any], name: str, kind: type) -> Any:
    value = fields[name]
    if not isinstance(value, kind):
        raise StateCodecError(f"field {name!r} is not a {kind.__name__}")
    return value
