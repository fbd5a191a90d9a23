"""The recipe of the model shipped in the package (pure, Beam-free).

Trained on the AG News sample in ``shared/data/ag_news_train.jsonl`` with its
four classes renamed to IPTC Media Topics. ``scripts/train_default_model.py``
rebuilds the shipped file from this recipe byte for byte; the held-out figures
in benchmarks/README.md come from the same recipe trained on 80% of the data.

The AG News corpus is provided for research and non-commercial use only; the
default model, trained on it, inherits that condition.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from newsbeam.transforms.classify.features import FeatureConfig
from newsbeam.transforms.classify.holdout import near_duplicate_groups, stratified_group_holdout
from newsbeam.transforms.classify.training import (
    LabelledExample,
    TrainingConfig,
    TrainingDataError,
    read_labelled_jsonl,
)

AG_NEWS_TO_IPTC = {
    "World": "politics",
    "Sports": "sport",
    "Business": "economy, business and finance",
    "Sci/Tech": "science and technology",
}
SEED = 8
HOLDOUT_FRACTION = 0.2
# Chosen on the held-out split; the options tried are in benchmarks/README.md.
DEFAULT_TRAINING_CONFIG = TrainingConfig(
    features=FeatureConfig(
        hash_bits=20,
        word_weight=1.0,
        bigram_weight=1.0,
        char_weight=0.5,
        char_min=2,
        char_max=5,
        char_within_words=True,
        sublinear_tf=True,
        use_idf=True,
        fold_digits=True,
        capitalised_weight=0.5,
        # 60 words: the headline and lead. Same held-out accuracy as 150 (AG
        # News items are ~36 words) at a third of the cost on long articles,
        # which keeps the stage within 10% of the full pipeline's time.
        max_words=60,
    ),
    svm_c=0.3,
    nb_alpha=0.03,
    nb_weight=1.0,
    calibration_folds=5,
    seed=SEED,
)
LICENCE_NOTE = (
    "Trained on AG News (research and non-commercial use only); the model inherits that condition."
)


def shared_dir(repo_root: Path) -> Path:
    """The project's shared/ folder: $NEWSBEAM_SHARED, else beside the repository."""
    override = os.environ.get("NEWSBEAM_SHARED")
    return Path(override) if override else repo_root.parent / "shared"


def ag_news_path(repo_root: Path) -> Path:
    return shared_dir(repo_root) / "data" / "ag_news_train.jsonl"


def load_ag_news(path: Path) -> list[LabelledExample]:
    """AG News examples with IPTC labels; unknown AG labels are an error."""
    examples = []
    for example in read_labelled_jsonl(path):
        try:
            labels = tuple(AG_NEWS_TO_IPTC[label] for label in example.labels)
        except KeyError as exc:
            raise TrainingDataError(f"{path}: unexpected AG News label {exc.args[0]!r}") from None
        examples.append(LabelledExample(example.text, labels))
    return examples


def holdout_mask(examples: list[LabelledExample]) -> np.ndarray:
    """The fixed held-out 20%: stratified, near-copies kept on one side."""
    groups = near_duplicate_groups([e.text for e in examples])
    return stratified_group_holdout(
        [e.labels[0] for e in examples], groups, fraction=HOLDOUT_FRACTION, seed=SEED
    )


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
