"""Configuration of the deduplicate stage (one frozen dataclass for batch and stream)."""

from __future__ import annotations

from dataclasses import dataclass

from newsbeam.transforms.dedup.minhash import ALGORITHM_VERSION

DAY_SECONDS = 86_400.0
# Version of the sketch layout: robust tokens hashed once and combined per
# shingle, containment anchors (2). Sketches of another version are never
# compared with these (stream state of version 1 is refused).
SKETCH_FORMAT = 2


@dataclass(frozen=True)
class DedupConfig:
    """Parameters of exact and near-duplicate detection.

    The defaults are justified in `newsbeam.transforms.dedup.minhash` and the
    the docs ("Deduplicate"): 4-word shingles, 128 MinHash permutations in 32
    bands of 4 rows (LSH candidate probability 0.988 at Jaccard 0.6, 0.05 at
    0.2), then a verified Jaccard of at least 0.6 and a shared opening.

    Changing a field of `fingerprint_version` (shingle size, token prefix,
    banding, seed, anchors) changes stored sketches: streaming state written
    with other values is not comparable (the stream DoFn refuses to mix them).
    """

    # Words per shingle; shingles never cross a paragraph break.
    shingle_size: int = 4
    # Robust tokens: each word cut to its first `token_prefix` characters
    # (0 = whole words) after folding OCR digit/letter confusions.
    token_prefix: int = 5
    # LSH banding: num_perm = bands * rows MinHash values per article.
    bands: int = 32
    rows: int = 4
    # Seed of the MinHash permutations: must be the same on every worker and run.
    seed: int = 1
    # Verified Jaccard similarity of shingle sets needed for a "near" label.
    threshold: float = 0.6
    # Opening check: the first `lead_shingles` shingles of the first paragraph
    # with at least `lead_min_words` words (shorter ones - headline, dateline -
    # are skipped); at least `lead_overlap` of one article's opening must
    # appear in the other. Keeps apart short articles that share a long
    # boilerplate footer (their Jaccard alone can pass the threshold).
    lead_shingles: int = 40
    lead_min_words: int = 12
    lead_overlap: float = 0.5
    # Containment: the shorter article's shingles are at least
    # `containment_threshold` inside the longer one's (or `containment_floor`
    # when an opening is at least `strong_lead_overlap` present in the other),
    # the shorter has at least `contained_min_shingles` distinct shingles and
    # `min_length_ratio` of the longer's (a brief inside a long round-up is not
    # a version of it, and would merge every story of the round-up), and the
    # opening check passes. Follow-ups reusing two background paragraphs reach
    # containment 0.61-0.64 with a templated opening half present: the floor
    # alone let 3 in 10,000 generated articles through (benchmarks/README.md).
    containment_threshold: float = 0.65
    containment_floor: float = 0.6
    strong_lead_overlap: float = 0.8
    contained_min_shingles: int = 40
    min_length_ratio: float = 0.25
    # Candidate search for containment: "anchors" = the shingles whose hash
    # falls in 1 of `anchor_rate` residues (the same shingles in every text),
    # the first `max_anchors` in text order. Two texts sharing s shingles share
    # an anchor with probability 1 - (1 - 1/anchor_rate)**s, whatever their
    # lengths. Texts with at least `contained_min_shingles` shingles get
    # anchors; only texts with fewer than `band_max_shingles` get LSH bands
    # (a near pair of longer texts shares >= 0.6 * 160 shingles: anchors find
    # it with probability > 0.9999999).
    anchor_rate: int = 8
    max_anchors: int = 64
    band_max_shingles: int = 160
    # Anchors two texts must share to be a candidate pair (one LSH band or
    # opening key is enough); an anchor in more than `max_anchor_bucket`
    # distinct texts is a stock phrase and is not used. Every pair of an
    # anchor bucket is emitted (and shuffled, in batch) before the counts are
    # known: with 30 that was 61 pairs per article on generated news and the
    # batch job ran ~1.3x as long; 10 emits a third of that for 0.4 % fewer of
    # the verifiable pairs proposed (benchmarks/README.md).
    min_shared_anchors: int = 3
    max_anchor_bucket: int = 10
    # Texts with fewer normalised words only take part in exact matching: one
    # changed word moves a 10-word text's Jaccard by more than 0.3.
    near_min_words: int = 15
    # An LSH bucket with up to `max_bucket_size` distinct texts yields all
    # their pairs; a larger ("hot") one pairs each text only with its next
    # `hot_bucket_neighbours` in representative order (i.e. in time) in batch,
    # and with the latest `hot_bucket_neighbours` arrivals in a stream. Hot
    # buckets come from boilerplate shared by many different texts (press
    # releases' safe-harbour paragraphs): all pairs would be quadratic and all
    # fail verification. A genuine cluster of hundreds of variants still
    # connects through its neighbours, and a pair caught in a hot bucket
    # usually also meets in one of its other bands.
    max_bucket_size: int = 30
    hot_bucket_neighbours: int = 5
    # Stream: how long (event time, seconds) an article stays comparable.
    retention_seconds: float = 7 * DAY_SECONDS

    def __post_init__(self) -> None:
        if self.shingle_size < 1:
            raise ValueError("shingle_size must be >= 1")
        if self.bands < 1 or self.rows < 1:
            raise ValueError("bands and rows must be >= 1")
        if self.bands > 65_535:
            raise ValueError("bands must be < 65536")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if not 0.0 <= self.lead_overlap <= 1.0:
            raise ValueError("lead_overlap must be in [0, 1]")
        if self.lead_shingles < 1 or self.lead_min_words < 0 or self.near_min_words < 0:
            raise ValueError("lead_shingles must be >= 1, word minimums >= 0")
        if self.max_bucket_size < 2 or self.hot_bucket_neighbours < 1:
            raise ValueError("max_bucket_size must be >= 2, hot_bucket_neighbours >= 1")
        if self.shingle_size > 8 or self.token_prefix < 0:
            raise ValueError("shingle_size must be <= 8, token_prefix >= 0")
        if not 0.0 < self.containment_floor <= self.containment_threshold <= 1.0:
            raise ValueError("need 0 < containment_floor <= containment_threshold <= 1")
        if not 0.0 <= self.min_length_ratio <= 1.0 or not 0.0 <= self.strong_lead_overlap <= 1.0:
            raise ValueError("min_length_ratio and strong_lead_overlap must be in [0, 1]")
        if (
            self.anchor_rate < 1
            or self.max_anchors < 0
            or self.contained_min_shingles < 1
            or self.min_shared_anchors < 1
            or self.max_anchor_bucket < 2
        ):
            raise ValueError(
                "anchor_rate, contained_min_shingles, min_shared_anchors >= 1, "
                "max_anchor_bucket >= 2, max_anchors >= 0"
            )
        if self.band_max_shingles * self.threshold < self.contained_min_shingles:
            # A near pair with one text above band_max_shingles must be findable by anchors.
            raise ValueError("band_max_shingles * threshold must be >= contained_min_shingles")
        if self.retention_seconds <= 0:
            raise ValueError("retention_seconds must be > 0")

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    @property
    def fingerprint_version(self) -> tuple[int, ...]:
        """What a stored sketch depends on (rensa's algorithm version included)."""
        return (
            SKETCH_FORMAT,
            ALGORITHM_VERSION,
            self.shingle_size,
            self.token_prefix,
            self.bands,
            self.rows,
            self.seed,
            self.anchor_rate,
            self.max_anchors,
            self.band_max_shingles,
            self.contained_min_shingles,
            self.near_min_words,
            self.lead_shingles,
            self.lead_min_words,
        )  # max_anchor_bucket and min_shared_anchors are lookup rules, not stored
