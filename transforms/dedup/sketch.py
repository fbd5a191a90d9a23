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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.fingerprint import bundle_shingles, finalise, text_shingles
from newsbeam.transforms.dedup.labels import OrderKey, order_key
from newsbeam.transforms.dedup.minhash import (
    band_keys,
    flat_signatures,
    many_band_keys,
    signatures,
)

SET_DTYPE = np.dtype("<u4")
# Articles sketched together by the batch callers: enough to spread the
# per-call cost of numpy, few enough that a bundle's arrays stay small (~2 MB
# for generated news; 128 was ~5 % slower, 32 ~10 %: benchmarks/README.md,
# "the cheaper sketch").
SKETCH_BUNDLE = 64
# (article id, text, published_at)
SketchInput = tuple[str, str, str | None]


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
        return np.frombuffer(self.shingles, dtype=SET_DTYPE)

    def lead_set(self) -> np.ndarray:
        return np.frombuffer(self.lead, dtype=SET_DTYPE)


def _as_set_bytes(hashes: np.ndarray) -> bytes:
    if hashes.size == 0:
        return b""
    values = np.sort(hashes.astype(SET_DTYPE))  # the low 32 bits
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep].tobytes()


def _segments(bounds: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _set_bytes(hashes: np.ndarray, bounds: np.ndarray) -> tuple[list[bytes], list[int]]:
    """Each segment's sorted, de-duplicated low 32 bits as bytes, and their count."""
    values = hashes.astype(SET_DTYPE)  # the low 32 bits
    for start, stop in _segments(bounds):
        values[start:stop].sort()  # in place, one short sort per text
    keep = np.ones(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    starts = bounds[:-1][bounds[:-1] < bounds[1:]]
    keep[starts] = True  # a text's first value whatever the previous text's last
    kept = np.zeros(values.size + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    kept = kept[bounds]
    data = values[keep].tobytes()
    size = SET_DTYPE.itemsize
    return [data[size * a : size * b] for a, b in _segments(kept)], np.diff(kept).tolist()


def _lead_span(paragraph_words: list[int], shingles: int, config: DedupConfig) -> tuple[int, int]:
    """The opening: first shingles of the first substantive paragraph, as
    (first, end) shingle index in the text.

    Shorter paragraphs before it (headline, dateline, "Advertisement") are
    skipped, and the lead never runs on into the next paragraph: for a short
    release followed by a shared footer, the lead is the release's own text.
    """
    first = 0
    for words in paragraph_words:
        count = max(words - config.shingle_size + 1, 1)
        if words >= config.lead_min_words:
            return first, first + min(count, config.lead_shingles)
        first += count
    # No substantive paragraph: the text's first shingles are its opening.
    return 0, min(shingles, config.lead_shingles)


def _gather(
    hashes: np.ndarray, starts: np.ndarray, stops: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """hashes[starts[i]:stops[i]] of every i, concatenated, and their bounds."""
    counts = stops - starts
    bounds = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    at = np.arange(bounds[-1], dtype=np.int64) + np.repeat(starts - bounds[:-1], counts)
    return hashes[at], bounds


ANCHOR_PREFIX = b"a"
LEAD_PREFIX = b"l"
BAND_KEY_SIZE = 8
_LEAD_SALTS = np.array(
    [0x5851F42D4C957F2D, 0x14057B7EF767814F, 0x2545F4914F6CDD1D, 0x9E3779B97F4A7C15],
    dtype=np.uint64,
)


def is_anchor(key: bytes) -> bool:
    return key[:1] == ANCHOR_PREFIX and len(key) == BAND_KEY_SIZE + 1


def _lead_keys(leads: np.ndarray, bounds: np.ndarray) -> list[tuple[bytes, ...]]:
    """Two opening keys per lead, each the minima of the lead hashes under two
    mixes (a 2-band x 2-row MinHash): a single minimum is often a stock phrase
    that many unrelated openings share. Leads must not be empty."""
    if bounds.size < 2:
        return []
    mixed = finalise(leads[None, :] ^ _LEAD_SALTS[:, None])
    minima = np.minimum.reduceat(mixed, bounds[:-1], axis=1)  # (salt, lead)
    raw = np.ascontiguousarray(minima.T, dtype="<u8").tobytes()
    blake2b = hashlib.blake2b
    return [
        (
            LEAD_PREFIX + blake2b(raw[at : at + 16], digest_size=8).digest(),
            LEAD_PREFIX + blake2b(raw[at + 16 : at + 32], digest_size=8).digest(),
        )
        for at in range(0, len(raw), 32)
    ]


def _is_anchor_hash(hashes: np.ndarray, config: DedupConfig) -> np.ndarray:
    """Which shingle hashes may be anchors: 0 mod `anchor_rate` in the high bits
    (the stored sets keep the low 32)."""
    # (x >> 40) % rate == 0  <=>  x % (rate << 40) < 2**40: two array operations, not three.
    return hashes % np.uint64(config.anchor_rate << 40) < np.uint64(1 << 40)


def _text_anchors(flat: np.ndarray, config: DedupConfig) -> tuple[bytes, ...]:
    """`_anchors` of one text (the stream's per-article path: fewer numpy calls)."""
    chosen = flat[_is_anchor_hash(flat, config)].tolist()
    ordered = list(dict.fromkeys(chosen))[: config.max_anchors]  # first occurrences
    return tuple(ANCHOR_PREFIX + value.to_bytes(8, "little") for value in ordered)


def _anchors(
    hashes: np.ndarray, owner: np.ndarray, chosen: np.ndarray, config: DedupConfig
) -> dict[int, tuple[bytes, ...]]:
    """Per text i with chosen[i]: the first `max_anchors` distinct shingles whose
    hash is an anchor's (`_is_anchor_hash`), in text order (`owner`: each hash's text).
    """
    at = np.flatnonzero(_is_anchor_hash(hashes, config) & chosen[owner])
    if not at.size or config.max_anchors <= 0:
        return {}
    # First occurrences: sort by (text, value, position), keep each run's first.
    order = np.lexsort((at, hashes[at], owner[at]))
    at = at[order]
    values, texts = hashes[at], owner[at]
    first = np.ones(at.size, dtype=bool)
    first[1:] = (texts[1:] != texts[:-1]) | (values[1:] != values[:-1])
    at = np.sort(at[first])
    texts = owner[at]
    # Rank within its text (positions are sorted, texts contiguous): keep the first max_anchors.
    rank = np.arange(at.size) - np.searchsorted(texts, texts)
    at = at[rank < config.max_anchors]
    texts = owner[at]
    records = np.empty((at.size, BAND_KEY_SIZE + 1), dtype=np.uint8)
    records[:, 0] = ANCHOR_PREFIX[0]
    records[:, 1:] = hashes[at].astype("<u8").view(np.uint8).reshape(-1, BAND_KEY_SIZE)
    raw = records.tobytes()
    width = BAND_KEY_SIZE + 1
    keys = [raw[i : i + width] for i in range(0, len(raw), width)]
    distinct, starts = np.unique(texts, return_index=True)
    stops = np.append(starts[1:], at.size)
    return {
        text: tuple(keys[start:stop])
        for text, start, stop in zip(
            distinct.tolist(), starts.tolist(), stops.tolist(), strict=True
        )
    }


def build_sketches(items: Sequence[SketchInput], config: DedupConfig) -> list[ArticleSketch]:
    """The sketches of a bundle of (id, text, published_at), equal field for field
    to sketching each alone: each step runs once over the whole bundle's
    shingles (segments of one array) instead of once per article. One
    failing article fails the bundle (see `build_sketches_or_errors`)."""
    if not items:
        return []
    bundle = bundle_shingles(
        [text for _, text, _ in items], config.shingle_size, config.token_prefix
    )
    hashes, bounds = bundle.hashes, bundle.bounds
    counts = np.diff(bounds)
    owner = np.repeat(np.arange(len(items)), counts)
    shingle_sets, distinct = _set_bytes(hashes, bounds)
    words = [sum(lengths) for lengths in bundle.paragraph_words]
    spans = [
        _lead_span(lengths, count, config)
        for lengths, count in zip(bundle.paragraph_words, counts.tolist(), strict=True)
    ]
    starts = bounds[:-1] + np.array([first for first, _ in spans], dtype=np.int64)
    stops = bounds[:-1] + np.array([end for _, end in spans], dtype=np.int64)
    leads, lead_bounds = _gather(hashes, starts, stops)
    lead_sets, _ = _set_bytes(leads, lead_bounds)

    eligible = (counts > 0) & (np.array(words) >= config.near_min_words)
    distinct_array = np.array(distinct, dtype=np.int64)
    banded = np.flatnonzero(eligible & (distinct_array < config.band_max_shingles))
    band_keys: dict[int, tuple[bytes, ...]] = {}
    if banded.size:
        flat, flat_bounds = _gather(hashes, bounds[banded], bounds[banded + 1])
        matrix = flat_signatures(flat, flat_bounds, config.num_perm, config.seed)
        keys = many_band_keys(matrix, config.bands, config.rows)
        band_keys = dict(zip(banded.tolist(), keys, strict=True))
    anchors = _anchors(
        hashes, owner, eligible & (distinct_array >= config.contained_min_shingles), config
    )
    # Every text with shingles has a lead; the eligible ones get opening keys.
    with_lead = np.flatnonzero(eligible)
    eligible_leads, eligible_bounds = _gather(
        leads, lead_bounds[with_lead], lead_bounds[with_lead + 1]
    )
    lead_keys = dict(
        zip(with_lead.tolist(), _lead_keys(eligible_leads, eligible_bounds), strict=True)
    )

    sketches = []
    for index, (article_id, _, published_at) in enumerate(items):
        keys = band_keys.get(index, ()) + anchors.get(index, ()) + lead_keys.get(index, ())
        sketches.append(
            ArticleSketch(
                id=article_id,
                content_hash=bundle.content_hashes[index],
                order=order_key(article_id, published_at),
                words=words[index],
                shingles=shingle_sets[index],
                lead=lead_sets[index],
                bands=keys,
                near_eligible=bool(eligible[index]),
            )
        )
    return sketches


def build_sketch(
    article_id: str, text: str, published_at: str | None, config: DedupConfig
) -> ArticleSketch:
    """One article's sketch, what `build_sketches` gives for it in any bundle.

    For the stream, which sketches one article at a time: a bundle of one
    costs about twice this (twice the numpy calls), a full bundle about half.
    """
    shingled = text_shingles(text, config.shingle_size, config.token_prefix)
    flat, words = shingled.hashes, shingled.words
    shingles = _as_set_bytes(flat)
    distinct = len(shingles) // SET_DTYPE.itemsize
    first, end = _lead_span(shingled.paragraph_words, flat.size, config)
    lead = flat[first:end]
    near_eligible = bool(flat.size) and words >= config.near_min_words
    keys: tuple[bytes, ...] = ()
    if near_eligible:
        if distinct < config.band_max_shingles:
            signature = signatures([flat], config.num_perm, config.seed)[0]
            keys = band_keys(signature, config.bands, config.rows)
        if distinct >= config.contained_min_shingles:
            keys += _text_anchors(flat, config)
        keys += _lead_keys(lead, np.array([0, lead.size]))[0]
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


def build_sketches_or_errors(
    items: Sequence[SketchInput], config: DedupConfig
) -> list[ArticleSketch | Exception]:
    """`build_sketches`, where one failing article (MemoryError on a giant text,
    a bug) fails only itself: after an exception the bundle is sketched again
    one article at a time, and each failure is returned in its article's place."""
    try:
        return list(build_sketches(items, config))
    except Exception:  # which article is unknown: find it below
        pass
    out: list[ArticleSketch | Exception] = []
    for item in items:
        try:
            out.append(build_sketches([item], config)[0])
        except Exception as error:
            out.append(error)
    return out


def candidate_key_kinds(
    sketch: ArticleSketch, config: DedupConfig
) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """The sketch's candidate keys split into (LSH band keys, containment anchors)."""
    bands = tuple(key for key in sketch.bands if len(key) == BAND_KEY_SIZE)
    return bands, tuple(key for key in sketch.bands if is_anchor(key))
