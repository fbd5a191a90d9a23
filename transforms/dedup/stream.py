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
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec
from apache_beam.transforms.window import GlobalWindows

from newsbeam.schemas.article import Article
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.labels import STATUSES, event_time
from newsbeam.transforms.dedup.sketch import build_sketch
from newsbeam.transforms.dedup.stream_index import StreamEntry, StreamIndex

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

    def __init__(self, config: DedupConfig) -> None:
        self._config = config
        self._mirrors: dict[Any, tuple[bytes, StreamIndex]] = {}

    def setup(self) -> None:
        self._mirrors = {}
        self._status = {status: Metrics.counter(NAMESPACE, status) for status in STATUSES}
        self._replayed = Metrics.counter(NAMESPACE, "replayed_id")
        self._expired = Metrics.counter(NAMESPACE, "expired")
        self._rebuilt = Metrics.counter(NAMESPACE, "state_rebuilt")
        self._compacted = Metrics.counter(NAMESPACE, "state_compacted")
        self._window = Metrics.gauge(NAMESPACE, "window_articles")

    def _index(self, key: Any, meta: StreamMeta | None, entries: Any) -> tuple[StreamIndex, int]:
        """The key's window index and how many entries its bag holds."""
        if meta is None:
            return StreamIndex(self._config), 0
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
    ) -> Iterator[Article]:
        key, article = element
        meta = meta_state.read()
        index, bag_entries = self._index(key, meta, entries)

        sketch = build_sketch(article.id, article.text or "", article.published_at, self._config)
        observation = index.observe(sketch, event_time(article.published_at, article.ingested_at))

        if observation.entry is None:
            self._replayed.inc()
            token = meta.token if meta is not None else b""
        else:
            if observation.expired:
                self._expired.inc(len(observation.expired))
            if bag_entries + 1 > 2 * len(index) + COMPACTION_SLACK:
                entries.clear()
                for entry in index.entries():
                    entries.add(_encode(entry))
                bag_entries = len(index)
                self._compacted.inc()
            else:
                entries.add(_encode(observation.entry))
                bag_entries += 1
            token = os.urandom(16)
            meta_state.write(
                StreamMeta(
                    token=token,
                    clock=index.clock,
                    next_seq=index.next_seq,
                    bag_entries=bag_entries,
                    fingerprint_version=self._config.fingerprint_version,
                )
            )
        self._mirrors[key] = (token, index)
        self._status[observation.label["status"]].inc()
        self._window.set(len(index))
        yield article.replace(content_hash=sketch.content_hash, duplicate=observation.label)


class DeduplicateStream(beam.PTransform):
    """PCollection[Article] -> PCollection[Article], labelled within a retention window."""

    def __init__(self, config: DedupConfig | None = None, label: str | None = None) -> None:
        super().__init__(label)
        self._config = config or DedupConfig()

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (
            articles
            # State is per key *and window*: one window keeps one index.
            | "GlobalWindow" >> beam.WindowInto(GlobalWindows())
            | "OneKey" >> beam.Map(lambda article: (STREAM_KEY, article))
            | "Deduplicate" >> beam.ParDo(DeduplicateStreamFn(self._config))
        )
