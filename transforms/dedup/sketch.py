"""What dedup keeps of an article: hashes, shingle sets and candidate keys (pure).

Candidate keys are of three kinds, kept in one tuple (batch buckets and the
stream index group on them alike) and told apart by their length:
- LSH band keys (8 bytes) of the MinHash signature, for texts with fewer than
  `band_max_shingles` distinct shingles: find pairs by Jaccard whatever their
  size, so short near duplicates are found. One shared band = candidate.
- anchors (9 bytes, b"a" + shingle hash), for texts with at least
  `contained_min_shingles`: the shingles whose hash is 0 modulo
  `anchor_rate`, the first `max_anchors` in text order. Both texts sample
  the same shingles, so a shortened copy shares anchors with its original in
  proportion to the shingles they share, not to their Jaccard. Three shared
  anchors (`min_shared_anchors`) = candidate (a few shared stock phrases are
  not enough), and an
  anchor shared by more than `max_anchor_bucket` texts (a stock phrase) is not
  used at all.
- opening keys (9 bytes, b"l" + value): a 2-band x 2-row MinHash of the
  lead shingles. Copies that keep the opening (wire cuts, new headline,
  dateline, noise) share one with probability 1 - (1 - J_lead**2)**2 (0.96
  at J_lead 0.9, 0.81 at 0.75, 0.12 at 0.25); this is what still
  connects the members of a large syndicated cluster, whose anchors are all
  stock phrases by the rule above. One shared opening key = candidate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.fingerprint import Shingled, finalise, text_shingles
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
    values = np.sort(hashes.astype(_SET_DTYPE))  # the low 32 bits
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep].tobytes()


def _lead(shingled: Shingled, config: DedupConfig) -> np.ndarray:
    """The opening: first shingles of the first substantive paragraph.

    Shorter paragraphs before it (headline, dateline, "Advertisement") are
    skipped, and the lead never runs on into the next paragraph: for a short
    release followed by a shared footer, the lead is the release's own text.
    """
    for words, start in zip(shingled.paragraph_words, shingled.paragraph_first, strict=True):
        if words >= config.lead_min_words:
            count = max(words - config.shingle_size + 1, 1)
            return shingled.hashes[start : start + min(count, config.lead_shingles)]
    # No substantive paragraph: the text's first shingles are its opening.
    return shingled.hashes[: config.lead_shingles]


ANCHOR_PREFIX = b"a"
LEAD_PREFIX = b"l"
BAND_KEY_SIZE = 8
_LEAD_SALTS = np.array(
    [0x5851F42D4C957F2D, 0x14057B7EF767814F, 0x2545F4914F6CDD1D, 0x9E3779B97F4A7C15],
    dtype=np.uint64,
)


def is_anchor(key: bytes) -> bool:
    return key[:1] == ANCHOR_PREFIX and len(key) == BAND_KEY_SIZE + 1


def _lead_keys(lead: np.ndarray) -> tuple[bytes, ...]:
    """Two opening keys, each the minima of the lead hashes under two mixes
    (a 2-band x 2-row MinHash): a single minimum is often a stock phrase that
    many unrelated openings share."""
    if lead.size == 0:
        return ()
    minima = finalise(lead[None, :] ^ _LEAD_SALTS[:, None]).min(axis=1).tolist()
    return tuple(
        LEAD_PREFIX
        + hashlib.blake2b(
            minima[2 * band].to_bytes(8, "little") + minima[2 * band + 1].to_bytes(8, "little"),
            digest_size=8,
        ).digest()
        for band in range(2)
    )


def _anchors(flat: np.ndarray, config: DedupConfig) -> tuple[bytes, ...]:
    """The first `max_anchors` distinct shingles whose hash is 0 mod `anchor_rate`.

    The residue is taken from the high bits (the stored sets keep the low 32).
    """
    # (x >> 40) % rate == 0  <=>  x % (rate << 40) < 2**40: two array operations, not three.
    chosen = flat[flat % np.uint64(config.anchor_rate << 40) < np.uint64(1 << 40)].tolist()
    ordered = list(dict.fromkeys(chosen))[: config.max_anchors]  # first occurrences
    return tuple(ANCHOR_PREFIX + value.to_bytes(8, "little") for value in ordered)


def build_sketch(
    article_id: str, text: str, published_at: str | None, config: DedupConfig
) -> ArticleSketch:
    shingled = text_shingles(text, config.shingle_size, config.token_prefix)
    flat, words = shingled.hashes, shingled.words
    shingles = _as_set_bytes(flat)
    distinct = len(shingles) // _SET_DTYPE.itemsize
    lead = _lead(shingled, config)
    near_eligible = bool(flat.size) and words >= config.near_min_words
    keys: tuple[bytes, ...] = ()
    if near_eligible:
        if distinct < config.band_max_shingles:
            signature = signatures([flat], config.num_perm, config.seed)[0]
            keys = band_keys(signature, config.bands, config.rows)
        if distinct >= config.contained_min_shingles:
            keys += _anchors(flat, config)
        keys += _lead_keys(lead)
    return ArticleSketch(
        id=article_id,
        content_hash=shingled.content_hash,
        order=order_key(article_id, published_at),
        words=words,
        shingles=shingles,
        lead=_as_set_bytes(lead),
        bands=keys,
        near_eligible=near_eligible,
    )


def candidate_key_kinds(
    sketch: ArticleSketch, config: DedupConfig
) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """The sketch's candidate keys split into (LSH band keys, containment anchors)."""
    bands = tuple(key for key in sketch.bands if len(key) == BAND_KEY_SIZE)
    return bands, tuple(key for key in sketch.bands if is_anchor(key))
