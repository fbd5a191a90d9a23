"""Durable story state of the stream: what is written per article, and the rebuild
on start (pure, no Beam; the store contract is the dedup window's `WindowStore`).

Written (`StateChanges`, keys and values in state_codec.py): for an article that is
new evidence (founds or joins a story) its story's record, its label and the terms it
added to the document frequencies (a delta); for a duplicate that inherits a story,
its label; for a replay, nothing. An expired story is deleted with its labels
(tombstones). Once the deltas hold as many terms as the frequency table (or after
`SNAPSHOT_EVERY` deltas) the frequencies are written whole, in chunks keyed by their
article count, and once that snapshot is durable the previous
one and the deltas it covers are deleted: the store holds about the active stories,
their labels, one frequency table and fewer than `SNAPSHOT_EVERY` deltas.

Restored (`restore_stories`): last value per key wins; values of another state
version or that cannot be decoded are skipped (counted per reason) and deleted; the
frequencies are the newest complete snapshot plus the contiguous deltas after it; the
clock is the stored clock (or the newest story's time), and stories already out of the
window at that clock are expired (deleted too).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from newsbeam.transforms.dedup.window_store import StoreRecord
from newsbeam.transforms.story.clusterer import DocumentFrequencies, Story, StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.state_codec import (
    META_KEY,
    ChunkRecord,
    DeltaRecord,
    LabelRecord,
    MetaRecord,
    Record,
    StateCodecError,
    StoryRecord,
    chunk_key,
    decode,
    delta_key,
    encode,
    label_key,
    state_version,
    story_key,
)

LOG = logging.getLogger(__name__)

# A snapshot of the document frequencies is written once the deltas since the last one
# hold as many terms as the table (at least MIN_SNAPSHOT_TERMS), or after SNAPSHOT_EVERY
# deltas: the deltas stored never outweigh the table, and a snapshot costs each article
# about what its delta does (bench_story_state.py).
SNAPSHOT_EVERY = 1_000
MIN_SNAPSHOT_TERMS = 10_000
# Terms per snapshot chunk: ~150 KB values, well under Kafka's 1 MB default limit.
CHUNK_TERMS = 10_000


@dataclass
class RestoredStories:
    index: StoryIndex
    records: int = 0
    # reason -> count: "unreadable", "state_version", "orphan_label", "df_gap".
    skipped: dict[str, int] = field(default_factory=dict)
    expired: int = 0
    stale_keys: list[str] = field(default_factory=list)
    # The snapshot the frequencies came from and the deltas after it (still stored).
    snapshot: tuple[int, int] | None = None
    deltas: list[int] = field(default_factory=list)
    delta_terms: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def restore_stories(records: Iterable[StoreRecord], config: StoryConfig) -> RestoredStories:
    wanted = state_version(config)
    index = StoryIndex(config, expired_log=[])
    result = RestoredStories(index)
    # key -> its record, None when deleted, (reason, why) when it cannot be used.
    latest: dict[str, Record | tuple[str, str] | None] = {}
    for raw_key, value in records:
        result.records += 1
        if raw_key is None:  # not written by newsbeam: nothing to delete it by
            _skip(result, "unreadable", None, "a record without a key")
            continue
        key = raw_key.decode("utf-8", "replace")
        latest[key] = None if value is None else _decoded(key, value, wanted)

    stories: list[Story] = []
    labels: dict[str, tuple[str, float]] = {}
    snapshots: dict[int, dict[int, ChunkRecord]] = {}
    deltas: dict[int, DeltaRecord] = {}
    meta = MetaRecord(float("-inf"), 0)
    for key, record in latest.items():
        if isinstance(record, tuple):
            _skip(result, record[0], key, record[1])
        elif isinstance(record, StoryRecord):
            stories.append(Story(record.id, dict(record.centroid), record.size, record.last_time))
        elif isinstance(record, LabelRecord):
            labels[key[2:]] = (record.story_id, record.similarity)
        elif isinstance(record, ChunkRecord):
            snapshots.setdefault(record.documents, {})[record.index] = record
        elif isinstance(record, DeltaRecord):
            deltas[record.documents] = record
        elif isinstance(record, MetaRecord):
            meta = record
    del latest
    live = {story.id for story in stories}
    for article_id in [a for a, (story_id, _) in labels.items() if story_id not in live]:
        # Its story's tombstone was written, its own not yet (a kill between them).
        del labels[article_id]
        _skip(result, "orphan_label", label_key(article_id), "its story is not stored")

    index.frequencies = _frequencies(result, snapshots, deltas, config)
    index.clock = max([meta.clock, *(story.last_time for story in stories)])
    index.expired = meta.expired
    index.restore(stories, labels)
    assert index.expired_log is not None
    for story in index.expired_log:
        result.expired += 1
        result.stale_keys.append(story_key(story.id))
        result.stale_keys.extend(label_key(member) for member in story.members)
    index.expired_log.clear()
    return result


def _decoded(key: str, value: bytes, wanted: list) -> Record | tuple[str, str]:
    try:
        version, record = decode(key, value)
    except StateCodecError as exc:
        return "unreadable", str(exc)
    if version != wanted:
        return "state_version", f"version {version}, job uses {wanted}"
    return record


def _frequencies(
    result: RestoredStories,
    snapshots: dict[int, dict[int, ChunkRecord]],
    deltas: dict[int, DeltaRecord],
    config: StoryConfig,
) -> DocumentFrequencies:
    frequencies = DocumentFrequencies(config.max_vocabulary)
    complete = [
        n
        for n, chunks in snapshots.items()
        if chunks and all(len(chunks) == c.count for c in chunks.values())
    ]
    base = max(complete, default=0)
    for n, chunks in snapshots.items():
        if n != base:  # an older snapshot, or a newer one a kill left incomplete
            result.stale_keys.extend(chunk_key(n, i) for i in chunks)
    if base:
        result.snapshot = (base, len(snapshots[base]))
        for i in sorted(snapshots[base]):
            frequencies.counts.update(snapshots[base][i].counts)
        frequencies.documents = base
    for n in sorted(deltas):
        if n <= base:
            result.stale_keys.append(delta_key(n))
        elif n == frequencies.documents + 1:
            frequencies.add(deltas[n].terms)
            result.deltas.append(n)
            result.delta_terms += len(deltas[n].terms)
        else:
            # A gap (a delta lost to a kill mid-flush): later ones cannot be applied in
            # order, and their numbers will be written again.
            _skip(result, "df_gap", delta_key(n), f"delta {n} after {frequencies.documents}")
    return frequencies


def _skip(result: RestoredStories, reason: str, key: str | None, why: str) -> None:
    count = result.skipped.get(reason, 0)
    result.skipped[reason] = count + 1
    if key is not None:
        result.stale_keys.append(key)
    if count < 3:  # a few examples, not one line per record of a foreign topic
        LOG.warning("story state store: skipped %s (%s): %s", key, reason, why)


# (key, value) to put, or (key, None) to delete, in the order they must be applied.
Change = tuple[str, bytes | None]


class StateChanges:
    """Turns what the core did into store writes, coalesced per key until taken."""

    def __init__(self, config: StoryConfig) -> None:
        self._version = state_version(config)
        self._pending: dict[str, bytes | None] = {}
        self._snapshot: tuple[int, int] | None = None  # (articles, chunks) stored
        self._deltas: list[int] = []
        self._delta_terms = 0
        # Deleted once the snapshot that replaces them is durable.
        self._superseded: list[str] = []
        self._clock: float | None = None

    def adopt(self, restored: RestoredStories) -> None:
        for key in restored.stale_keys:
            self._set(key, None)
        self._snapshot = restored.snapshot
        self._deltas = list(restored.deltas)
        self._delta_terms = restored.delta_terms
        self._clock = restored.index.clock

    def record(
        self,
        index: StoryIndex,
        article_id: str,
        terms: Iterable[str],
        story_id: str,
        similarity: float,
        *,
        new_evidence: bool,
        new_label: bool,
    ) -> None:
        """After `index.assign`: what it changed (expiries first, as they happened)."""
        for story in index.expired_log or ():
            self._set(story_key(story.id), None)
            for member in story.members:
                self._set(label_key(member), None)
        if index.expired_log:
            index.expired_log.clear()
        if new_evidence:
            assert index.frequencies is not None
            documents = index.frequencies.documents
            delta = DeltaRecord(documents, list(terms))
            self._set(delta_key(documents), encode(delta, self._version))
            self._deltas.append(documents)
            self._delta_terms += len(delta.terms)
            story = index.stories[story_id]
            centroid = list(story.centroid.items())
            record = StoryRecord(story.id, centroid, story.size, story.last_time)
            self._set(story_key(story_id), encode(record, self._version))
        if new_label:
            label = LabelRecord(story_id, similarity)
            self._set(label_key(article_id), encode(label, self._version))

    def take(self, index: StoryIndex) -> list[Change]:
        """Everything to write before the bundle's articles leave (clock, and a snapshot
        of the frequencies when due); call `flushed()` once it is durable."""
        if index.clock != self._clock:
            self._clock = index.clock
            self._set(META_KEY, encode(MetaRecord(index.clock, index.expired), self._version))
        frequencies = index.frequencies
        assert frequencies is not None
        since = self._snapshot[0] if self._snapshot else 0
        if frequencies.documents - since >= SNAPSHOT_EVERY or self._delta_terms >= max(
            len(frequencies.counts), MIN_SNAPSHOT_TERMS
        ):
            self._write_snapshot(frequencies)
        changes, self._pending = list(self._pending.items()), {}
        return changes

    def flushed(self) -> None:
        """The changes taken are durable: what a new snapshot replaced can go."""
        for key in self._superseded:
            self._set(key, None)
        self._superseded = []

    def _write_snapshot(self, frequencies: DocumentFrequencies) -> None:
        documents = frequencies.documents
        items = list(frequencies.counts.items())
        chunks = [items[i : i + CHUNK_TERMS] for i in range(0, len(items), CHUNK_TERMS)] or [[]]
        for i, counts in enumerate(chunks):
            record = ChunkRecord(documents, i, len(chunks), counts)
            self._set(chunk_key(documents, i), encode(record, self._version))
        if self._snapshot is not None:
            old, count = self._snapshot
            self._superseded.extend(chunk_key(old, i) for i in range(count))
        self._superseded.extend(delta_key(n) for n in self._deltas if n <= documents)
        self._deltas = []
        self._delta_terms = 0
        self._snapshot = (documents, len(chunks))

    def _set(self, key: str, value: bytes | None) -> None:
        # Moved to the end: the last change of a key is written last.
        self._pending.pop(key, None)
        self._pending[key] = value
