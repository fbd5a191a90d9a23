"""DeduplicateBatch: exact and near-duplicate labels across a whole batch run.

Every step is a keyed Beam transform, so the work spreads over workers; no
step holds the articles, or their sketches, in one place (the clusters and the
labels of articles that have a duplicate are held whole):

1. Sketch each article (content hash, shingle sets, LSH band keys) and set
   its `content_hash`. A compact record per id (hash, order key, band keys)
   is reduced to one version per id: a replayed id is one article.
2. Exact: group compact records by content hash; every copy links to the
   earliest one with that text (its "text representative").
3. Candidates: group by candidate key (LSH band, opening key, anchor); a
   bucket pairs its members (one per distinct text, neighbours only in
   oversized buckets, none in stock-phrase anchor buckets); the pairs found
   in several buckets are summed by weight: one band or opening key, or
   `min_shared_anchors` anchors, make a candidate.
4. Verify: each pair is joined with both sketches by id (the only join over
   all sketches) and kept only if the measured Jaccard or containment and
   the opening overlap pass (`similarity.verify`).
5. Clusters: exact and verified edges go into a union-find `CombineFn` whose
   root is always the representative (earliest published_at, None last, then
   id). Partial forests are built in parallel and merged; the forest holds
   (order key, content hash) of articles that have a duplicate, no text.
6. Labels: same text as the representative -> exact (1.0); otherwise
   contained or near (`labels.relation_label`), with the measured Jaccard and
   containment between the article's text and the representative's, computed
   on the sketches of verified articles only. In a chain A~B~C those values
   can be below the thresholds: C reached A through B.
7. Labels reach the articles as a side input (id -> label of every article
   with a duplicate; the rest are unique), so articles are never shuffled;
   every input copy of an id gets the same label.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.schemas.article import Article
from newsbeam.transforms.batching import BatchingDoFn
from newsbeam.transforms.dedup.clusters import Edge, Node, RepresentativeForest
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.labels import STATUSES, exact_label, unique_label
from newsbeam.transforms.dedup.similarity import Overlap, label_from_overlap, overlap, verify
from newsbeam.transforms.dedup.sketch import (
    SKETCH_BUNDLE,
    ArticleSketch,
    build_sketches_or_errors,
    is_anchor,
)
from newsbeam.transforms.record_guard import (
    DEAD_LETTER,
    failure_dead_letter,
)

LOG = logging.getLogger(__name__)
NAMESPACE = "newsbeam.dedup"

_STATUS_COUNTERS = {status: Metrics.counter(NAMESPACE, status) for status in STATUSES}
_REPLAYED = Metrics.counter(NAMESPACE, "replayed_id")
_CANDIDATES = Metrics.counter(NAMESPACE, "candidate_pairs")
_VERIFIED = Metrics.counter(NAMESPACE, "verified_pairs")
_OVERSIZED = Metrics.counter(NAMESPACE, "oversized_bucket")
_STOCK_ANCHOR = Metrics.counter(NAMESPACE, "stock_phrase_anchor")

# (content hash, order key, band keys, has text): what grouping needs of an article.
_Compact = tuple[str, tuple, tuple[bytes, ...], bool]
_SUBSET = "verified_sketch"
_REQUEST = "similarity_request"


class _SketchFn(BatchingDoFn):
    """Article -> (id, (article with content_hash, sketch)), sketched a bundle of
    articles at a time (`build_sketches`: about half the cost per article)."""

    def __init__(self, config: DedupConfig) -> None:
        self._config = config
        self.max_batch_size = SKETCH_BUNDLE

    def handle_batch(self, batch: list[WindowedValue]) -> Iterator[Any]:
        # The per-article work (its cost grows with the text); what follows works on
        # fixed-size sketches.
        articles: list[Article] = [windowed.value for windowed in batch]
        items = [(a.id, a.text or "", a.published_at) for a in articles]
        sketched = build_sketches_or_errors(items, self._config)
        for windowed, article, sketch in zip(batch, articles, sketched, strict=True):
            # MemoryError, RecursionError, a bug: this record only.
            if isinstance(sketch, Exception):
                Metrics.counter(NAMESPACE, "dead_letter.dedup_error").inc()
                letter = failure_dead_letter("dedup", article, sketch, reason="dedup_error")
                yield pvalue.TaggedOutput(DEAD_LETTER, windowed.with_value(letter))
                continue
            value = (article.id, (article.replace(content_hash=sketch.content_hash), sketch))
            yield windowed.with_value(value)


def _compact(article_id: str, sketch: ArticleSketch) -> tuple[str, _Compact]:
    return article_id, (sketch.content_hash, sketch.order, sketch.bands, sketch.has_text)


def _chosen(sketches: Iterable[ArticleSketch]) -> ArticleSketch:
    # The version of a replayed id that `_OneVersionPerIdFn` picks for its compact
    # record (lowest content hash, then order): every step must use the same one.
    return min(sketches, key=lambda s: (s.content_hash, s.order))


def _exact_edges(group: tuple[str, Iterable[tuple]]) -> Iterator[Edge]:
    digest, orders = group
    nodes = sorted((order, digest) for order in orders)
    for member in nodes[1:]:
        yield nodes[0], member


def _band_records(article_id: str, compact: _Compact) -> Iterator[tuple[bytes, Node]]:
    digest, order, bands, _ = compact
    for band in bands:
        yield band, (order, digest)


def _bucket_pairs(
    bucket: tuple[bytes, Iterable[Node]], max_bucket_size: int, hot_neighbours: int
) -> Iterator[tuple[str, str]]:
    """Candidate pairs (earlier id, later id) of one LSH bucket."""
    seen_hashes: set[str] = set()
    members: list[str] = []
    # Exact copies are linked by the exact step: pair one copy per text only.
    for order, digest in sorted(bucket[1]):
        if digest not in seen_hashes:
            seen_hashes.add(digest)
            members.append(order[2])
    window = len(members)
    if len(members) > max_bucket_size:
        _OVERSIZED.inc()
        LOG.debug("LSH bucket with %d texts: pairing neighbours only", len(members))
        window = hot_neighbours
    for i, first in enumerate(members):
        for second in members[i + 1 : i + 1 + window]:
            yield first, second


def _weighted_pairs(
    bucket: tuple[bytes, Iterable[Node]], config: DedupConfig
) -> Iterator[tuple[tuple[str, str], int]]:
    """Candidate pairs of one bucket with their weight; a pair is a candidate once
    its weights add up to `min_shared_anchors` (see sketch.py: one band or
    opening key is enough, anchors count one each, stock-phrase anchors none)."""
    key, members = bucket
    if is_anchor(key):
        members = list(members)
        if len({digest for _, digest in members}) > config.max_anchor_bucket:
            _STOCK_ANCHOR.inc()
            return
        for pair in _bucket_pairs((key, members), config.max_anchor_bucket, 0):
            yield pair, 1
        return
    for pair in _bucket_pairs(bucket, config.max_bucket_size, config.hot_bucket_neighbours):
        yield pair, config.min_shared_anchors


def _enough_weight(item: tuple[tuple[str, str], int], needed: int) -> Iterator[tuple[str, str]]:
    if item[1] >= needed:
        yield item[0]


def _route(item: tuple[str, dict[str, list[Any]]]) -> Iterator[tuple[str, tuple[str, Any]]]:
    """Send an article's sketch to the partners it must be compared with."""
    article_id, joined = item
    if not joined["sketch"]:
        return
    sketch = _chosen(joined["sketch"]).without_bands()
    for partner in joined["to"]:
        yield partner, ("other", sketch)
    if joined["is_target"]:
        yield article_id, ("self", sketch)


