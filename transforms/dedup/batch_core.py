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

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from apache_beam import pvalue

from newsbeam.transforms.dedup.batch import _plan_labels, _weighted_pairs
from newsbeam.transforms.dedup.clusters import Node, RepresentativeForest
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.similarity import label_from_overlap, overlap, verify
from newsbeam.transforms.dedup.sketch import BAND_KEY_SIZE, ArticleSketch, is_anchor

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


class _Index:
    """What grouping needs of every article, compactly: id, order key, content hash
    and where its sketch can be loaded again (the sketch itself, or a place on disk);
    candidate keys as three flat arrays (value, kind, owner), not Python objects.
    About 300 bytes per article plus 13 per candidate key."""

    def __init__(self) -> None:
        self.index_of: dict[str, int] = {}
        self.orders: list[tuple] = []
        self.hashes: list[str] = []
        self.has_text = bytearray()
        self.alive = bytearray()
        self.locations: list[Any] = []
        self._values: list[np.ndarray] = []
        self._kinds: list[np.ndarray] = []
        self._owners: list[np.ndarray] = []

    def add(self, sketch: ArticleSketch, location: Any, stats: BatchDedupStats) -> None:
        kept = self.index_of.get(sketch.id)
        if kept is not None:
            # A replayed id: the version DeduplicateBatch keeps is the lowest
            # (content hash, order); same hash and order = same text, same keys.
            stats.replayed_id += 1
            if (sketch.content_hash, sketch.order) >= (self.hashes[kept], self.orders[kept]):
                return
            self.alive[kept] = 0
        number = len(self.orders)
        self.index_of[sketch.id] = number
        self.orders.append(sketch.order)
        self.hashes.append(sketch.content_hash)
        self.has_text.append(sketch.has_text)
        self.alive.append(1)
        self.locations.append(location)
        if sketch.bands:
            values, kinds = _split_keys(sketch.bands)
            self._values.append(values)
            self._kinds.append(kinds)
            self._owners.append(np.full(values.size, number, dtype=np.uint32))

    def node(self, number: int) -> Node:
        return self.orders[number], self.hashes[number]

    def buckets(self) -> Iterator[tuple[bytes, list[Node]]]:
        """(key, members) of every key that two or more articles share."""
        if not self._values:
            return
        values = np.concatenate(self._values)
        kinds = np.concatenate(self._kinds)
        owners = np.concatenate(self._owners)
        self._values, self._kinds, self._owners = [], [], []
        order = np.lexsort((owners, values, kinds))
        values, kinds, owners = values[order], kinds[order], owners[order]
        del order
        starts = np.flatnonzero(
            np.concatenate(([True], (values[1:] != values[:-1]) | (kinds[1:] != kinds[:-1])))
        )
        ends = np.append(starts[1:], values.size)
        orders, hashes, alive = self.orders, self.hashes, self.alive
        for start, end in zip(
            starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist(), strict=True
        ):
            # self.node(n), inlined: millions of members on a large corpus.
            members = [(orders[n], hashes[n]) for n in owners[start:end].tolist() if alive[n]]
            if len(members) > 1:
                yield _key_bytes(int(values[start]), int(kinds[start])), members


def _split_keys(keys: tuple[bytes, ...]) -> tuple[np.ndarray, np.ndarray]:
    """An article's candidate keys as (8-byte values, kinds): `_kind` of each key."""
    joined = b"".join(keys)
    wide = BAND_KEY_SIZE + 1
    # Every key prefixed (a long text: anchors and opening keys): no call per key.
    if len(joined) == wide * len(keys) and min(map(len, keys)) == wide:
        records = np.frombuffer(joined, dtype=np.uint8).reshape(-1, wide)
        kinds = records[:, 0].copy()
        if not kinds.all():
            raise ValueError(f"unexpected candidate key in {keys!r}")
        return records[:, 1:].copy().view("<u8").ravel(), kinds
    values = np.frombuffer(b"".join(k[-BAND_KEY_SIZE:] for k in keys), dtype="<u8")
    return values, np.array([_kind(k) for k in keys], dtype=np.uint8)


def _kind(key: bytes) -> int:
    # LSH band keys are 8 bytes; anchors and opening keys a 1-byte prefix and 8.
    if len(key) == BAND_KEY_SIZE:
        return 0
    if len(key) != BAND_KEY_SIZE + 1 or key[0] == 0:
        raise ValueError(f"unexpected candidate key {key!r}")
    return key[0]


def _key_bytes(value: int, kind: int) -> bytes:
    raw = value.to_bytes(BAND_KEY_SIZE, "little")
    return raw if kind == 0 else bytes((kind,)) + raw


def _candidates(
    buckets: Iterable[tuple[bytes, list[Node]]], config: DedupConfig, stats: BatchDedupStats
) -> list[tuple[str, str]]:
    weights: dict[tuple[str, str], int] = defaultdict(int)
    for key, members in buckets:
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
    return indexed_batch_labels(((s, s) for s in sketches), lambda sketch: sketch, config)


def indexed_batch_labels(
    entries: Iterable[tuple[ArticleSketch, Any]],
    load: Callable[[Any], ArticleSketch],
    config: DedupConfig | None = None,
) -> tuple[dict[str, dict[str, Any]], BatchDedupStats]:
    """`batch_labels` over (sketch, location) pairs, holding only the compact index:
    a sketch is loaded again (`load(location)`) when a candidate pair or a label
    needs it."""
    config = config or DedupConfig()
    stats = BatchDedupStats()
    index = _Index()
    for sketch, location in entries:
        index.add(sketch, location, stats)

    forest = RepresentativeForest()
    first_with_hash: dict[str, int] = {}
    for number, digest in enumerate(index.hashes):
        if not (index.alive[number] and index.has_text[number]):
            continue
        earlier = first_with_hash.setdefault(digest, number)
        if earlier != number:
            # The exact step links every copy to the earliest with its text; the forest
            # is the same whichever copy an edge starts from.
            nodes = sorted((index.node(earlier), index.node(number)))
            forest.union(nodes[0], nodes[1])
    del first_with_hash

    candidates = _candidates(index.buckets(), config, stats)

    @functools.lru_cache(maxsize=20_000)
    def sketch_of(article_id: str) -> ArticleSketch:
        return load(index.locations[index.index_of[article_id]])

    verified_ids: set[str] = set()
    for first, second in candidates:
        stats.candidate_pairs += 1
        other, sketch = sketch_of(first), sketch_of(second)
        if verify(other, sketch, config) is None:
            continue
        stats.verified_pairs += 1
        verified_ids.update((first, second))
        forest.union((other.order, other.content_hash), (sketch.order, sketch.content_hash))
    del candidates

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
            similarities[pair] = overlap(sketch_of(text_representative), sketch_of(representative))
        labels[article_id] = dict(label_from_overlap(representative, similarities[pair], config))
    return labels, stats
