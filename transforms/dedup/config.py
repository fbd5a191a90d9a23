"""Configuration of the deduplicate stage (one frozen dataclass for batch and stream)."""

from __future__ import annotations

from dataclasses import dataclass

from newsbeam.transforms.dedup.minhash import ALGORITHM_VERSION

DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class DedupConfig:
    """Parameters of exact and near-duplicate detection.

    The defaults are justified in `newsbeam.transforms.dedup.minhash` and the
    README ("Deduplicate"): 4-word shingles, 128 MinHash permutations in 32
    bands of 4 rows (LSH candidate probability 0.988 at Jaccard 0.6, 0.05 at
    0.2), then a verified Jaccard of at least 0.6 and a shared opening.

    Changing `shingle_size`, `bands`, `rows` or `seed` changes every signature:
    streaming state written with other values is not comparable (the stream
    DoFn refuses to mix them, see `fingerprint_version`).
    """

    # Words per shingle; shingles never cross a paragraph break.
    shingle_size: int = 4
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
        if self.retention_seconds <= 0:
            raise ValueError("retention_seconds must be > 0")

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    @property
    def fingerprint_version(self) -> tuple[int, int, int, int, int]:
        """What a stored sketch depends on (rensa's algorithm version included)."""
        return (ALGORITHM_VERSION, self.shingle_size, self.bands, self.rows, self.seed)
