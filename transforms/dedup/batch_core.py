"""Batch deduplication in one process, over sketches only (pure, no Beam).

The same steps and the same answers as `DeduplicateBatch` (batch.py), whose
per-bucket and per-cluster functions it reuses: one version per id, exact
edges by content hash, candidate buckets with their weights, verification,
the representative forest, labels. It holds the index of sketches, never the
articles: the local batch run (pipelines/local_batch.py) sketches the
articles in one pass, calls `batch_labels` in the driver and applies the
labels in a second pass, so memory grows by one sketch per article instead of
by every article and every shuffle that the local runner keeps in memory.

`DeduplicateBatch` stays the distributed form (Flink, Dataflow, Spark through
the portable runner): band-keyed GroupByKeys, no global state on one worker.
tests/test_dedup_batch_core.py checks that both give the same labels.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from apache_beam import pvalue

from newsbeam.transforms.dedup.batch import _exact_edges, _plan_labels, _weighted_pairs
from newsbeam.transforms.dedup.clusters import Node, RepresentativeForest
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.similarity import label_from_overlap, overlap, verify
from newsbeam.transforms.dedup.sketch import ArticleSketch, is_anchor

LOG = logging.getLogger(__name__)


@dataclass
class BatchDedupStats:
    """What `DeduplicateBatch` counts in its Metrics (namespace newsbeam.dedup)."""

    replayed_id: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    oversized_bucket: int = 0
    stock_phrase_anchor: int = 0

    def counters(self) -> dict[str, int]:
        """The non-zero counts, as the Beam job reports them (zero = never counted)."""
        return {name: value for name, value in vars(self).items() if value}


def _chosen_versions(
    sketches: Iterable[ArticleSketch], stats: BatchDedupStats
) -> dict[str, ArticleSketch]:
    # The version of a replayed id DeduplicateBatch keeps: the lowest compact record
    # (content hash, order, keys, has text); see batch._OneVersionPerIdFn.
    chosen: dict[str, ArticleSketch] = {}
    for sketch in sketches:
        kept = chosen.get(sketch.id)
        if kept is None:
            chosen[sketch.id] = sketch
            continue
        stats.replayed_id += 1
        if _compact(sketch) < _compact(kept):
            chosen[sketch.id] = sketch
    return chosen


def _compact(sketch: ArticleSketch) -> tuple:
    return sketch.content_hash, sketch.order, sketch.bands, sketch.has_text


def _buckets(chosen: dict[str, ArticleSketch]) -> dict[bytes, list[Node]]:
    buckets: dict[bytes, list[Node]] = defaultdict(list)
    for sketch in chosen.values():
        node = (sketch.order, sketch.content_hash)
        for key in sketch.bands:
            buckets[key].append(node)
    return buckets


def _candidates(
    buckets: dict[bytes, list[Node]], config: DedupConfig, stats: BatchDedupStats
) -> list[tuple[str, str]]:
    weights: dict[tuple[str, str], int] = defaultdict(int)
    for key, members in buckets.items():
        if len(members) < 2:
            continue  # pairs nothing (and is neither oversized nor a stock phrase)
        texts = len({digest for _, digest in members})
        if is_anchor(key):
            if texts > config.max_anchor_bucket:
                stats.stock_phrase_anchor += 1
        elif texts > config.max_bucket_size:
            stats.oversized_bucket += 1
        for pair, weight in _weighted_pairs((key, members), config):
            weights[pair] += weight
    return [pair for pair, weight in weights.items() if weight >= config.min_shared_anchors]


def batch_labels(
    sketches: Iterable[ArticleSketch], config: DedupConfig | None = None
) -> tuple[dict[str, dict[str, Any]], BatchDedupStats]:
    """Sketches of a whole batch -> ({id: label} of every article that has a
    duplicate, counts). Ids without a label are unique. Every copy of a replayed id
    gets its id's label, as in `DeduplicateBatch`."""
    config = config or DedupConfig()
    stats = BatchDedupStats()
    chosen = _chosen_versions(sketches, stats)

    by_hash: dict[str, list[tuple]] = defaultdict(list)
    for sketch in chosen.values():
        if sketch.has_text:
            by_hash[sketch.content_hash].append(sketch.order)
    forest = RepresentativeForest()
    for digest, orders in by_hash.items():
        if len(orders) > 1:
            forest.add_edges(_exact_edges((digest, orders)))
    del by_hash

    buckets = _buckets(chosen)
    candidates = _candidates(buckets, config, stats)
    del buckets
    verified_ids: set[str] = set()
    for first, second in candidates:
        stats.candidate_pairs += 1
        other, sketch = chosen[first], chosen[second]
        if verify(other, sketch, config) is None:
            continue
        stats.verified_pairs += 1
        verified_ids.update((first, second))
        forest.union((other.order, other.content_hash), (sketch.order, sketch.content_hash))

    labels: dict[str, dict[str, Any]] = {}
    similarities: dict[tuple[str, str], Any] = {}
    for output in _plan_labels(forest):
        if not isinstance(output, pvalue.TaggedOutput):
            article_id, label = output
            labels[article_id] = label
            continue
        (text_representative, representative), article_id = output.value
        pair = (text_representative, representative)
        if not verified_ids.issuperset(pair):
            # DeduplicateBatch measures on the sketches of verified articles only and
            # logs this; it does not happen with texts paired by their earliest copy.
            LOG.error("no similarity measured for %s", pair)
            continue
        if pair not in similarities:
            similarities[pair] = overlap(chosen[text_representative], chosen[representative])
        labels[article_id] = dict(label_from_overlap(representative, similarities[pair], config))
    return labels, stats
