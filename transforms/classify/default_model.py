"""The recipes of the models shipped in the package (pure, Beam-free).

Two built-in models, selected with ``builtin:<name>`` (model.BUILTIN_MODELS):

- ``iptc-wikinews`` (the default): 11 IPTC Media Topics top-level labels,
  trained on ``shared/data/wikinews_topics.jsonl`` (opening sentences of
  Wikinews articles in 16 languages; CC BY 2.5, credit "Wikinews
  contributors"), so it may be used commercially with that attribution.
- ``ag-news-en``: the former default, four labels, English only, trained on
  the AG News sample in ``shared/data/ag_news_train.jsonl``. AG News is
  provided for research and non-commercial use only; the model inherits that.

``scripts/train_default_model.py`` rebuilds each shipped file from its recipe
byte for byte; the held-out figures in benchmarks/README.md come from the same
recipes trained on 80% of the data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
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
from newsbeam.transforms.classify.wikinews import (
    PreparedData,
    WikinewsItem,
    cell_weights,
    prepare,
    read_wikinews,
)

AG_NEWS_TO_IPTC = {
    "World": "politics",
    "Sports": "sport",
    "Business": "economy, business and finance",
    "Sci/Tech": "science and technology",
}
SEED = 8
HOLDOUT_FRACTION = 0.2
# The recipe of builtin:ag-news-en, and what `newsbeam train-classifier` uses.
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
AG_NEWS_LICENCE = (
    "Trained on AG News (research and non-commercial use only); the model inherits that condition."
)

# -- the default model: Wikinews, 11 IPTC topics -------------------------------

WIKINEWS_LICENCE = (
    "Trained on Wikinews text (CC BY 2.5): free to use, also commercially; "
    'credit "Wikinews contributors".'
)
# Imbalance (English is mostly politics, Catalan mostly sport): every item
# trains, weighted so that a (language, label) cell counts as if it held at
# most WIKINEWS_CELL_CAP items, and each label's total is moved halfway (in
# log terms) towards the mean (wikinews.cell_weights). Measured against
# dropping items above a hard cap of 300 per cell (the previous recipe), same
# split: held-out accuracy 0.754 -> 0.784, macro-F1 0.673 -> 0.711, AG News
# check 0.700 -> 0.721 (benchmarks/README.md, ablation).
WIKINEWS_CELL_CAP = 300
WIKINEWS_LABEL_BALANCE = 0.5
WIKINEWS_TRAINING_CONFIG = dataclasses.replace(
    DEFAULT_TRAINING_CONFIG,
    # Names as written (the capitalised-words group) gave no measurable gain
    # on this data (benchmarks/README.md, ablation), so they cost nothing here.
    features=dataclasses.replace(DEFAULT_TRAINING_CONFIG.features, capitalised_weight=0.0),
    # Two calibration folds instead of five and a looser solver tolerance
    # (same held-out accuracy, measured): the rebuild, which the CI check
    # runs, takes ~70 s of CPU on all 57,805 items.
    calibration_folds=2,
    svm_tol=0.1,
    # 60% of the feature columns zeroed by weight: the file stays under 10 MB
    # (half pruned: 10.6 MB now that every item trains) for -0.001 held-out
    # accuracy against half; 2**19 hash columns cost more accuracy for the
    # same size (benchmarks/README.md).
    prune_fraction=0.6,
)
# Languages the model answers for: those with at least 300 items after
# cleaning whose held-out accuracy reached 0.60 (benchmarks/README.md,
# per-language table). Left out: eo (182 items), ko (0.55) and ru (0.57).
# Articles in any other language keep `topics: []` (counted as
# classify.skipped_language.<code>).
WIKINEWS_LANGUAGES = (
    "ar",
    "ca",
    "cs",
    "de",
    "en",
    "es",
    "fa",
    "fr",
    "ja",
    "pl",
    "pt",
    "sv",
    "tr",
)


def shared_dir(repo_root: Path) -> Path:
    """The project's shared/ folder: $NEWSBEAM_SHARED, else beside the repository."""
    override = os.environ.get("NEWSBEAM_SHARED")
    return Path(override) if override else repo_root.parent / "shared"


def ag_news_path(repo_root: Path) -> Path:
    return shared_dir(repo_root) / "data" / "ag_news_train.jsonl"


def wikinews_path(repo_root: Path) -> Path:
    return shared_dir(repo_root) / "data" / "wikinews_topics.jsonl"


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


def load_wikinews(path: Path) -> PreparedData:
    """The Wikinews items cleaned of markup, fragments and repeats (not capped)."""
    return prepare(read_wikinews(path))


def wikinews_holdout_mask(items: Sequence[WikinewsItem]) -> np.ndarray:
    """The fixed held-out 20%: stratified per (language, label), near-copies on one side."""
    groups = near_duplicate_groups([item.text for item in items])
    strata = [f"{item.lang}/{item.label}" for item in items]
    return stratified_group_holdout(strata, groups, fraction=HOLDOUT_FRACTION, seed=SEED)


def wikinews_training_examples(items: Sequence[WikinewsItem]) -> list[LabelledExample]:
    """The items the recipe trains on (all of them), as examples."""
    return [item.example() for item in items]


def wikinews_training_weights(items: Sequence[WikinewsItem]) -> np.ndarray:
    """The recipe's weight per training item (same order as `wikinews_training_examples`)."""
    return cell_weights(items, WIKINEWS_CELL_CAP, label_balance=WIKINEWS_LABEL_BALANCE)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
