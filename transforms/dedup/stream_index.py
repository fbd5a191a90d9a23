"""The streaming deduplication window (pure, no Beam).

Each arriving article is compared with the articles seen within the retention
window of event time and labelled against the *first seen* member of the
cluster it joins. Expiry is lazy: the stream clock is the largest event time
seen so far, and every observation first drops the entries older than
`clock - retention` (no timers needed, which the local runner does not fire).

Replay safety: an id already in the window gets the label it got the first
time, and nothing is added. An id replayed after it expired is labelled
afresh against the window as it is then.

`StreamEntry` is what the Beam DoFn persists (one bag element per article);
`StreamIndex.restore` rebuilds the in-memory index from those entries.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.labels import (
    EXACT,
    UNIQUE,
    exact_label,
    unique_label,
)
from newsbeam.transforms.dedup.similarity import Overlap, label_from_overlap, overlap, verify
from newsbeam.transforms.dedup.sketch import ArticleSketch, is_anchor


@dataclass(slots=True)
class StreamEntry:
    id: str
    # Arrival number in this stream: "first seen" = lowest seq.
    seq: int
    event_time: float
    content_hash: str
    label: dict[str, Any]
    # seq of this entry's representative (its own seq when it is unique).
    rep_seq: int
    # Kept only for articles that near-duplicate search can use; exact copies
    # and texts below `near_min_words` need just the hash and the label.
    sketch: ArticleSketch | None = None
    has_text: bool = True


@dataclass(slots=True)
class Observation:
    label: dict[str, Any]
    # The entry to persist, or None for a replayed id (nothing changes).
    entry: StreamEntry | None
    candidates: int = 0
    verified: int = 0
    expired: list[str] = field(default_factory=list)


class StreamIndex:
    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        self.clock = -math.inf
        self.next_seq = 0
        self._entries: dict[str, StreamEntry] = {}
        # LSH bucket -> its members in arrival order. Most buckets hold one
        # article: that one is stored as its id alone (a dict per band and
        # article was ~60% of the index's memory).
        self._buckets: dict[bytes, str | dict[str, None]] = {}
        # content hash -> ids with that text, in arrival order.
        self._by_hash: dict[str, dict[str, None]] = {}
        self._expiry: list[tuple[float, int, str]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: str) -> bool:
        return article_id in self._entries

    def entries(self) -> list[StreamEntry]:
        """Live entries in arrival order (what a compacted state holds)."""
        return sorted(self._entries.values(), key=lambda e: e.seq)

    @classmethod
    def restore(
        cls, config: DedupConfig, entries: list[StreamEntry], clock: float, next_seq: int
    ) -> StreamIndex:
        index = cls(config)
        for entry in sorted(entries, key=lambda e: e.seq):
            if entry.id not in index._entries:
                index._insert(entry)
        index.clock = clock
        index.next_seq = max([next_seq] + [e.seq + 1 for e in entries])
        index.expire()
        return index

    def expire(self) -> list[str]:
        """Drop entries whose event time is before clock - retention."""
        horizon = self.clock - self.config.retention_seconds
        dropped = []
        while self._expiry and self._expiry[0][0] < horizon:
            _, _, article_id = heapq.heappop(self._expiry)
            entry = self._entries.pop(article_id, None)
            if entry is None:
                continue
            dropped.append(article_id)
            same_text = self._by_hash.get(entry.content_hash)
            if same_text is not None:
                same_text.pop(article_id, None)
                if not same_text:
                    del self._by_hash[entry.content_hash]
            if entry.sketch is not None:
                for band in entry.sketch.bands:
                    self._remove_from_bucket(band, article_id)
        return dropped

    def observe(self, sketch: ArticleSketch, event_time: float | None) -> Observation:
        known = self._entries.get(sketch.id)
        if known is not None:
            return Observation(label=dict(known.label), entry=None)
        if event_time is None:
            # Undated: it arrives "now" on the stream clock.
            event_time = self.clock if math.isfinite(self.clock) else 0.0
        self.clock = max(self.clock, event_time)
        expired = self.expire()
        observation = self._classify(sketch, event_time)
        observation.expired = expired
        assert observation.entry is not None
        self._insert(observation.entry)
        # The stored label must not be the caller's object (callers may edit theirs).
        observation.label = dict(observation.label)
        return observation

    def _entry(
        self,
        sketch: ArticleSketch,
        event_time: float,
        label: dict[str, Any],
        rep_seq: int | None,
        *,
        keep_sketch: bool,
    ) -> StreamEntry:
        seq = self.next_seq
        self.next_seq += 1
        return StreamEntry(
            id=sketch.id,
            seq=seq,
            event_time=event_time,
            content_hash=sketch.content_hash,
            label=label,
            rep_seq=seq if rep_seq is None else rep_seq,
            sketch=sketch if keep_sketch else None,
            has_text=sketch.has_text,
        )

    def _classify(self, sketch: ArticleSketch, event_time: float) -> Observation:
        if not sketch.has_text:
            # Nothing to compare: empty texts are not duplicates of each other.
            return Observation(
                unique_label(),
                self._entry(sketch, event_time, unique_label(), None, keep_sketch=False),
            )
        same_text = self._by_hash.get(sketch.content_hash)
        if same_text:
            first = self._entries[next(reversed(same_text))]
            if first.label["status"] == UNIQUE:
                label = exact_label(first.id)
            elif first.label["status"] == EXACT:
                label = exact_label(first.label["of"])
            else:  # same text as a near duplicate: same representative and similarity
                label = dict(first.label)
            return Observation(
                label, self._entry(sketch, event_time, label, first.rep_seq, keep_sketch=False)
            )
        if not sketch.near_eligible:
            return Observation(
                unique_label(),
                self._entry(sketch, event_time, unique_label(), None, keep_sketch=False),
            )

        candidates = self._candidates(sketch)
        # rep seq -> (rep id, best verified overlap with a member of that cluster)
        clusters: dict[int, tuple[str, Overlap]] = {}
        verified = 0
        for candidate_id in candidates:
            candidate = self._entries[candidate_id]
            assert candidate.sketch is not None
            value = verify(sketch, candidate.sketch, self.config)
            if value is None:
                continue
            verified += 1
            if candidate.label["status"] == UNIQUE:
                rep = (candidate.seq, candidate.id)
            else:
                rep = (candidate.rep_seq, candidate.label["of"])
            best = clusters.get(rep[0])
            if best is None or value.jaccard > best[1].jaccard:
                clusters[rep[0]] = (rep[1], value)
        if not clusters:
            entry = self._entry(sketch, event_time, unique_label(), None, keep_sketch=True)
            return Observation(unique_label(), entry, len(candidates), 0)
        rep_seq = min(clusters)
        rep_id, best = clusters[rep_seq]
        rep_entry = self._entries.get(rep_id)
        if rep_entry is not None and rep_entry.seq == rep_seq and rep_entry.sketch is not None:
            value = overlap(sketch, rep_entry.sketch)
        else:  # representative expired (or an exact copy): closest member's value
            value = best
        label = label_from_overlap(rep_id, value, self.config)
        entry = self._entry(sketch, event_time, label, rep_seq, keep_sketch=True)
        return Observation(label, entry, len(candidates), verified)

    def _candidates(self, sketch: ArticleSketch) -> list[str]:
        """Ids sharing one LSH band or opening key, or `min_shared_anchors` anchors."""
        config = self.config
        strong: dict[str, None] = {}
        anchored: collections.Counter[str] = collections.Counter()
        for key in sketch.bands:
            members = self._buckets.get(key)
            if members is None:
                continue
            if is_anchor(key):
                if isinstance(members, str):
                    anchored[members] += 1
                elif len(members) <= config.max_anchor_bucket:  # else a stock phrase
                    anchored.update(iter(members))
            elif isinstance(members, str):
                strong[members] = None
            elif len(members) > config.max_bucket_size:
                # Hot bucket (shared boilerplate): only its latest arrivals, as in
                # batch, so one footer cannot make every article scan the window.
                strong.update(
                    dict.fromkeys(itertools.islice(reversed(members), config.hot_bucket_neighbours))
                )
            else:
                strong.update(members)
        needed = config.min_shared_anchors
        strong.update((member, None) for member, n in anchored.items() if n >= needed)
        return list(strong)

    def _insert(self, entry: StreamEntry) -> None:
        self._entries[entry.id] = entry
        if entry.has_text:
            self._by_hash.setdefault(entry.content_hash, {})[entry.id] = None
        if entry.sketch is not None:
            for band in entry.sketch.bands:
                self._add_to_bucket(band, entry.id)
        heapq.heappush(self._expiry, (entry.event_time, entry.seq, entry.id))

    def _add_to_bucket(self, band: bytes, article_id: str) -> None:
        members = self._buckets.get(band)
        if members is None:
            self._buckets[band] = article_id
        elif isinstance(members, str):
            self._buckets[band] = {members: None, article_id: None}
        else:
            members[article_id] = None

    def _remove_from_bucket(self, band: bytes, article_id: str) -> None:
        members = self._buckets.get(band)
        if members is None:
            return
        if isinstance(members, str):
            if members == article_id:
                del self._buckets[band]
            return
        members.pop(article_id, None)
        if len(members) == 1:
            self._buckets[band] = next(iter(members))
        elif not members:
            del self._buckets[band]
