"""DeduplicateBatch: exact and near-duplicate labels across a whole batch run.

Every step is a keyed Beam transform, so the work spreads over workers; no
step holds the articles in one place:

1. Sketch each article (content hash, shingle sets, LSH band keys) and set
   its `content_hash`. One sketch per id (a replayed id is one article).
2. Exact: group sketches by content hash; every copy links to the earliest.
3. Candidates: group by LSH band key; a bucket yields its pairs (one per
   distinct text, capped for oversized buckets); `Distinct` over bands.
4. Verify: join each pair with both sketches by id and keep it only if the
   measured Jaccard and opening overlap pass (`similarity.verified_similarity`).
5. Clusters: exact and verified edges go into a union-find `CombineFn` whose
   root is always the representative (earliest published_at, None last, then
   id). Partial forests are built in parallel and merged; the forest holds
   only articles that have a duplicate, never article bodies.
6. Labels: each non-representative is joined with its representative's
   sketch: exact (same content hash, similarity 1.0) or near (similarity =
   measured Jaccard with the representative, which in a chain A~B~C can be
   below the threshold: C reached A through B).
7. Join labels back by id; every input copy is output with the same label.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from newsbeam.schemas.article import Article
from newsbeam.transforms.dedup.clusters import Edge, RepresentativeForest
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.labels import (
    STATUSES,
    OrderKey,
    exact_label,
    near_label,
    unique_label,
)
from newsbeam.transforms.dedup.similarity import similarity, verified_similarity
from newsbeam.transforms.dedup.sketch import ArticleSketch, build_sketch

LOG = logging.getLogger(__name__)
NAMESPACE = "newsbeam.dedup"

_STATUS_COUNTERS = {status: Metrics.counter(NAMESPACE, status) for status in STATUSES}
_REPLAYED = Metrics.counter(NAMESPACE, "replayed_id")
_CANDIDATES = Metrics.counter(NAMESPACE, "candidate_pairs")
_VERIFIED = Metrics.counter(NAMESPACE, "verified_pairs")
_OVERSIZED = Metrics.counter(NAMESPACE, "oversized_bucket")

# (order key, content hash): what an LSH bucket needs to know of a member.
_BucketMember = tuple[OrderKey, str]


class _SketchFn(beam.DoFn):
    """Article -> (id, (article with content_hash, sketch))."""

    def __init__(self, config: DedupConfig) -> None:
        self._config = config

    def process(self, article: Article) -> Iterator[tuple[str, tuple[Article, ArticleSketch]]]:
        sketch = build_sketch(article.id, article.text or "", article.published_at, self._config)
        yield article.id, (article.replace(content_hash=sketch.content_hash), sketch)


def _one_sketch(sketches: Iterable[ArticleSketch]) -> ArticleSketch:
    # A replayed id normally has identical copies; if they differ, any fixed
    # choice will do as long as every worker makes the same one.
    return min(sketches, key=lambda s: (s.content_hash, s.order))


def _exact_edges(group: tuple[str, Iterable[OrderKey]]) -> Iterator[Edge]:
    orders = sorted(group[1])
    for member in orders[1:]:
        yield orders[0], member


def _band_records(item: tuple[str, ArticleSketch]) -> Iterator[tuple[bytes, _BucketMember]]:
    sketch = item[1]
    for band in sketch.bands:
        yield band, (sketch.order, sketch.content_hash)


def _bucket_pairs(
    bucket: tuple[bytes, Iterable[_BucketMember]], max_bucket_size: int
) -> Iterator[tuple[str, str]]:
    """Candidate pairs (earlier id, later id) of one LSH bucket."""
    seen_hashes: set[str] = set()
    members: list[OrderKey] = []
    # Exact copies are linked by the exact step; pair one copy per text only.
    for order, digest in sorted(bucket[1]):
        if digest not in seen_hashes:
            seen_hashes.add(digest)
            members.append(order)
    if len(members) > max_bucket_size:
        _OVERSIZED.inc()
        LOG.debug("LSH bucket with %d texts: pairing neighbours only", len(members))
    for i, first in enumerate(members):
        for second in members[i + 1 : i + 1 + max_bucket_size]:
            yield first[2], second[2]


def _send_sketch_to_partners(
    item: tuple[str, dict[str, list[Any]]],
) -> Iterator[tuple[str, ArticleSketch]]:
    _, joined = item
    if not joined["sketch"]:
        return
    sketch = joined["sketch"][0]
    for partner in joined["partner"]:
        yield partner, sketch


def _verify(item: tuple[str, dict[str, list[Any]]], config: DedupConfig) -> Iterator[Edge]:
    _, joined = item
    if not joined["sketch"]:
        return
    sketch = joined["sketch"][0]
    for other in joined["other"]:
        _CANDIDATES.inc()
        if verified_similarity(other, sketch, config) is not None:
            _VERIFIED.inc()
            yield other.order, sketch.order


def _label_against_representative(
    item: tuple[str, dict[str, list[Any]]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    representative_id, joined = item
    if not joined["sketch"]:
        return
    representative = joined["sketch"][0]
    for member in joined["other"]:
        if member.content_hash == representative.content_hash:
            yield member.id, exact_label(representative_id)
        else:
            yield member.id, near_label(representative_id, similarity(member, representative))


class _ForestCombineFn(beam.CombineFn):
    """Duplicate edges -> RepresentativeForest (partial forests merge associatively)."""

    def create_accumulator(self) -> RepresentativeForest:
        return RepresentativeForest()

    def add_input(self, forest: RepresentativeForest, edge: Edge) -> RepresentativeForest:
        forest.union(edge[0], edge[1])
        return forest

    def merge_accumulators(self, forests: Iterable[RepresentativeForest]) -> RepresentativeForest:
        forests = iter(forests)
        merged = next(forests, None) or RepresentativeForest()
        for forest in forests:
            merged.merge(forest)
        return merged

    def extract_output(self, forest: RepresentativeForest) -> RepresentativeForest:
        return forest


def _members_and_representatives(forest: RepresentativeForest) -> Iterator[tuple[str, str]]:
    for member, representative in forest.representatives().items():
        if member != representative:
            yield member, representative


def _apply_label(item: tuple[str, dict[str, list[Any]]]) -> Iterator[Article]:
    _, joined = item
    label = joined["label"][0] if joined["label"] else unique_label()
    copies = joined["article"]
    if len(copies) > 1:
        _REPLAYED.inc(len(copies) - 1)
    for article in copies:
        _STATUS_COUNTERS[label["status"]].inc()
        yield article.replace(duplicate=dict(label))


class _JoinSketches(beam.PTransform):
    """(key, other id) pairs -> (other id, sketch of key) -> joined with sketch of other id.

    Output: (id, {"sketch": [its sketch], "other": [sketches sent to it]}).
    """

    def __init__(self, sketches: beam.PCollection, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sketches = sketches

    def expand(self, links: beam.PCollection) -> beam.PCollection:
        sent = (
            {"sketch": self._sketches, "partner": links}
            | "BySource" >> beam.CoGroupByKey()
            | "SendSketch" >> beam.FlatMap(_send_sketch_to_partners)
        )
        return {"sketch": self._sketches, "other": sent} | "ByTarget" >> beam.CoGroupByKey()


class DeduplicateBatch(beam.PTransform):
    """PCollection[Article] -> PCollection[Article] with content_hash and duplicate set."""

    def __init__(self, config: DedupConfig | None = None, label: str | None = None) -> None:
        super().__init__(label)
        self._config = config or DedupConfig()

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        config = self._config
        sketched = articles | "Sketch" >> beam.ParDo(_SketchFn(config))
        keyed_articles = sketched | "KeyArticle" >> beam.MapTuple(lambda i, pair: (i, pair[0]))
        sketches = (
            sketched
            | "KeySketch" >> beam.MapTuple(lambda i, pair: (i, pair[1]))
            | "OneSketchPerId" >> beam.CombinePerKey(_one_sketch)
        )

        exact_edges = (
            sketches
            | "ByContentHash"
            >> beam.FlatMapTuple(lambda _, s: [(s.content_hash, s.order)] if s.has_text else [])
            | "GroupExact" >> beam.GroupByKey()
            | "ExactEdges" >> beam.FlatMap(_exact_edges)
        )

        candidate_pairs = (
            sketches
            | "BandKeys" >> beam.FlatMap(_band_records)
            | "GroupBand" >> beam.GroupByKey()
            | "BucketPairs" >> beam.FlatMap(_bucket_pairs, config.max_bucket_size)
            | "DistinctPairs" >> beam.Distinct()
        )
        near_edges = (
            candidate_pairs
            | "JoinPair" >> _JoinSketches(sketches)
            | "Verify" >> beam.FlatMap(_verify, config)
        )

        representatives = (
            (exact_edges, near_edges)
            | "AllEdges" >> beam.Flatten()
            | "Clusters" >> beam.CombineGlobally(_ForestCombineFn())
            | "Representatives" >> beam.FlatMap(_members_and_representatives)
        )
        labels = (
            representatives
            | "JoinRepresentative" >> _JoinSketches(sketches)
            | "Label" >> beam.FlatMap(_label_against_representative)
        )
        return (
            {"article": keyed_articles, "label": labels}
            | "JoinLabels" >> beam.CoGroupByKey()
            | "ApplyLabel" >> beam.FlatMap(_apply_label)
        )
