"""Verification: the measured similarity of a candidate pair (pure).

LSH only proposes candidates; a pair becomes a "near" label only when

- the Jaccard similarity of the two shingle sets (measured exactly, not
  estimated from signatures) is >= `threshold`, and
- the opening of at least one article reappears in the other: at least
  `lead_overlap` of its lead shingles (the first shingles of its first
  paragraph of `lead_min_words` or more) are in the other's shingle set.

The second test is what keeps apart two short articles that share a long
boilerplate footer (a company's "About us" and safe-harbour paragraphs): their
Jaccard can exceed 0.7, but each one's own opening is absent from the other.
Copies with a new headline, a paragraph added on top, re-ordered paragraphs or
boilerplate added still keep one side's opening intact. What it gives up:
a copy whose opening paragraph was rewritten on *both* sides (a wire
"write-through" with a new lede) and whose Jaccard still passes is not
labelled; and a "release" whose own text is shorter than `lead_min_words`
words is indistinguishable from a headline and is labelled with its footer.
"""

from __future__ import annotations

import numpy as np

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.sketch import ArticleSketch


def _intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    if a.size == 0 or b.size == 0:
        return 0
    return int(np.intersect1d(a, b, assume_unique=True).size)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|A & B| / |A | B| of two sorted unique arrays (0.0 for two empty sets)."""
    shared = _intersection_size(a, b)
    union = a.size + b.size - shared
    return shared / union if union else 0.0


def containment(part: np.ndarray, whole: np.ndarray) -> float:
    """|part & whole| / |part| (0.0 for an empty part)."""
    return _intersection_size(part, whole) / part.size if part.size else 0.0


def lead_overlap(a: ArticleSketch, b: ArticleSketch) -> float:
    """How much of either article's opening is in the other (the larger side)."""
    return max(
        containment(a.lead_set(), b.shingle_set()),
        containment(b.lead_set(), a.shingle_set()),
    )


def similarity(a: ArticleSketch, b: ArticleSketch) -> float:
    """Exact Jaccard similarity of the two articles' shingle sets."""
    return jaccard(a.shingle_set(), b.shingle_set())


def verified_similarity(a: ArticleSketch, b: ArticleSketch, config: DedupConfig) -> float | None:
    """The Jaccard similarity if the pair is a near duplicate, else None."""
    if not (a.near_eligible and b.near_eligible):
        return None
    value = similarity(a, b)
    if value < config.threshold:
        return None
    if lead_overlap(a, b) < config.lead_overlap:
        return None
    return value
