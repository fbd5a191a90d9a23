"""Settings of the classify stage (pure, Beam-free)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClassifyConfig:
    """How `ClassifyTopics` labels articles.

    model_path: a model file written by ``newsbeam train-classifier``; None
        uses the default model shipped in the package (IPTC labels politics,
        sport, economy/business/finance, science and technology).
    threshold: every label whose calibrated probability reaches it is kept
        (the top label always is), so an article can carry several topics.
    batch_size: articles classified per model call; batches never wait for a
        bundle to end, so streaming latency is unaffected.
    languages: classify only articles whose detected language is one of these
        (None: all). The default model was trained on English news; on other
        languages a bag-of-words model answers with confident noise, so those
        articles keep ``topics: []`` and are counted instead.
    """

    model_path: str | None = None
    threshold: float = 0.3
    batch_size: int = 256
    languages: frozenset[str] | None = frozenset({"en"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