class _GatherPairs(beam.PTransform):
    """Pairs (a, b) -> (b, (sketch of b, [sketches of every a paired with b])).

    One CoGroupByKey over `sketches` routes each sketch to where it is needed,
    then only the routed sketches are grouped.
    """

    def __init__(self, sketches: beam.PCollection, label: str | None = None) -> None:
        super().__init__(label)
        self._sketches = sketches

    def expand(self, pairs: beam.PCollection) -> beam.PCollection:
        targets = pairs | "Target" >> beam.MapTuple(lambda a, b: (b, None))
        return (
            {"sketch": self._sketches, "to": pairs, "is_target": targets}
            | "Route" >> beam.CoGroupByKey()
            | "Send" >> beam.FlatMap(_route)
            | "Gather" >> beam.GroupByKey()
            | "Split" >> beam.FlatMap(_split_gathered)
        )


class _PairedOnly(beam.PTransform):
    """(id, sketch) -> the same, for ids in at least one of `pairs` only.

    Most articles are in no candidate pair: dropping their sketches before the
    join beats shuffling them all (the paired ids go to every worker).
    """

    def __init__(self, pairs: beam.PCollection, label: str | None = None) -> None:
        super().__init__(label)
        self._pairs = pairs

    def expand(self, sketches: beam.PCollection) -> beam.PCollection:
        paired_ids = (
            self._pairs
            | "PairedIds" >> beam.FlatMap(lambda pair: [(pair[0], None), (pair[1], None)])
            | "DistinctIds" >> beam.CombinePerKey(lambda _: None)
        )
        return sketches | "Paired" >> beam.Filter(
            lambda item, ids: item[0] in ids, ids=beam.pvalue.AsDict(paired_ids)
        )


