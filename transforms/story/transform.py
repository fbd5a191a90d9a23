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
The story state is not mirrored to the dedup changelog: after a restart of
the local runner, stories start afresh (see docs/stages/story.md).
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.coders import BytesCoder, PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec
from apache_beam.transforms.window import GlobalWindows

from newsbeam.schemas.article import Article
from newsbeam.transforms.record_guard import DEAD_LETTER, DeadLetterOutput, failure_dead_letter
from newsbeam.transforms.story.clusterer import Assignment, SparseVector, StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.features import term_weights
from newsbeam.transforms.story.order import (
    OrderKey,
    article_time,
    order_key,
    representative_of,
)

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


def _apply(index: StoryIndex, observation: Observation) -> Assignment:
    article_id, (undated, time, _), terms, representative = observation
    return index.assign(article_id, None if undated else time, terms, representative)


def story_label(assignment: Assignment) -> dict[str, Any]:
    return {"id": assignment.story_id, "similarity": assignment.similarity}


class _Counters:
    def __init__(self) -> None:
        self.founded = Metrics.counter(NAMESPACE, "founded")
        self.joined = Metrics.counter(NAMESPACE, "joined")
        self.inherited = Metrics.counter(NAMESPACE, "inherited")

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
        yield pvalue.TaggedOutput("observation", (STREAM_KEY, observation))


def _cluster_in_order(
    item: tuple[str, Iterable[Observation]], config: StoryConfig
) -> Iterator[tuple[str, tuple[str, float]]]:
    """The sequential core over every observation; yields the labels of the articles
    that joined a story (a founder's label is its own id, similarity 1.0)."""
    _, observations = item
    index = StoryIndex(config)
    counters = _Counters()
    # Event time, then id: the input order (and so the runner's) never matters.
    for observation in sorted(observations, key=lambda o: (o[1], o[0])):
        assignment = _apply(index, observation)
        counters.count(assignment)
        if assignment.story_id != observation[0]:
            yield observation[0], (assignment.story_id, assignment.similarity)
    Metrics.counter(NAMESPACE, "expired").inc(index.expired)


def _label_article(article: Article, joined: dict[str, tuple[str, float]]) -> Article:
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
            | "ClusterInOrder" >> beam.FlatMap(_cluster_in_order, self._config)
        )
        # The labels of joining articles reach the articles as a side input (as dedup's
        # labels do): the articles, text and all, are never shuffled. Founders need none.
        labelled = observed.article | "Label" >> beam.Map(
            _label_article, joined=beam.pvalue.AsDict(labels)
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

    def __init__(self, config: StoryConfig) -> None:
        self._config = config

    def setup(self) -> None:
        # key -> (token, index): the live index, valid while the stored token matches.
        self._mirrors: dict[Any, tuple[bytes, StoryIndex]] = {}
        self._counters = _Counters()
        self._rebuilt = Metrics.counter(NAMESPACE, "state_rebuilt")
        self._active = Metrics.gauge(NAMESPACE, "active_stories")

    def _index(self, key: Any, meta: Any, observations: Any, snapshot: Any) -> StoryIndex:
        if meta is None:
            return StoryIndex(self._config)
        mirror = self._mirrors.get(key)
        if mirror is not None and mirror[0] == meta[0]:
            return mirror[1]
        # Another worker ran the key, a bundle was retried: snapshot + replay.
        self._rebuilt.inc()
        blob = snapshot.read()
        index = pickle.loads(blob) if blob else StoryIndex(self._config)
        for entry in observations.read():
            _apply(index, pickle.loads(entry))
        return index

    def process(
        self,
        element: tuple[Any, Article],
        observations: Any = _ENTRIES_PARAM,
        snapshot: Any = _SNAPSHOT_PARAM,
        meta_state: Any = _META_PARAM,
    ) -> Iterator[Article | DeadLetterOutput]:
        key, article = element
        meta = meta_state.read()
        index = self._index(key, meta, observations, snapshot)
        pending = meta[1] if meta is not None else 0
        try:
            observation = observe(article, self._config)
        except Exception as error:  # MemoryError, RecursionError, a bug: this record only
            Metrics.counter(NAMESPACE, "dead_letter.story_error").inc()
            yield pvalue.TaggedOutput(
                DEAD_LETTER, failure_dead_letter("story", article, error, reason="story_error")
            )
            return
        assignment = _apply(index, observation)
        if pending + 1 >= SNAPSHOT_EVERY:
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
        yield article.replace(story=story_label(assignment))


class StoriesStream(beam.PTransform):
    """PCollection[Article] -> PCollection[Article] with `story`, as articles arrive."""

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
        outputs = (
            articles
            | "GlobalWindow" >> beam.WindowInto(GlobalWindows())
            | "OneKey" >> beam.Map(lambda article: (STREAM_KEY, article))
            | "Stories"
            >> beam.ParDo(StoriesStreamFn(self._config)).with_outputs(DEAD_LETTER, main="main")
        )
        if self._with_dead_letters:
            return {"main": outputs.main, "dead_letter": outputs[DEAD_LETTER]}
        return outputs.main
