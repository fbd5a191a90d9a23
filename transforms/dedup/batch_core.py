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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from apache_beam import pvalue

from newsbeam.transforms.dedup.batch import _plan_labels
from newsbeam.transforms.dedup.clusters import Node, RepresentativeForest
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.pair_verification import verify_pairs
from newsbeam.transforms.dedup.similarity import label_from_overlap, overlap
from newsbeam.transforms.dedup.sketch import ANCHOR_PREFIX, BAND_KEY_SIZE, ArticleSketch

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

    def candidate_pairs(
        self, config: DedupConfig, stats: BatchDedupStats
    ) -> tuple[np.ndarray, np.ndarray]:
        """The candidate pairs as two arrays of article numbers, (earlier, later) in
        node order: what `DeduplicateBatch` pairs in its buckets
        (`batch._weighted_pairs`), computed over every candidate key at once instead
        of a Python list per bucket."""
        if not self._values:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # Node order (order key, then content hash) as one rank per living article.
        by_node = sorted((n for n in range(len(self.orders)) if self.alive[n]), key=self.node)
        rank = np.zeros(len(self.orders), np.int64)
        rank[by_node] = np.arange(len(by_node))
        numbered: dict[str, int] = {}
        text = np.fromiter(
            (numbered.setdefault(digest, len(numbered)) for digest in self.hashes),
            np.int64,
            len(self.hashes),
        )
        buckets = self._buckets(rank, text)
        del rank, text
        codes = buckets.weighed_pairs(config, stats, len(by_node))
        node_number = np.asarray(by_node, np.int64)
        return node_number[codes // len(by_node)], node_number[codes % len(by_node)]

    def _buckets(self, rank: np.ndarray, text: np.ndarray) -> _Buckets:
        """Every key two or more living articles hold, with its members in node order
        (`rank`), one copy per text (`text` numbers content hashes: exact copies are
        linked by the exact step). Arrays are dropped as soon as they are used: the
        peak is one sort of every key, as for the per-bucket lists this replaced."""
        values = np.concatenate(self._values)
        kinds = np.concatenate(self._kinds)
        owners = np.concatenate(self._owners)
        self._values, self._kinds, self._owners = [], [], []
        alive = np.frombuffer(self.alive, dtype=np.uint8).view(bool)
        if not alive.all():
            living = alive[owners]
            values, kinds, owners = values[living], kinds[living], owners[living]
            del living
        del alive
        order = np.lexsort((values, kinds))
        values, kinds, owners = values[order], kinds[order], owners[order]
        del order
        # Most keys are one article's: they leave before the pairing's arrays exist.
        same = (values[1:] == values[:-1]) & (kinds[1:] == kinds[:-1])
        shared = np.zeros(values.size, bool)
        shared[1:] = same
        shared[:-1] |= same
        del same
        values, kinds, owners = values[shared], kinds[shared], owners[shared]
        del shared
        starts = np.ones(values.size, bool)
        starts[1:] = (values[1:] != values[:-1]) | (kinds[1:] != kinds[:-1])
        del values
        anchor = kinds[starts] == ANCHOR_PREFIX[0]
        del kinds
        bucket = np.cumsum(starts, dtype=np.int64) - 1
        del starts
        # Members in node order within their bucket (bucket and rank are < 2**31).
        key = np.left_shift(bucket, 32)
        key |= rank[owners]
        order = np.argsort(key, kind="stable")
        del key
        bucket, owners = bucket[order].astype(np.int32), owners[order]
        del order
        # One copy per text: of the members whose text has copies, the earliest.
        copied = np.bincount(text, minlength=1)[text[owners]] > 1
        if copied.any():
            at = np.flatnonzero(copied)
            _, first = np.unique(
                (bucket[at].astype(np.int64) << 32) | text[owners[at]], return_index=True
            )
            later = np.ones(at.size, bool)
            later[first] = False
            keep = np.ones(owners.size, bool)
            keep[at[later]] = False
            bucket, owners = bucket[keep], owners[keep]
        return _Buckets(bucket, rank[owners], anchor)


@dataclass
class _Buckets:
    """Members of every shared key's bucket as flat arrays: `bucket` numbers (members
    of a bucket contiguous and in node order), their `rank`; `anchor` per bucket."""

    bucket: np.ndarray
    rank: np.ndarray
    anchor: np.ndarray

    def weighed_pairs(self, config: DedupConfig, stats: BatchDedupStats, size: int) -> np.ndarray:
        """Pairs (earlier rank * size + later rank) whose weights reach
        `min_shared_anchors`, sorted: a band or opening key weighs that much alone,
        an anchor one; a bucket of more texts than `max_bucket_size` pairs each member
        with its next `hot_bucket_neighbours`, an anchor in more than
        `max_anchor_bucket` texts (a stock phrase) pairs none."""
        bucket = self.bucket
        texts = np.bincount(bucket, minlength=self.anchor.size)
        stock = self.anchor & (texts > config.max_anchor_bucket)
        hot = ~self.anchor & (texts > config.max_bucket_size)
        stats.stock_phrase_anchor += int(np.count_nonzero(stock))
        stats.oversized_bucket += int(np.count_nonzero(hot))
        # How many following members of its bucket each member is paired with (small
        # types: these arrays have an entry per member).
        reach = np.where(hot, config.hot_bucket_neighbours, texts - 1).astype(np.int32)
        reach[stock] = 0
        reach = reach[bucket]
        weight = np.where(self.anchor, 1, config.min_shared_anchors).astype(np.int32)[bucket]
        codes, weights = [], []
        rank = self.rank
        for step in range(1, int(reach.max(initial=0)) + 1):
            # Boolean masks, not index arrays: a byte per member, whatever the corpus.
            paired = reach[:-step] >= step
            paired &= bucket[step:] == bucket[:-step]
            codes.append(rank[:-step][paired] * size + rank[step:][paired])
            weights.append(weight[:-step][paired])
        if not codes:
            return np.zeros(0, np.int64)
        pairs, where = np.unique(np.concatenate(codes), return_inverse=True)
        totals = np.bincount(where, weights=np.concatenate(weights))
        return pairs[totals >= config.min_shared_anchors]


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

    firsts, seconds = index.candidate_pairs(config, stats)

    # The sketches last loaded (verification reads them front to back twice, then
    # the pairs to measure; the labels measure a few again): on a corpus of up to
    # this many articles, each is read once. Without their band keys (half of a
    # sketch's memory), which only the index needed.
    @functools.lru_cache(maxsize=20_000)
    def sketch_at(number: int) -> ArticleSketch:
        return load(index.locations[number]).without_bands()

    def sketch_of(article_id: str) -> ArticleSketch:
        return sketch_at(index.index_of[article_id])

    verified = verify_pairs(firsts, seconds, sketch_at, config)
    stats.candidate_pairs += int(firsts.size)
    verified_ids: set[str] = set()
    for a, b in zip(firsts[verified].tolist(), seconds[verified].tolist(), strict=True):
        stats.verified_pairs += 1
        first, second = index.node(a), index.node(b)
        verified_ids.update((first[0][2], second[0][2]))
        forest.union(first, second)
    del firsts, seconds, verified

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