def _split_gathered(
    item: tuple[str, Iterable[tuple[str, ArticleSketch]]],
) -> Iterator[tuple[str, tuple[ArticleSketch, list[ArticleSketch]]]]:
    article_id, tagged = item
    own = [s for tag, s in tagged if tag == "self"]
    others = [s for tag, s in tagged if tag == "other"]
    if own and others:
        yield article_id, (own[0], others)


class _VerifyFn(beam.DoFn):
    """Gathered pairs -> verified near edges (+ the sketches of verified articles)."""

    def __init__(self, config: DedupConfig) -> None:
        self._config = config

    def process(self, item: tuple[str, tuple[ArticleSketch, list[ArticleSketch]]]):
        _, (sketch, others) = item
        verified_any = False
        for other in others:
            _CANDIDATES.inc()
            if verify(other, sketch, self._config) is None:
                continue
            _VERIFIED.inc()
            verified_any = True
            yield (other.order, other.content_hash), (sketch.order, sketch.content_hash)
            yield pvalue.TaggedOutput(_SUBSET, (other.id, other))
        if verified_any:
            yield pvalue.TaggedOutput(_SUBSET, (sketch.id, sketch))


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


def _plan_labels(forest: RepresentativeForest) -> Iterator[Any]:
    """Exact labels directly; near ones as requests ((text rep, representative), id)."""
    for assignment in forest.assignments():
        if assignment.same_text:
            yield assignment.id, exact_label(assignment.representative)
        else:
            pair = (assignment.text_representative, assignment.representative)
            yield pvalue.TaggedOutput(_REQUEST, (pair, assignment.id))


def _pair_similarity(
    item: tuple[str, tuple[ArticleSketch, list[ArticleSketch]]],
) -> Iterator[tuple[tuple[str, str], Overlap]]:
    representative_id, (representative, texts) = item
    for text in texts:
        yield (text.id, representative_id), overlap(text, representative)


def _near_labels(item: tuple[tuple[str, str], dict[str, Iterable[Any]]], config: DedupConfig):
    # CoGroupByKey's values are iterables (lists on some runners, lazy on others).
    (_, representative), joined = item
    similarities = list(joined["similarity"])
    if not similarities:  # cannot happen: every request is measured
        LOG.error("no similarity measured for %s", item[0])
        return
    label = label_from_overlap(representative, Overlap(*similarities[0]), config)
    for article_id in joined["member"]:
        yield article_id, dict(label)


class _OneVersionPerIdFn(beam.CombineFn):
    """Compact records of one id -> (the chosen version, number of copies).

    `min` picks the version every step uses (see `_chosen`); the count tells
    how often the id was replayed, without grouping the articles themselves.
    """

    def create_accumulator(self) -> tuple[_Compact | None, int]:
        return None, 0

    def add_input(self, accumulator: tuple, compact: _Compact) -> tuple[_Compact | None, int]:
        best, count = accumulator
        return (compact if best is None else min(best, compact)), count + 1

    def merge_accumulators(self, accumulators: Iterable[tuple]) -> tuple[_Compact | None, int]:
        accumulators = list(accumulators)
        versions = [best for best, _ in accumulators if best is not None]
        return (min(versions) if versions else None), sum(count for _, count in accumulators)

    def extract_output(self, accumulator: tuple) -> tuple[_Compact | None, int]:
        return accumulator


