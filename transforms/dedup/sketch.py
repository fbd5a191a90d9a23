"""What dedup keeps of an article: hashes, shingle sets and LSH band keys (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.fingerprint import (
    hash_normalized,
    hash_shingles,
    paragraph_shingles,
    paragraph_words,
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
    # LSH band keys; empty when the article only takes part in exact matching
    # (or once dropped by `without_bands`).
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


def _lead(paragraphs: list[list[str]], hashed: list[list[int]], config: DedupConfig) -> list[int]:
    """The opening: first shingles of the first substantive paragraph.

    Shorter paragraphs before it (headline, dateline, "Advertisement") are
    skipped, and the lead never runs on into the next paragraph: for a short
    release followed by a shared footer, the lead is the release's own text.
    """
    for words, hashes in zip(paragraphs, hashed, strict=True):
        if len(words) >= config.lead_min_words:
            return hashes[: config.lead_shingles]
    # No substantive paragraph: the text's first shingles are its opening.
    return [h for hashes in hashed for h in hashes][: config.lead_shingles]


def build_sketch(
    article_id: str, text: str, published_at: str | None, config: DedupConfig
) -> ArticleSketch:
    paragraphs = paragraph_words(text)
    words = sum(len(p) for p in paragraphs)
    digest = hash_normalized(" ".join(word for p in paragraphs for word in p))
    hashed = hash_shingles(paragraph_shingles(paragraphs, config.shingle_size))
    flat = np.array([h for hashes in hashed for h in hashes], dtype=np.uint64)
    bands: tuple[bytes, ...] = ()
    if flat.size and words >= config.near_min_words:
        signature = signatures([flat], config.num_perm, config.seed)[0]
        bands = band_keys(signature, config.bands, config.rows)
    return ArticleSketch(
        id=article_id,
        content_hash=digest,
        order=order_key(article_id, published_at),
        words=words,
        shingles=_as_set_bytes(flat),
        lead=_as_set_bytes(np.array(_lead(paragraphs, hashed, config), dtype=np.uint64)),
        bands=bands,
        near_eligible=bool(bands),
    )
