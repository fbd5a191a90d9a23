"""What dedup keeps of an article: hashes, shingle sets and candidate keys (pure).

Candidate keys are of two kinds, kept in one tuple because batch buckets and
the stream index treat them alike (equal key = candidate pair):
- LSH band keys of the MinHash signature (texts with fewer than
  `band_max_shingles` distinct shingles): find pairs by Jaccard, whatever
  their size, so short near duplicates are found;
- anchors (texts with at least `contained_min_shingles`): the shingles whose
  hash is 0 modulo `anchor_rate`, the first `max_anchors` in text order. Both
  texts sample the same shingles, so a shortened copy shares anchors with its
  original in proportion to the shingles they share, not to their Jaccard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.fingerprint import (
    hash_normalized,
    paragraph_words,
    shingle_hashes,
)
from newsbeam.transforms.dedup.labels import OrderKey, order_key
from newsbeam.transforms.dedup.minhash import band_keys, signatures

_SET_DTYPE = np.dtype("<u4")


@dataclass(frozen=True, slots=True)
class ArticleSketch:
    """The comparable form of one article.

    Shingle sets are stored as sorted, de-duplicated little-endian uint32
    (the low half of rensa's 64-bit shingle hash): 4 bytes per shingle, and
    two 500-shingle texts share a 32-bit value by accident with probability
    ~6e-5, far below what moves a Jaccard of 0.6. The MinHash signature is
    computed from the full 64-bit hashes and only its band keys are kept.
    """

    id: str
    content_hash: str
    order: OrderKey
    words: int
    shingles: bytes
    lead: bytes
    # Candidate keys (8 bytes each): LSH band keys and/or containment anchors
    # (see the module doc); empty when the article only takes part in exact
    # matching (or once dropped by `without_bands`).
    bands: tuple[bytes, ...]
    # Long enough (`near_min_words`) to take part in near-duplicate matching.
    near_eligible: bool

    @property
    def has_text(self) -> bool:
        return self.words > 0

    def __reduce__(self) -> tuple:
        # Plain-tuple pickling: dataclasses' generic slots pickling costs ~4x
        # more, and sketches cross several shuffles in batch.
        return (
            ArticleSketch,
            (
                self.id,
                self.content_hash,
                self.order,
                self.words,
                self.shingles,
                self.lead,
                self.bands,
                self.near_eligible,
            ),
        )

    def without_bands(self) -> ArticleSketch:
        """The part verification needs (band keys are only for bucketing)."""
        return ArticleSketch(
            self.id,
            self.content_hash,
            self.order,
            self.words,
            self.shingles,
            self.lead,
            (),
            self.near_eligible,
        )

    def shingle_set(self) -> np.ndarray:
        return np.frombuffer(self.shingles, dtype=_SET_DTYPE)

    def lead_set(self) -> np.ndarray:
        return np.frombuffer(self.lead, dtype=_SET_DTYPE)


def _as_set_bytes(hashes: np.ndarray) -> bytes:
    if hashes.size == 0:
        return b""
    return np.unique((hashes & np.uint64(0xFFFFFFFF)).astype(_SET_DTYPE)).tobytes()


def _lead(paragraphs: list[list[str]], hashed: list[np.ndarray], config: DedupConfig) -> np.ndarray:
    """The opening: first shingles of the first substantive paragraph.

    Shorter paragraphs before it (headline, dateline, "Advertisement") are
    skipped, and the lead never runs on into the next paragraph: for a short
    release followed by a shared footer, the lead is the release's own text.
    """
    for words, hashes in zip(paragraphs, hashed, strict=True):
        if len(words) >= config.lead_min_words:
            return hashes[: config.lead_shingles]
    # No substantive paragraph: the text's first shingles are its opening.
    return np.concatenate(hashed)[: config.lead_shingles]


def _anchors(flat: np.ndarray, config: DedupConfig) -> tuple[bytes, ...]:
    """The first `max_anchors` distinct shingles whose hash is 0 mod `anchor_rate`.

    The residue is taken from the high bits (the stored sets keep the low 32).
    """
    chosen = flat[(flat >> np.uint64(40)) % np.uint64(config.anchor_rate) == 0]
    if chosen.size == 0:
        return ()
    _, first = np.unique(chosen, return_index=True)
    ordered = chosen[np.sort(first)][: config.max_anchors].astype("<u8")
    raw = ordered.tobytes()
    return tuple(raw[i : i + 8] for i in range(0, len(raw), 8))


def build_sketch(
    article_id: str, text: str, published_at: str | None, config: DedupConfig
) -> ArticleSketch:
    paragraphs = paragraph_words(text)
    words = sum(len(p) for p in paragraphs)
    digest = hash_normalized(" ".join(word for p in paragraphs for word in p))
    hashed = shingle_hashes(paragraphs, config.shingle_size, config.token_prefix)
    flat = np.concatenate(hashed) if hashed else np.zeros(0, dtype=np.uint64)
    shingles = _as_set_bytes(flat)
    distinct = len(shingles) // _SET_DTYPE.itemsize
    keys: tuple[bytes, ...] = ()
    if flat.size and words >= config.near_min_words:
        if distinct < config.band_max_shingles:
            signature = signatures([flat], config.num_perm, config.seed)[0]
            keys = band_keys(signature, config.bands, config.rows)
        if distinct >= config.contained_min_shingles:
            keys += _anchors(flat, config)
    return ArticleSketch(
        id=article_id,
        content_hash=digest,
        order=order_key(article_id, published_at),
        words=words,
        shingles=shingles,
        lead=_as_set_bytes(_lead(paragraphs, hashed, config)) if hashed else b"",
        bands=keys,
        near_eligible=bool(flat.size) and words >= config.near_min_words,
    )
