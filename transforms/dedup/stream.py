"""DeduplicateStream: label each arriving article against a retention window.

Usable right after an unbounded source on the local runner: it uses keyed
state only (no GroupByKey, no timers, neither of which fires there).

All articles go to one key, because a near duplicate can be anywhere in the
window and an LSH lookup needs the whole window's index; the stream stage is
therefore one worker's work at a time (measured in benchmarks/bench_dedup.py).

State and why it is shaped this way. Reading or writing one big state value
per element (ReadModifyWriteState holding the index) re-encodes the whole
window on every article: cost grows with the window. Instead:
- `entries` (BagState) gets one appended `StreamEntry` per new article, so a
  write encodes one entry;
- `meta` (small ReadModifyWriteState) holds the stream clock, a counter, the
  number of entries in the bag and a random token written with every change;
- the DoFn keeps the decoded `StreamIndex` in memory together with the token
  it last wrote. When the stored token matches, the bag is not read at all;
  when it does not (another worker ran the key, a bundle failed and was
  retried, a restart) the index is rebuilt from the bag.
Expired entries stay in the bag until it holds more than twice the live
entries (+ slack); it is then rewritten with the live ones only, so state
stays bounded by about twice the window and the rewrite cost is amortised.

Durable window (optional `store`, see window_store.py). The local runner keeps
Beam state in memory, so a restarted job would start with an empty window. With
a store, the DoFn reads it back in `setup()` and adopts the restored window when
the key has no Beam state yet (a runner that restored its own state wins); every
new entry is put and every expired one deleted. The labelled articles are held
until `finish_bundle`, which flushes the store first and only then emits them:
nothing reaches a sink (and no offset is committed) before its window entry is
durable, so a redelivered article always finds the label it went out with.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.schemas.article import Article
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.entry_codec import encode_entry
from newsbeam.transforms.dedup.labels import STATUSES, event_time
from newsbeam.transforms.dedup.sketch import build_sketch
from newsbeam.transforms.dedup.stream_index import StreamEntry, StreamIndex
from newsbeam.transforms.dedup.window_store import (
    RestoredWindow,
    WindowStore,
    WindowStoreFactory,
    rebuild_window,
)
from newsbeam.transforms.one_key import apply_on_one_key
from newsbeam.transforms.record_guard import DEAD_LETTER, DeadLetterOutput, failure_dead_letter

LOG = logging.getLogger(__name__)
NAMESPACE = "newsbeam.dedup"
STREAM_KEY = "dedup-window"
# Bag entries allowed beyond 2x the live window before it is compacted.
COMPACTION_SLACK = 256

# Entries are stored pre-pickled (bytes): the SDK's state cache re-measures a
# cached bag's deep size on every append (after a read or a clear), which for
# bytes is a flat walk over the list instead of one through every sketch.
ENTRIES_STATE = BagStateSpec("entries", BytesCoder())
META_STATE = ReadModifyWriteStateSpec("meta", PickleCoder())
_ENTRIES_PARAM = beam.DoFn.StateParam(ENTRIES_STATE)
_META_PARAM = beam.DoFn.StateParam(META_STATE)


def _encode(entry: StreamEntry) -> bytes:
    return pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(frozen=True)
class StreamMeta:
    token: bytes
    clock: float
    next_seq: int
    bag_entries: int
    fingerprint_version: tuple[int, ...]


class DeduplicateStreamFn(beam.DoFn):
    """(key, Article) -> Article labelled against the key's retention window."""

    def __init__(self, config: DedupConfig, store: WindowStoreFactory | None = None) -> None:
        self._config = config
        self._store_factory = store
        self._mirrors: dict[Any, tuple[bytes, StreamIndex]] = {}

    def setup(self) -> None:
        self._mirrors = {}
        self._store: WindowStore | None = None
        self._restored: tuple[RestoredWindow, StreamIndex] | None = None
        # Labelled articles of the current bundle, emitted once the store is flushed.
        self._held: list[WindowedValue] = []
        self._status = {status: Metrics.counter(NAMESPACE, status) for status in STATUSES}
        self._replayed = Metrics.counter(NAMESPACE, "replayed_id")
        self._expired = Metrics.counter(NAMESPACE, "expired")
        self._rebuilt = Metrics.counter(NAMESPACE, "state_rebuilt")
        self._compacted = Metrics.counter(NAMESPACE, "state_compacted")
        self._window = Metrics.gauge(NAMESPACE, "window_articles")
        self._restore_counters = {
            name: Metrics.counter(NAMESPACE, name)
            for name in ("restored", "restore_expired", "restore_skipped")
        }
        if self._store_factory is not None:
            self._store = self._store_factory.open()
            self._restored = self._restore(self._store)

    def start_bundle(self) -> None:
        self._held = []  # a failed bundle's articles are re-read, never emitted late

    def _restore(self, store: WindowStore) -> tuple[RestoredWindow, StreamIndex]:
        started = time.monotonic()
        LOG.info("dedup window: reading %s", store.describe())
        window = rebuild_window(store.load(), self._config)
        LOG.info(
            "dedup window: restoring %d entries from %s (%d records read; "
            "%d expired, %d skipped%s)",
            len(window.entries),
            store.describe(),
            window.records,
            window.expired,
            window.skipped_total,
            "".join(f", {n} {reason}" for reason, n in sorted(window.skipped.items())),
        )
        if window.skipped.get("fingerprint_version"):
            LOG.warning(
                "dedup window: %d stored entries were made with another fingerprint version "
                "and are not used (their articles are no longer comparable); they are deleted "
                "from %s",
                window.skipped["fingerprint_version"],
                store.describe(),
            )
        index = StreamIndex.restore(self._config, window.entries, window.clock, 0)
        LOG.info(
            "dedup window: %d entries restored in %.1fs", len(index), time.monotonic() - started
        )
        return window, index

    def _adopt_restored(self, entries: Any) -> tuple[StreamIndex, int] | None:
        """The restored window as this key's state (first article of a fresh run)."""
        if self._restored is None:
            return None
        window, index = self._restored
        self._restored = None
        entries.clear()
        for entry in index.entries():
            entries.add(_encode(entry))
        assert self._store is not None
        for key in window.stale_keys:
            self._store.delete(key)
        self._restore_counters["restored"].inc(len(index))
        self._restore_counters["restore_expired"].inc(window.expired)
        self._restore_counters["restore_skipped"].inc(window.skipped_total)
        return index, len(index)

    def _index(self, key: Any, meta: StreamMeta | None, entries: Any) -> tuple[StreamIndex, int]:
        """The key's window index and how many entries its bag holds."""
        if meta is None:
            adopted = self._adopt_restored(entries)
            return adopted if adopted is not None else (StreamIndex(self._config), 0)
        if self._restored is not None:
            LOG.info("dedup window: the runner restored its state; the store's copy is not used")
            self._restored = None
        mirror = self._mirrors.get(key)
        if mirror is not None and mirror[0] == meta.token:
            return mirror[1], meta.bag_entries
        if tuple(meta.fingerprint_version) != self._config.fingerprint_version:
            # Sketches made with other parameters cannot be compared: start over.
            LOG.warning(
                "dedup state has fingerprint version %s, config has %s: window reset",
                meta.fingerprint_version,
                self._config.fingerprint_version,
            )
            entries.clear()
            return StreamIndex(self._config), 0
        self._rebuilt.inc()
        stored = [pickle.loads(blob) for blob in entries.read()]
        return StreamIndex.restore(self._config, stored, meta.clock, meta.next_seq), len(stored)

    def process(
        self,
        element: tuple[Any, Article],
        entries: Any = _ENTRIES_PARAM,
        meta_state: Any = _META_PARAM,
        timestamp: Any = beam.DoFn.TimestampParam,
        window: Any = beam.DoFn.WindowParam,
    ) -> Iterator[Article | DeadLetterOutput]:
        key, article = element
        meta = meta_state.read()
        index, bag_entries = self._index(key, meta, entries)
        if meta is None and len(index):
            # The restored window is this key's state from now on.
            meta = self._write_meta(meta_state, index, bag_entries)

        try:
            sketch = build_sketch(
                article.id, article.text or "", article.published_at, self._config
            )
        except Exception as error:  # MemoryError, RecursionError, a bug: this record only
            Metrics.counter(NAMESPACE, "dead_letter.dedup_error").inc()
            yield beam.pvalue.TaggedOutput(
                DEAD_LETTER, failure_dead_letter("dedup", article, error, reason="dedup_error")
            )
            return
        observation = index.observe(sketch, event_time(article.published_at, article.ingested_at))

        if observation.entry is None:
            self._replayed.inc()
            token = meta.token if meta is not None else b""
        else:
            if observation.expired:
                self._expired.inc(len(observation.expired))
            if self._store is not None:
                for expired_id in observation.expired:
                    self._store.delete(expired_id)
                self._store.put(
                    observation.entry.id,
                    encode_entry(observation.entry, self._config.fingerprint_version),
                )
            if bag_entries + 1 > 2 * len(index) + COMPACTION_SLACK:
                entries.clear()
                for entry in index.entries():
                    entries.add(_encode(entry))
                bag_entries = len(index)
                self._compacted.inc()
            else:
                entries.add(_encode(observation.entry))
                bag_entries += 1
            token = self._write_meta(meta_state, index, bag_entries).token
        self._mirrors[key] = (token, index)
        self._status[observation.label["status"]].inc()
        self._window.set(len(index))
        labelled = article.replace(content_hash=sketch.content_hash, duplicate=observation.label)
        if self._store is None:
            yield labelled
        else:
            self._held.append(WindowedValue(labelled, timestamp, [window]))

    def _write_meta(self, meta_state: Any, index: StreamIndex, bag_entries: int) -> StreamMeta:
        meta = StreamMeta(
            token=os.urandom(16),
            clock=index.clock,
            next_seq=index.next_seq,
            bag_entries=bag_entries,
            fingerprint_version=self._config.fingerprint_version,
        )
        meta_state.write(meta)
        return meta

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._store is None:
            return
        # Durable first: the articles below go on to the sinks, and their offsets
        # are committed once this bundle completes.
        self._store.flush()
        held, self._held = self._held, []
        yield from held

    def teardown(self) -> None:
        store = getattr(self, "_store", None)
        if store is not None:
            store.close()


class DeduplicateStream(beam.PTransform):
    """PCollection[Article] -> PCollection[Article], labelled within a retention window.

    `with_dead_letters=True`: `{"main": articles, "dead_letter": DeadLetters}` (articles
    whose sketch failed, `dedup_error`), as for DeduplicateBatch.
    """

    def __init__(
        self,
        config: DedupConfig | None = None,
        label: str | None = None,
        *,
        store: WindowStoreFactory | None = None,
        with_dead_letters: bool = False,
    ) -> None:
        super().__init__(label)
        self._config = config or DedupConfig()
        self._store = store
        self._with_dead_letters = with_dead_letters

    def expand(self, articles: beam.PCollection) -> Any:
        return apply_on_one_key(
            articles,
            STREAM_KEY,
            DeduplicateStreamFn(self._config, self._store),
            "Deduplicate",
            with_dead_letters=self._with_dead_letters,
        )
