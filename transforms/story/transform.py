"""StoriesBatch and StoriesStream: the Beam stages around the story core.

Story clustering is sequential by nature (each article is compared with the
stories formed by the articles before it), so both stages feed one instance
of `StoryIndex`, in event-time order:

- Batch: each article becomes a compact observation (id, order key, weighted
  terms, representative) on any worker; the observations alone go to one key,
  are sorted by (event time, id) and run through the core; the labels of the
  articles that joined a story (not of founders, whose label is their own id)
  reach the articles as a side input, so articles are never shuffled (a
  CoGroupByKey by id cost the job ~3x the stage's core in the same run, see
  benchmarks/README.md). The order does not depend on the input order, so a
  batch run is deterministic.
- Stream: one key and keyed state (no GroupByKey, no timers: neither fires
  after the unbounded source on the local runner), the core updated as
  articles arrive, with lazy expiry by event time. Fed the same articles in
  event-time order, it gives the labels the batch run gives.

Stream state: the DoFn keeps the live `StoryIndex` in memory and, in Beam
state, a snapshot of it (written every `SNAPSHOT_EVERY` articles) plus the
observations since (one bag append per article); a token in `meta` tells
whether the in-memory copy is current, otherwise it is rebuilt from the
snapshot and a replay of the observations (the core is deterministic).

Durable stories (optional `store`, the dedup window's mechanism, see
state_store.py). The local runner keeps Beam state in memory only, so without a
store a restarted job starts with no stories. With one (a compacted changelog
topic of its own, `GROUP-story-changelog`), the DoFn reads it back in `setup()`
and adopts it when the key has no Beam state yet (a runner that restored its
own state wins); every change of a story, label and document frequency is
written, and the labelled articles are held until `finish_bundle`, which
flushes the store first: no article reaches a sink (and no offset is committed)
before its story is durable, so a redelivered article gets its story again.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam import pvalue
from apache_beam.coders import BytesCoder, PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.schemas.article import Article
from newsbeam.transforms.dedup.window_store import WindowStore, WindowStoreFactory
from newsbeam.transforms.one_key import apply_on_one_key
from newsbeam.transforms.record_guard import DEAD_LETTER, DeadLetterOutput, failure_dead_letter
from newsbeam.transforms.story.batch_core import (
    Loaded,
    StoryCounts,
    assign_in_order,
    indexed_story_labels,
)
from newsbeam.transforms.story.clusterer import Assignment, SparseVector, StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.features import term_weights
from newsbeam.transforms.story.order import (
    OrderKey,
    article_time,
    order_key,
    representative_of,
)
from newsbeam.transforms.story.state_store import RestoredStories, StateChanges, restore_stories

LOG = logging.getLogger(__name__)
NAMESPACE = "newsbeam.story"
STREAM_KEY = "story-index"
# Observations kept in the bag before the index is snapshotted (amortises the
# snapshot's cost, bounds a rebuild's replay).
SNAPSHOT_EVERY = 500

# What the core needs of an article: (id, order key, terms, representative id).
Observation = tuple[str, OrderKey, SparseVector, str | None]


def observe(article: Article, config: StoryConfig) -> Observation:
    time = article_time(article)
    terms = term_weights(article.text or "", article.title, config)
    return article.id, order_key(article.id, time), terms, representative_of(article)


# An observation as it crosses the batch shuffle: the terms packed into one str
# and one float64 array (bytes). A dict of ~150 terms costs ~16 KB as Python
# objects against ~2 KB packed, and every observation of the corpus is held at
# once under the one key; unpacked one at a time, in order. Exact: the same
# weights, in the same order, come back.
PackedObservation = tuple[str, OrderKey, str, bytes, str | None]
_TERM_SEPARATOR = "\x1f"  # never inside a term (letters, marks or digits)


def pack(observation: Observation) -> PackedObservation:
    article_id, key, terms, representative = observation
    weights = array("d", terms.values()).tobytes()
    return article_id, key, _TERM_SEPARATOR.join(terms), weights, representative


def unpack(packed: PackedObservation) -> Observation:
    article_id, key, terms, weights, representative = packed
    names = terms.split(_TERM_SEPARATOR) if terms else []
    values = array("d")
    values.frombytes(weights)
    return article_id, key, dict(zip(names, values, strict=True)), representative


def unpack_weights(packed: PackedObservation) -> tuple[str, list[str], np.ndarray, str | None]:
    """(article id, terms, their weights as float64, representative): what the
    batch core loads (batch_core.Loaded), without building the terms' dict."""
    article_id, _, terms, weights, representative = packed
    names = terms.split(_TERM_SEPARATOR) if terms else []
    return article_id, names, np.frombuffer(weights, dtype=np.float64), representative


