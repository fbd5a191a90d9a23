"""Configuration of the story stage (one frozen dataclass for batch and stream)."""

from __future__ import annotations

import math
from dataclasses import dataclass

DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class StoryConfig:
    """Parameters of online story clustering.

    The defaults are measured in benchmarks/bench_stories.py (benchmarks/README.md,
    "Stories"): chosen where both development sets are on a plateau, not at
    either set's best point.
    """

    # A story takes new articles while its newest member is at most this old
    # (event time); older stories are expired lazily and never joined again.
    window_days: float = 3.0
    # Cosine similarity (article vs story centroid) needed to join a story.
    threshold: float = 0.2
    # Term weight multipliers: words of the title, capitalised names (not at the
    # start of a sentence) and numbers. Names and numbers carry an event across
    # languages and keep apart two events of the same kind.
    title_weight: float = 2.0
    name_weight: float = 2.0
    number_weight: float = 2.5
    # Words are cut to their first `token_prefix` characters (0 = whole words): a
    # language-independent stand-in for stemming (inflections, plurals).
    token_prefix: int = 6
    # Characters of the body read (the title always): the lead names the event. Reading
    # 1,500 rather than 20,000 kept the ECB+ and SemEval figures (ECB+ rose) at a
    # third of the cost on 4 KB articles; 1,000 rather than 1,500 kept them again
    # (ECB+ 0.913 vs 0.915 in id order, 0.865 vs 0.860 over shuffled orders, SemEval
    # 0.900 vs 0.898) for another ~12% of the stage (benchmarks/README.md, "Stories").
    max_chars: int = 1_000
    # An article keeps its `max_article_terms` heaviest terms; a story centroid its
    # `max_story_terms` (bounds state per story and the cost of a comparison). 50
    # rather than 80 story terms: ECB+ 0.916 vs 0.913 (shuffled orders 0.873 vs
    # 0.865), SemEval 0.906 vs 0.900, 30% less state per story; 40-60 is a plateau.
    max_article_terms: int = 150
    max_story_terms: int = 50
    # Stories are looked up through the article's `query_terms` heaviest terms; at
    # most `max_candidates` of them (those sharing the most of those terms' weight)
    # are compared in full. 5 rather than 10: the same figures on both sets, ~12%
    # less core time where many stories share a vocabulary.
    query_terms: int = 30
    max_candidates: int = 5
    # Document frequencies (learned from the stream) keep at most this many terms;
    # past it, the rarest half is dropped (bounded state).
    max_vocabulary: int = 200_000
    # At most this many stories are active at once; past it, the one whose newest
    # member is oldest closes early, as if out of the window (among equal times the
    # earliest founded). The window alone does not bound them when event times do not
    # spread: a batch of undated articles all take the run's ingestion time, and
    # without a cap every story of the batch stays open, its state and each article's
    # lookup growing with the batch (benchmarks/README.md, "Undated batches").
    max_active_stories: int = 10_000

    @property
    def window_seconds(self) -> float:
        return self.window_days * DAY_SECONDS

    def validate(self) -> StoryConfig:
        if not self.window_days > 0:  # NaN too
            raise ValueError(f"story window must be positive, got {self.window_days} days")
        # A NaN or infinite boost would make every weight of the article NaN or infinite,
        # and ties among them have no order (the C and Python sorts would disagree).
        boosts = (self.title_weight, self.name_weight, self.number_weight)
        if not all(math.isfinite(boost) and boost >= 0 for boost in boosts):
            raise ValueError(f"story term weights must be finite and >= 0, got {boosts}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"story threshold must be in (0, 1], got {self.threshold}")
        if (
            min(self.max_article_terms, self.max_story_terms, self.query_terms, self.max_candidates)
            < 1
        ):
            raise ValueError("story term caps must be at least 1")
        if self.max_active_stories < 1:
            raise ValueError(
                f"story cap must be at least 1 active story, got {self.max_active_stories}"
            )
        return self
