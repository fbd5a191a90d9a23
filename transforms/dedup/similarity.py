"""Verification: the measured overlap of a candidate pair (pure).

Candidate search (LSH bands, containment anchors) only proposes pairs; a pair
becomes a duplicate edge only when, measured exactly on the shingle sets:

- near: Jaccard |A & B| / |A | B| >= `threshold`; or
- contained: |A & B| / |shorter| >= `containment_threshold` (0.65), or >=
  `containment_floor` (0.6) when an opening is at least
  `strong_lead_overlap` (0.8) present in the other; the shorter has at least
  `contained_min_shingles` distinct shingles and at least `min_length_ratio`
  of the longer's;

and in both cases the opening of at least one article reappears in the
other: at least `lead_overlap` of its lead shingles (the first shingles of its
first paragraph of `lead_min_words` or more) are in the other's shingle set.

The opening test is what keeps apart two short articles that share a long
boilerplate footer (a company's "About us" and safe-harbour paragraphs: their
Jaccard can exceed 0.7 and their containment 0.9), a short article built
around a long statement that a report also prints in full (containment ~0.6-
0.8), and a follow-up reusing background paragraphs: each one's own opening
is absent from the other. Copies with a new headline, a paragraph added on
top, re-ordered paragraphs, boilerplate added or the bottom cut off still keep
one side's opening intact. What it gives up: a copy whose opening paragraph
was rewritten on *both* sides (a wire "write-through" with a new lede) is not
labelled; and a "release" whose own text is shorter than `lead_min_words`
words is indistinguishable from a headline and is labelled with its footer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.labels import relation_label
from newsbeam.transforms.dedup.sketch import ArticleSketch


class Overlap(NamedTuple):
    """How two articles' shingle sets overlap."""

    # |A & B| / |A | B|
    jaccard: float
    # |A & B| / |shorter of A, B| (the overlap coefficient)
    containment: float
    # distinct shingles of the first and the second article
    size_a: int
    size_b: int


def _intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """|A & B| of two sorted unique arrays: binary search of the smaller in the
    larger (3 numpy calls; `np.intersect1d` concatenates and sorts both)."""
    if a.size == 0 or b.size == 0:
        return 0
    if a.size > b.size:
        a, b = b, a
    at = np.searchsorted(b, a)
    at[at == b.size] = 0
    return int(np.count_nonzero(b[at] == a))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|A & B| / |A | B| of two sorted unique arrays (0.0 for two empty sets)."""
    shared = _intersection_size(a, b)
    union = a.size + b.size - shared
    return shared / union if union else 0.0


def containment(part: np.ndarray, whole: np.ndarray) -> float:
    """|part & whole| / |part| (0.0 for an empty part)."""
    return _intersection_size(part, whole) / part.size if part.size else 0.0


def overlap(a: ArticleSketch, b: ArticleSketch) -> Overlap:
    """Jaccard and containment of the two articles' shingle sets (one intersection)."""
    set_a, set_b = a.shingle_set(), b.shingle_set()
    shared = _intersection_size(set_a, set_b)
    union = set_a.size + set_b.size - shared
    shorter = min(set_a.size, set_b.size)
    return Overlap(
        jaccard=shared / union if union else 0.0,
        containment=shared / shorter if shorter else 0.0,
        size_a=int(set_a.size),
        size_b=int(set_b.size),
    )


def lead_overlap(a: ArticleSketch, b: ArticleSketch) -> float:
    """How much of either article's opening is in the other (the larger side)."""
    return max(
        containment(a.lead_set(), b.shingle_set()),
        containment(b.lead_set(), a.shingle_set()),
    )


def similarity(a: ArticleSketch, b: ArticleSketch) -> float:
    """Exact Jaccard similarity of the two articles' shingle sets."""
    return jaccard(a.shingle_set(), b.shingle_set())


def is_contained(value: Overlap, config: DedupConfig, lead: float = 0.0) -> bool:
    """The containment test (sizes included; `lead`: the pair's opening overlap)."""
    shorter, longer = sorted((value.size_a, value.size_b))
    needed = (
        config.containment_floor
        if lead >= config.strong_lead_overlap
        else config.containment_threshold
    )
    return (
        value.containment >= needed
        and shorter >= config.contained_min_shingles
        and shorter >= config.min_length_ratio * longer
    )


def sizes_rule_out(shorter: Any, longer: Any, config: DedupConfig) -> Any:
    """Whether sizes alone rule a pair out (Jaccard <= shorter / longer, and too short
    to be contained): on two sizes, or elementwise on two arrays of them."""
    return (shorter < config.threshold * longer) & (shorter < config.min_length_ratio * longer)


def verify(a: ArticleSketch, b: ArticleSketch, config: DedupConfig) -> Overlap | None:
    """The pair's overlap if it is a near or containment duplicate, else None."""
    if not (a.near_eligible and b.near_eligible):
        return None
    shorter, longer = sorted((len(a.shingles), len(b.shingles)))
    if sizes_rule_out(shorter, longer, config):
        return None
    # The opening check first: cheaper (40 lead shingles) and it rejects most
    # same-event candidates.
    lead = lead_overlap(a, b)
    if lead < config.lead_overlap:
        return None
    return verify_measured(a, b, lead, config)


def verify_measured(
    a: ArticleSketch, b: ArticleSketch, lead: float, config: DedupConfig
) -> Overlap | None:
    """The rest of `verify` for a pair that passed its checks and its opening test
    (`lead`: the pair's lead_overlap): the full overlap, near or contained."""
    value = overlap(a, b)
    if value.jaccard < config.threshold and not is_contained(value, config, lead):
        return None
    return value


def verified_similarity(a: ArticleSketch, b: ArticleSketch, config: DedupConfig) -> float | None:
    """The Jaccard similarity if the pair is a duplicate (near or contained), else None."""
    value = verify(a, b, config)
    return None if value is None else value.jaccard


def label_from_overlap(representative: str, value: Overlap, config: DedupConfig) -> dict:
    """`near` or `contained` label for an article (side a) measured against its representative."""
    return relation_label(
        representative,
        value.jaccard,
        value.containment,
        shorter=value.size_a < value.size_b,
        near_threshold=config.threshold,
        # Verified pairs passed the containment test already; the label only
        # needs the floor (chain members measured against the representative
        # below it are `near`).
        containment_threshold=config.containment_floor,
    )