def story_label(assignment: Assignment) -> dict[str, Any]:
    return {"id": assignment.story_id, "similarity": assignment.similarity}


class _Counters:
    def __init__(self) -> None:
        self.founded = Metrics.counter(NAMESPACE, "founded")
        self.joined = Metrics.counter(NAMESPACE, "joined")
        self.inherited = Metrics.counter(NAMESPACE, "inherited")
        self.evicted = Metrics.counter(NAMESPACE, "evicted")

    def count(self, assignment: Assignment) -> None:
        if assignment.founded:
            self.founded.inc()
        elif assignment.inherited:
            self.inherited.inc()
        else:
            self.joined.inc()


class _ObserveFn(beam.DoFn):
    """Article -> the article and (one key, observation); failures to dead letters."""

    def __init__(self, config: StoryConfig) -> None:
        self._config = config

    def process(self, article: Article) -> Iterator[Any]:
        try:
            observation = observe(article, self._config)
        except Exception as error:  # MemoryError, RecursionError, a bug: this record only
            Metrics.counter(NAMESPACE, "dead_letter.story_error").inc()
            yield pvalue.TaggedOutput(
                DEAD_LETTER, failure_dead_letter("story", article, error, reason="story_error")
            )
            return
        yield article
        yield pvalue.TaggedOutput("observation", (STREAM_KEY, pack(observation)))


def cluster_in_order(
    item: tuple[str, Iterable[PackedObservation]], config: StoryConfig
) -> Iterator[tuple[str, tuple[str, float]]]:
    """The sequential core over every (packed) observation, in event-time order
    whatever the input order (batch_core.indexed_story_labels); yields the labels of
    the articles that joined a story (a founder's label is its own id, similarity 1.0)."""
    _, observations = item
    packed = list(observations)

    def load(position: int) -> Loaded:
        return unpack_weights(packed[position])

    counts = StoryCounts()
    entries = ((observation[1], position) for position, observation in enumerate(packed))
    for _, article_id, story_id, similarity in indexed_story_labels(entries, load, config, counts):
        yield article_id, (story_id, similarity)
    for name, value in counts.counters().items():
        Metrics.counter(NAMESPACE, name).inc(value)


def label_article(article: Article, joined: dict[str, tuple[str, float]]) -> Article:
    # Every copy of a replayed id gets the same label (one per id above).
    story_id, similarity = joined.get(article.id, (article.id, 1.0))
    return article.replace(story={"id": story_id, "similarity": similarity})


class StoriesBatch(beam.PTransform):
    """PCollection[Article] -> PCollection[Article] with `story` set.

    `with_dead_letters=True`: `{"main": articles, "dead_letter": DeadLetters}`
    (`story_error`), as the other stages.
    """

    def __init__(
        self,
        config: StoryConfig | None = None,
        label: str | None = None,
        *,
        with_dead_letters: bool = False,
    ) -> None:
        super().__init__(label)
        self._config = (config or StoryConfig()).validate()
        self._with_dead_letters = with_dead_letters

    def expand(self, articles: beam.PCollection) -> Any:
        observed = articles | "Observe" >> beam.ParDo(_ObserveFn(self._config)).with_outputs(
            "observation", DEAD_LETTER, main="article"
        )
        labels = (
            observed.observation
            | "OneKey" >> beam.GroupByKey()
            | "ClusterInOrder" >> beam.FlatMap(cluster_in_order, self._config)
        )
        # The labels of joining articles reach the articles as a side input (as dedup's
        # labels do): the articles, text and all, are never shuffled. Founders need none.
        labelled = observed.article | "Label" >> beam.Map(
            label_article, joined=beam.pvalue.AsDict(labels)
        )
        if self._with_dead_letters:
            return {"main": labelled, "dead_letter": observed[DEAD_LETTER]}
        return labelled


