"""Verification of a whole batch's candidate pairs at once (pure, numpy, no Beam).

`similarity.verify` answers one pair: two eligibility checks, the opening test
(how much of each article's lead is in the other's shingle set), then the full
overlap. Pair by pair that is a few numpy calls per lead and a Python call per
pair; a corpus of same-event reports gives every article ~10 candidates (238,216
pairs for 50,000 generated articles, none of them a copy), so the batch
dedup's verification was most of its time. Here the same tests give the same
answer for every pair, with the opening test for all pairs in a few array
operations:

- the eligibility checks on sizes and flags, per pair, as `verify` does them;
- the opening test as one search per chunk of articles: each article's shingle
  set becomes keys `number << 32 | value` (the sets hold 32-bit values, so the
  keys are exact and sorted by number, then value), every lead that must be
  looked up in it becomes keys with that article's number, and one
  `searchsorted` counts the hits of every (lead, set) of the chunk;
- the full overlap, for the pairs that pass the opening test (a fraction of
  them), with `similarity.verify_measured`, the rest of `verify`.

Sketches are loaded by number in increasing order (the batch driver's spill
files are read front to back), twice: once for the flags, sizes and leads of
the articles in some pair, once for the shingle sets of those in an eligible
pair; then again for the pairs that reach the overlap (the caller's cache
keeps the last ones loaded).
tests/test_dedup_pair_verification.py checks the answers against `verify`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.similarity import sizes_rule_out, verify_measured
from newsbeam.transforms.dedup.sketch import SET_DTYPE, ArticleSketch

# Shingle-set values of the articles searched at once: with the leads looked up in
# them (about as many again on generated news), ~15 MB a chunk. A chunk is a few dozen
# numpy calls, so smaller chunks cost no measurable time; on 50,000 generated articles
# the verification's peak (tracemalloc) was 180 MB with 2**21 values, 72 MB with 2**19.
CHUNK_VALUES = 1 << 18

# A key: the article's number above its 32-bit shingle value (exact, sorted by both).
_VALUE_BITS = SET_DTYPE.itemsize * 8


def verify_pairs(
    firsts: np.ndarray,
    seconds: np.ndarray,
    load: Callable[[int], ArticleSketch],
    config: DedupConfig,
) -> np.ndarray:
    """Whether each pair (firsts[i], seconds[i]) of article numbers is a duplicate
    pair, as `verify(load(a), load(b), config) is not None` says it (a boolean array).

    The pairs that reach the full overlap load their sketches again, in the order
    of their first article: a `load` with a cache saves reading them twice."""
    verified = np.zeros(firsts.size, bool)
    if not firsts.size:
        return verified
    facts = _ArticleFacts.gather(np.union1d(firsts, seconds), load)
    candidate = facts.eligible_pairs(firsts, seconds, config)
    lead = np.zeros(firsts.size)
    if candidate.any():
        lead[candidate] = facts.lead_overlaps(firsts[candidate], seconds[candidate], load)
    # The overlap is measured for the pairs that pass the opening test, as in verify.
    measured = np.flatnonzero(candidate & (lead >= config.lead_overlap))
    measured = measured[np.lexsort((seconds[measured], firsts[measured]))]
    for position, a, b, share in zip(
        measured.tolist(),
        firsts[measured].tolist(),
        seconds[measured].tolist(),
        lead[measured].tolist(),
        strict=True,
    ):
        verified[position] = verify_measured(load(a), load(b), share, config) is not None
    return verified


class _ArticleFacts:
    """What the eligibility checks and the opening test need of each article of a
    pair: shingle bytes, near-eligibility, and its lead (eligible articles only),
    the leads' values in one array (an entry per value, not an object per lead)."""

    def __init__(
        self,
        numbers: np.ndarray,
        sizes: np.ndarray,
        eligible: np.ndarray,
        leads: np.ndarray,
        lead_bounds: np.ndarray,
    ) -> None:
        self.numbers = numbers  # sorted
        self.sizes = sizes
        self.eligible = eligible
        self.leads = leads  # every lead's values, in the order of `numbers`
        self.lead_bounds = lead_bounds  # article i's lead: leads[bounds[i]:bounds[i + 1]]

    @classmethod
    def gather(cls, numbers: np.ndarray, load: Callable[[int], ArticleSketch]) -> _ArticleFacts:
        sizes = np.zeros(numbers.size, np.int64)
        eligible = np.zeros(numbers.size, bool)
        lead_bytes = np.zeros(numbers.size + 1, np.int64)
        leads = bytearray()
        for position, number in enumerate(numbers.tolist()):
            sketch = load(number)
            sizes[position] = len(sketch.shingles)
            if sketch.near_eligible:
                eligible[position] = True
                leads += sketch.lead
            lead_bytes[position + 1] = len(leads)
        values = np.frombuffer(bytes(leads), dtype=SET_DTYPE)
        return cls(numbers, sizes, eligible, values, lead_bytes // SET_DTYPE.itemsize)

    def eligible_pairs(
        self, firsts: np.ndarray, seconds: np.ndarray, config: DedupConfig
    ) -> np.ndarray:
        """verify's checks before the opening test: both near-eligible, and sizes
        that do not rule the pair out (Jaccard <= shorter / longer)."""
        at_a = np.searchsorted(self.numbers, firsts)
        at_b = np.searchsorted(self.numbers, seconds)
        size_a, size_b = self.sizes[at_a], self.sizes[at_b]
        shorter, longer = np.minimum(size_a, size_b), np.maximum(size_a, size_b)
        ruled_out = sizes_rule_out(shorter, longer, config)
        return self.eligible[at_a] & self.eligible[at_b] & ~ruled_out

    def lead_overlaps(
        self, firsts: np.ndarray, seconds: np.ndarray, load: Callable[[int], ArticleSketch]
    ) -> np.ndarray:
        """similarity.lead_overlap of each pair: the larger share of either lead
        found in the other's shingle set."""
        count = firsts.size
        # Each pair looked up both ways: lead of `owners` in the set of `targets`.
        owners = np.concatenate([firsts, seconds])
        targets = np.concatenate([seconds, firsts])
        shares = np.zeros(2 * count)
        by_target = np.argsort(targets, kind="stable")
        for lookups, set_keys in self._chunks(targets[by_target], load):
            shares[by_target[lookups]] = self._lead_shares(
                owners[by_target[lookups]], targets[by_target[lookups]], set_keys
            )
        return np.maximum(shares[:count], shares[count:])

    def _chunks(
        self, targets: np.ndarray, load: Callable[[int], ArticleSketch]
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(positions in `targets`, sorted keys of their shingle sets) per chunk of
        consecutive target articles, each set loaded once."""
        distinct, starts = np.unique(targets, return_index=True)
        ends = np.append(starts[1:], targets.size)
        keys: list[np.ndarray] = []
        values = 0
        first = 0
        for position, number in enumerate(distinct.tolist()):
            shingles = load(number).shingle_set().astype(np.uint64)
            keys.append(shingles | np.uint64(number << _VALUE_BITS))
            values += shingles.size
            if values >= CHUNK_VALUES or position == distinct.size - 1:
                yield np.arange(starts[first], ends[position]), np.concatenate(keys)
                keys, values, first = [], 0, position + 1

    def _lead_shares(
        self, owners: np.ndarray, targets: np.ndarray, set_keys: np.ndarray
    ) -> np.ndarray:
        """|lead(owner) & set(target)| / |lead(owner)| per lookup (0.0 for an
        empty lead), the sets given as sorted keys."""
        at = np.searchsorted(self.numbers, owners)
        starts = self.lead_bounds[at]
        lengths = self.lead_bounds[at + 1] - starts
        # The owners' leads one after another: bounds[i]:bounds[i + 1] is owner i's.
        bounds = np.zeros(owners.size + 1, np.int64)
        np.cumsum(lengths, out=bounds[1:])
        gathered = np.arange(bounds[-1]) + np.repeat(starts - bounds[:-1], lengths)
        queries = self.leads[gathered].astype(np.uint64)
        queries |= np.repeat(targets, lengths).astype(np.uint64) << np.uint64(_VALUE_BITS)
        shares = np.zeros(owners.size)
        if queries.size and set_keys.size:
            at = np.searchsorted(set_keys, queries)
            at[at == set_keys.size] = 0
            hits = np.zeros(queries.size + 1, np.int64)
            np.cumsum(set_keys[at] == queries, out=hits[1:])
            found = hits[bounds[1:]] - hits[bounds[:-1]]
            nonempty = lengths > 0
            shares[nonempty] = found[nonempty] / lengths[nonempty]
        return shares
