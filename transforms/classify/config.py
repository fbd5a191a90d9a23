"""Settings of the classify stage (pure, Beam-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# `ClassifyConfig.languages` default: the languages recorded in the model file.
MODEL_LANGUAGES = "model"


@dataclass(frozen=True)
class ClassifyConfig:
    """How `ClassifyTopics` labels articles.

    model_path: a model file written by ``newsbeam train-classifier``, or
        ``builtin:<name>`` for a model shipped in the package; None uses the
        default one, ``builtin:iptc-wikinews`` (11 IPTC topics, 13 languages,
        trained on Wikinews, CC BY 2.5).
    threshold: every label whose calibrated probability reaches it is kept
        (the top label always is), so an article can carry several topics.
    batch_size: articles classified per model call; batches never wait for a
        bundle to end, so streaming latency is unaffected.
    languages: classify only articles whose detected language is one of these
        (None: all; ``"model"``, the default: the languages the model file
        records it was trained for, every language when it records none). On
        a language it was not trained on a bag-of-words model answers with
        confident noise, so those articles keep ``topics: []`` and are
        counted instead.
    """

    model_path: str | None = None
    threshold: float = 0.3
    batch_size: int = 256
    languages: frozenset[str] | None | Literal["model"] = MODEL_LANGUAGES

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if isinstance(self.languages, str) and self.languages != MODEL_LANGUAGES:
            raise ValueError(f"languages must be a set of codes, None or {MODEL_LANGUAGES!r}")

    def languages_for(self, model_languages: tuple[str, ...] | None) -> frozenset[str] | None:
        """The languages to classify with a model that records ``model_languages`` (None: all)."""
        if self.languages == MODEL_LANGUAGES:
            return frozenset(model_languages) if model_languages is not None else None
        return self.languages  # type: ignore[return-value]