ENTRIES_STATE = BagStateSpec("observations", BytesCoder())
SNAPSHOT_STATE = ReadModifyWriteStateSpec("snapshot", BytesCoder())
META_STATE = ReadModifyWriteStateSpec("meta", PickleCoder())
_ENTRIES_PARAM = beam.DoFn.StateParam(ENTRIES_STATE)
_SNAPSHOT_PARAM = beam.DoFn.StateParam(SNAPSHOT_STATE)
_META_PARAM = beam.DoFn.StateParam(META_STATE)


class StoriesStreamFn(beam.DoFn):
    """(key, Article) -> Article with `story`, against the key's active stories."""

    def __init__(self, config: StoryConfig, store: WindowStoreFactory | None = None) -> None:
        self._config = config
        self._store_factory = store

    def setup(self) -> None:
        # key -> (token, index): the live index, valid while the stored token matches.
        self._mirrors: dict[Any, tuple[bytes, StoryIndex]] = {}
        self._counters = _Counters()
        self._rebuilt = Metrics.counter(NAMESPACE, "state_rebuilt")
        self._active = Metrics.gauge(NAMESPACE, "active_stories")
        self._store: WindowStore | None = None
        self._changes: StateChanges | None = None
        self._restored: RestoredStories | None = None
        # Labelled articles of the current bundle, emitted once the store is flushed.
        self._held: list[WindowedValue] = []
        self._restore_counters = {
            name: Metrics.counter(NAMESPACE, name)
            for name in ("restored", "restore_expired", "restore_skipped")
        }
        if self._store_factory is not None:
            self._store = self._store_factory.open()
            self._changes = StateChanges(self._config)
            self._restored = self._restore(self._store)

    def start_bundle(self) -> None:
        self._held = []  # a failed bundle's articles are re-read, never emitted late

    def _restore(self, store: WindowStore) -> RestoredStories:
        started = time.monotonic()
        restored = restore_stories(store.load(), self._config)
        LOG.info(
            "stories: restored %d active stories (%d labels, %d documents) from %s in %.1fs "
            "(%d records read; %d expired, %d skipped%s)",
            len(restored.index.stories),
            len(restored.index.labels),
            restored.index.frequencies.documents if restored.index.frequencies else 0,
            store.describe(),
            time.monotonic() - started,
            restored.records,
            restored.expired,
            restored.skipped_total,
            "".join(f", {n} {reason}" for reason, n in sorted(restored.skipped.items())),
        )
        return restored

    def _adopt_restored(self) -> StoryIndex | None:
        """The restored stories as this key's state (first article of a fresh run)."""
        restored, self._restored = self._restored, None
        if restored is None:
            return None
        assert self._changes is not None
        self._changes.adopt(restored)
        self._restore_counters["restored"].inc(len(restored.index.stories))
        self._restore_counters["restore_expired"].inc(restored.expired)
        self._restore_counters["restore_skipped"].inc(restored.skipped_total)
        return restored.index

    def _index(self, key: Any, meta: Any, observations: Any, snapshot: Any) -> StoryIndex:
        if meta is None:
            adopted = self._adopt_restored()
            return adopted if adopted is not None else self._new_index()
        if self._restored is not None:
            LOG.info("stories: the runner restored its state; the store's copy is not used")
            self._restored = None
        mirror = self._mirrors.get(key)
        if mirror is not None and mirror[0] == meta[0]:
            return mirror[1]
        # Another worker ran the key, a bundle was retried: snapshot + replay.
        self._rebuilt.inc()
        blob = snapshot.read()
        index = pickle.loads(blob) if blob else self._new_index()
        if self._store is not None and index.expired_log is None:
            index.expired_log = []
        for entry in observations.read():
            assign_in_order(index, *pickle.loads(entry))
        return index

    def _new_index(self) -> StoryIndex:
        # With a store, expired stories are logged so that their records are deleted.
        return StoryIndex(self._config, expired_log=[] if self._store is not None else None)

    def process(
        self,
        element: tuple[Any, Article],
        observations: Any = _ENTRIES_PARAM,
        snapshot: Any = _SNAPSHOT_PARAM,
        meta_state: Any = _META_PARAM,
        timestamp: Any = beam.DoFn.TimestampParam,
        window: Any = beam.DoFn.WindowParam,
    ) -> Iterator[Article | DeadLetterOutput]:
        key, article = element
        meta = meta_state.read()
        index = self._index(key, meta, observations, snapshot)
        adopted = meta is None and bool(index.stories or index.labels)
        pending = meta[1] if meta is not None else 0
        try:
            observation = observe(article, self._config)
        except Exception as error:  # MemoryError, RecursionError, a bug: this record only
            Metrics.counter(NAMESPACE, "dead_letter.story_error").inc()
            yield pvalue.TaggedOutput(
                DEAD_LETTER, failure_dead_letter("story", article, error, reason="story_error")
            )
            return
        assert index.frequencies is not None
        documents = index.frequencies.documents
        evicted = index.evicted
        assignment = assign_in_order(index, *observation)
        if index.evicted != evicted:  # the cap on active stories closed some early
            self._counters.evicted.inc(index.evicted - evicted)
        if self._changes is not None:
            new_evidence = index.frequencies.documents != documents
            self._changes.record(
                index,
                observation[0],
                observation[2],
                assignment.story_id,
                assignment.similarity,
                new_evidence=new_evidence,
                new_label=new_evidence or assignment.inherited,
            )
        # A restored index is written whole first: Beam state must hold it too.
        if adopted or pending + 1 >= SNAPSHOT_EVERY:
            snapshot.write(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
            observations.clear()
            pending = 0
        else:
            observations.add(pickle.dumps(observation, protocol=pickle.HIGHEST_PROTOCOL))
            pending += 1
        token = os.urandom(16)
        meta_state.write((token, pending))
        self._mirrors[key] = (token, index)
        self._counters.count(assignment)
        self._active.set(len(index.stories))
        labelled = article.replace(story=story_label(assignment))
        if self._store is None:
            yield labelled
        else:
            self._held.append(WindowedValue(labelled, timestamp, [window]))
            self._last_index = index

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._store is None or not self._held:
            return
        assert self._changes is not None
        # Durable first: the articles below go on to the sinks, and their offsets
        # are committed once this bundle completes.
        for store_key, value in self._changes.take(self._last_index):
            if value is None:
                self._store.delete(store_key)
            else:
                self._store.put(store_key, value)
        self._store.flush()
        self._changes.flushed()
        held, self._held = self._held, []
        yield from held

    def teardown(self) -> None:
        store = getattr(self, "_store", None)
        if store is not None:
            store.close()


class StoriesStream(beam.PTransform):
    """PCollection[Article] -> PCollection[Article] with `story`, as articles arrive."""

    def __init__(
        self,
        config: StoryConfig | None = None,
        label: str | None = None,
        *,
        store: WindowStoreFactory | None = None,
        with_dead_letters: bool = False,
    ) -> None:
        super().__init__(label)
        self._config = (config or StoryConfig()).validate()
        self._store = store
        self._with_dead_letters = with_dead_letters

    def expand(self, articles: beam.PCollection) -> Any:
        return apply_on_one_key(
            articles,
            STREAM_KEY,
            StoriesStreamFn(self._config, self._store),
            "Stories",
            with_dead_letters=self._with_dead_letters,
        )
