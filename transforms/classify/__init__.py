"""Topic classification: a calibrated linear model over hashed text features.

Pure core (no Beam): `features`, `model` (TopicModel, file format),
`training`, `evaluation`, `topics`, `config`. The Beam stage `ClassifyTopics`
lives in `transform` and is imported lazily from here, so training and
evaluation do not pay for importing Beam.
"""

from __future__ import annotations

from typing import Any

from newsbeam.transforms.classify.config import ClassifyConfig
from newsbeam.transforms.classify.model import ModelFormatError, Topic, TopicModel, load_model

__all__ = [
    "ClassifyConfig",
    "ClassifyTopics",
    "ModelFormatError",
    "Topic",
    "TopicModel",
    "load_model",
]


def __getattr__(name: str) -> Any:
    if name == "ClassifyTopics":
        from newsbeam.transforms.classify.transform import ClassifyTopics

        return ClassifyTopics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