def _count_replays(article_id: str, chosen: tuple[_Compact, int]) -> tuple[str, _Compact]:
    compact, copies = chosen
    if copies > 1:
        _REPLAYED.inc(copies - 1)
    return article_id, compact


def _apply_label(article: Article, labels: dict[str, dict[str, Any]]) -> Article:
    label = labels.get(article.id) or unique_label()
    _STATUS_COUNTERS[label["status"]].inc()
    return article.replace(duplicate=dict(label))


class DeduplicateBatch(beam.PTransform):
    """PCollection[Article] -> PCollection[Article] with content_hash and duplicate set.

    With `with_dead_letters=True` the result is `{"main": articles, "dead_letter":
    DeadLetters}`, the articles whose sketch failed (`dedup_error`); without, they are
    only counted and logged.
    """

    def __init__(
        self,
        config: DedupConfig | None = None,
        label: str | None = None,
        *,
        with_dead_letters: bool = False,
    ) -> None:
        super().__init__(label)
        self._config = config or DedupConfig()
        self._with_dead_letters = with_dead_letters

    def expand(self, articles: beam.PCollection) -> Any:
        config = self._config
        sketched_outputs = articles | "Sketch" >> beam.ParDo(_SketchFn(config)).with_outputs(
            DEAD_LETTER, main="main"
        )
        sketched = sketched_outputs.main
        hashed_articles = sketched | "Article" >> beam.MapTuple(lambda _, pair: pair[0])
        sketches = sketched | "KeySketch" >> beam.MapTuple(lambda i, pair: (i, pair[1]))
        compact = (
            sketches
            | "Compact" >> beam.MapTuple(_compact)
            | "OneVersionPerId" >> beam.CombinePerKey(_OneVersionPerIdFn())
            | "CountReplays" >> beam.MapTuple(_count_replays)
        )

        exact_edges = (
            compact
            | "ByContentHash" >> beam.FlatMapTuple(lambda _, c: [(c[0], c[1])] if c[3] else [])
            | "GroupExact" >> beam.GroupByKey()
            | "ExactEdges" >> beam.FlatMap(_exact_edges)
        )

        candidate_pairs = (
            compact
            | "BandKeys" >> beam.FlatMapTuple(_band_records)
            | "GroupBand" >> beam.GroupByKey()
            | "BucketPairs" >> beam.FlatMap(_weighted_pairs, config)
            | "PairWeights" >> beam.CombinePerKey(sum)
            | "Candidates"
            >> beam.FlatMap(functools.partial(_enough_weight, needed=config.min_shared_anchors))
        )
        verified = (
            candidate_pairs
            | "GatherCandidates"
            >> _GatherPairs(sketches | "PairedSketches" >> _PairedOnly(candidate_pairs))
            | "Verify" >> beam.ParDo(_VerifyFn(config)).with_outputs(_SUBSET, main="edges")
        )
        verified_sketches = verified[_SUBSET] | "OnePerVerifiedId" >> beam.CombinePerKey(_chosen)

        plan = (
            (exact_edges, verified.edges)
            | "AllEdges" >> beam.Flatten()
            | "Clusters" >> beam.CombineGlobally(_ForestCombineFn())
            | "Assign" >> beam.FlatMap(_plan_labels).with_outputs(_REQUEST, main="exact")
        )
        similarities = (
            plan[_REQUEST]
            | "RequestedPairs" >> beam.Map(lambda request: request[0])
            | "DistinctRequests" >> beam.Distinct()
            | "GatherRequested" >> _GatherPairs(verified_sketches)
            | "Measure" >> beam.FlatMap(_pair_similarity)
        )
        near_labels = (
            {"similarity": similarities, "member": plan[_REQUEST]}
            | "JoinSimilarity" >> beam.CoGroupByKey()
            | "NearLabels" >> beam.FlatMap(_near_labels, config)
        )
        labels = (plan.exact, near_labels) | "AllLabels" >> beam.Flatten()
        # Only articles with a duplicate have a label: they come to every worker as a
        # side input (no larger than the forest above), so the articles themselves,
        # text and all, are never shuffled.
        labelled = hashed_articles | "ApplyLabel" >> beam.Map(
            _apply_label, labels=beam.pvalue.AsDict(labels)
        )
        if self._with_dead_letters:
            return {"main": labelled, "dead_letter": sketched_outputs[DEAD_LETTER]}
        return labelled
