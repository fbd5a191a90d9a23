"""Training a `TopicModel` from labelled JSONL (pure, Beam-free).

The scorer is a linear SVM (scikit-learn's LinearSVC, one-vs-rest) blended
with complement naive Bayes when every example has exactly one label; both
are linear in the same features, so the blend is stored as one weight matrix.
Scores are calibrated into probabilities on out-of-fold predictions:
a softmax temperature for single-label data, one Platt sigmoid per label for
multi-label data. Why these: see the feature search in benchmarks/README.md.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, sparse

from newsbeam.transforms.classify.features import FeatureConfig, hashed_features
from newsbeam.transforms.classify.model import TopicModel

log = logging.getLogger(__name__)

_FEATURE_CHUNK = 1024


class TrainingDataError(ValueError):
    """Labelled data that cannot train or evaluate a model (message says where)."""


@dataclass(frozen=True, slots=True)
class LabelledExample:
    text: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class TrainingConfig:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    svm_c: float = 0.3
    nb_alpha: float = 0.03
    # Weight of the naive Bayes scores against the SVM's (single-label only).
    nb_weight: float = 1.0
    calibration_folds: int = 5
    seed: int = 0
    # liblinear's stopping tolerance. 1e-4 is scikit-learn's default; on the
    # Wikinews data 0.1 gives the same held-out accuracy in a third of the time.
    svm_tol: float = 1e-4
    # Share of the feature columns (by their largest absolute weight) whose
    # weights are set to zero: a smaller model file at almost no accuracy
    # cost (the Wikinews model: half of them, 15 -> 8 MB, -0.002 held out).
    prune_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.svm_c <= 0 or self.nb_alpha <= 0 or self.nb_weight < 0:
            raise ValueError("svm_c and nb_alpha must be > 0, nb_weight >= 0")
        if not 0.0 <= self.prune_fraction < 1.0:
            raise ValueError("prune_fraction must be in [0, 1)")
        if self.svm_tol <= 0:
            raise ValueError("svm_tol must be > 0")
        if self.calibration_folds < 2:
            raise ValueError("calibration_folds must be >= 2")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading labelled data ---------------------------------------------------


def read_labelled_jsonl(path: str | Path) -> list[LabelledExample]:
    """Examples from JSONL: ``text`` (optional ``title``) and ``label`` or ``labels``.

    Raises `TrainingDataError` naming the file and line of the first problem.
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise TrainingDataError(f"{path}: no such file") from None
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read: {exc}") from None
    examples: list[LabelledExample] = []
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                examples.append(_parse_line(line, f"{path}:{number}"))
        except UnicodeDecodeError as exc:
            raise TrainingDataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if not examples:
        raise TrainingDataError(f"{path}: no labelled examples (the file is empty)")
    return examples


def _parse_line(line: str, where: str) -> LabelledExample:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TrainingDataError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise TrainingDataError(f"{where}: expected a JSON object")
    text = obj.get("text")
    if not isinstance(text, str):
        raise TrainingDataError(f"{where}: missing 'text' (a string)")
    title = obj.get("title")
    if isinstance(title, str) and title.strip():
        text = f"{title}\n{text}"  # same shape as the pipeline's title + text
    if not text.strip():
        raise TrainingDataError(f"{where}: 'text' is empty")
    if "labels" in obj:
        raw = obj["labels"]
        if not isinstance(raw, list) or not raw:
            raise TrainingDataError(f"{where}: 'labels' must be a non-empty list of strings")
    elif "label" in obj:
        raw = [obj["label"]]
    else:
        raise TrainingDataError(f"{where}: missing 'label' or 'labels'")
    if not all(isinstance(label, str) and label.strip() for label in raw):
        raise TrainingDataError(f"{where}: every label must be a non-empty string")
    labels = tuple(dict.fromkeys(label.strip() for label in raw))
    return LabelledExample(text=text, labels=labels)


def check_trainable(examples: Sequence[LabelledExample]) -> None:
    """Raise `TrainingDataError` unless the examples can train a model."""
    if not examples:
        raise TrainingDataError("no labelled examples")
    counts = Counter(label for example in examples for label in example.labels)
    if len(counts) < 2:
        only = next(iter(counts))
        raise TrainingDataError(
            f"only one label ({only!r}) in the training data: a classifier needs two or more"
        )
    everywhere = sorted(label for label, n in counts.items() if n == len(examples))
    if everywhere:
        raise TrainingDataError(
            f"label(s) {everywhere} are on every example: nothing to tell them apart from"
        )
    if min(counts.values()) < 2:
        rare = sorted(label for label, n in counts.items() if n < 2)
        raise TrainingDataError(f"label(s) {rare} have a single example; need at least 2 each")


# -- training ----------------------------------------------------------------


def featurize(
    texts: Sequence[str], features: FeatureConfig, idf: np.ndarray | None = None
) -> sparse.csr_matrix:
    chunks = [
        hashed_features(texts[i : i + _FEATURE_CHUNK], features, idf)
        for i in range(0, len(texts), _FEATURE_CHUNK)
    ]
    return sparse.vstack(chunks, format="csr") if chunks else hashed_features([], features)


def inverse_document_frequency(matrix: sparse.csr_matrix) -> np.ndarray:
    """Smoothed idf, ln((1 + n) / (1 + df)) + 1, as in scikit-learn's TfidfTransformer."""
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    n = matrix.shape[0]
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def train_topic_model(
    examples: Sequence[LabelledExample],
    config: TrainingConfig | None = None,
    *,
    provenance: dict[str, Any] | None = None,
    languages: Sequence[str] | None = None,
    sample_weights: Sequence[float] | np.ndarray | None = None,
) -> TopicModel:
    """Fit, calibrate and return a model; deterministic for a given config.seed.

    ``languages``: the languages the model is meant for, recorded in the file
    (the classify stage then leaves other languages unlabelled by default).
    ``sample_weights``: one weight > 0 per example (None: all 1), used by the
    SVM and the naive Bayes counts: how the default model evens out languages
    and labels without dropping items. The calibration is fitted unweighted:
    it sets how confident scores are on data as it comes (weighted, the
    default model's held-out expected calibration error was 0.053, unweighted
    0.032).
    """
    config = config or TrainingConfig()
    check_trainable(examples)
    weights_in = _checked_weights(sample_weights, len(examples))
    labels = tuple(sorted({label for example in examples for label in example.labels}))
    index = {label: i for i, label in enumerate(labels)}
    targets = np.zeros((len(examples), len(labels)), dtype=bool)
    for row, example in enumerate(examples):
        targets[row, [index[label] for label in example.labels]] = True
    multi_label = bool((targets.sum(axis=1) > 1).any())
    texts = [example.text for example in examples]

    features = config.features
    idf = None
    if features.use_idf:
        idf = inverse_document_frequency(featurize(texts, features))
    matrix = featurize(texts, features, idf)
    log.info(
        "training on %d examples, %d labels (%s), %d features",
        len(examples),
        len(labels),
        "multi-label" if multi_label else "single-label",
        features.n_features,
    )

    weights, bias = _fit_linear(matrix, targets, multi_label, config, weights_in)
    out_of_fold = _out_of_fold_scores(matrix, targets, multi_label, config, weights_in)
    if multi_label:
        output, calibration = "sigmoid", _platt(out_of_fold, targets)
    else:
        output = "softmax"
        calibration = {"temperature": _temperature(out_of_fold, targets.argmax(axis=1))}
    label_counts = targets.sum(axis=0)
    training = {
        "examples": len(examples),
        **({"weighted": True} if weights_in is not None else {}),
        "label_counts": {label: int(n) for label, n in zip(labels, label_counts, strict=True)},
        "config": config.to_dict(),
        **(provenance or {}),
    }
    return TopicModel(
        labels=labels,
        features=features,
        weights=weights,
        bias=bias,
        idf=idf,
        output=output,
        calibration=calibration,
        training=training,
        languages=tuple(languages) if languages is not None else None,
    )


def _checked_weights(weights: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    array = np.asarray(weights, dtype=np.float64)
    if array.shape != (n,):
        raise TrainingDataError(f"need one sample weight per example ({n}), got {array.shape}")
    if not np.all(np.isfinite(array)) or not np.all(array > 0):
        raise TrainingDataError("sample weights must be finite and > 0")
    return array


def _fit_linear(
    matrix: sparse.csr_matrix,
    targets: np.ndarray,
    multi_label: bool,
    config: TrainingConfig,
    sample_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (n_features x n_labels) and bias of the blended linear scorer."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    n_features, n_labels = matrix.shape[1], targets.shape[1]
    weights = np.zeros((n_features, n_labels), dtype=np.float64)
    bias = np.zeros(n_labels, dtype=np.float64)
    with warnings.catch_warnings():
        # liblinear may stop at max_iter on near-separable text; the result is
        # still a good separator and the held-out figures are what we judge by.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in range(n_labels):
            svm = LinearSVC(
                C=config.svm_c, tol=config.svm_tol, max_iter=5000, random_state=config.seed
            )
            svm.fit(matrix, targets[:, k], sample_weight=sample_weights)
            weights[:, k] = svm.coef_[0]
            bias[k] = svm.intercept_[0]
    # One common scale for the SVM scores so the blend weight means the same
    # on any data set.
    svm_spread = float(np.std(np.asarray(matrix @ weights) + bias)) or 1.0
    weights /= svm_spread
    bias /= svm_spread
    if not multi_label and config.nb_weight > 0:
        nb = ComplementNB(alpha=config.nb_alpha).fit(
            matrix, targets.argmax(axis=1), sample_weight=sample_weights
        )
        nb_weights = nb.feature_log_prob_.T.copy()
        # Only the differences between labels matter; columns never seen in
        # training carry no evidence, so they get none.
        nb_weights -= nb_weights.mean(axis=1, keepdims=True)
        seen = np.bincount(matrix.indices, minlength=n_features) > 0
        nb_weights[~seen] = 0.0
        nb_spread = float(np.std(np.asarray(matrix @ nb_weights))) or 1.0
        weights += config.nb_weight * nb_weights / nb_spread
    if config.prune_fraction:
        # Pruned inside the fit, so the calibration sees the pruned scorer.
        largest = np.abs(weights).max(axis=1)
        used = largest > 0
        if used.any():
            weights[largest < np.quantile(largest[used], config.prune_fraction)] = 0.0
    return weights.astype(np.float32), bias.astype(np.float32)


def _folds(targets: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold number per row, stratified by each row's first label."""
    rng = np.random.default_rng(seed)
    first = targets.argmax(axis=1)
    fold = np.zeros(len(targets), dtype=np.int64)
    for label in np.unique(first):
        rows = np.flatnonzero(first == label)
        fold[rows[rng.permutation(len(rows))]] = np.arange(len(rows)) % n_folds
    return fold


def _out_of_fold_scores(
    matrix: sparse.csr_matrix,
    targets: np.ndarray,
    multi_label: bool,
    config: TrainingConfig,
    sample_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Scores of every row by a model that did not see it (idf aside)."""
    n_folds = min(config.calibration_folds, int(targets.sum(axis=0).min()))
    n_folds = max(n_folds, 2)
    fold = _folds(targets, n_folds, config.seed)
    scores = np.zeros(targets.shape, dtype=np.float64)
    for f in range(n_folds):
        held = fold == f
        fit_targets = targets[~held]
        if not held.any() or (fit_targets.sum(axis=0) == 0).any() or fit_targets.all(axis=0).any():
            # Too little data to hold this fold out for every label: score it
            # in-sample rather than fail (tiny data sets only).
            fit_rows = np.ones(len(targets), dtype=bool)
        else:
            fit_rows = ~held
        fit_weights = sample_weights[fit_rows] if sample_weights is not None else None
        weights, bias = _fit_linear(
            matrix[fit_rows], targets[fit_rows], multi_label, config, fit_weights
        )
        scores[held] = np.asarray(matrix[held] @ weights) + bias
    return scores


def _temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """Softmax temperature minimising the log loss of the out-of-fold scores."""

    def log_loss(log_t: float) -> float:
        scaled = scores / np.exp(log_t)
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_norm - scaled[np.arange(len(truth)), truth]))

    result = optimize.minimize_scalar(log_loss, bounds=(-5.0, 5.0), method="bounded")
    return round(float(np.exp(result.x)), 6)


def _platt(scores: np.ndarray, targets: np.ndarray) -> dict[str, list[float]]:
    """One sigmoid per label, p = 1 / (1 + exp(-(a * score + b))), by log loss."""
    scale, offset = [], []
    for k in range(targets.shape[1]):
        s, y = scores[:, k], targets[:, k].astype(np.float64)

        def loss(params: np.ndarray, s: np.ndarray = s, y: np.ndarray = y) -> float:
            z = params[0] * s + params[1]
            return float(np.mean(np.logaddexp(0.0, z) - y * z))

        result = optimize.minimize(loss, x0=np.array([1.0, 0.0]), method="L-BFGS-B")
        scale.append(round(float(result.x[0]), 6))
        offset.append(round(float(result.x[1]), 6))
    return {"scale": scale, "offset": offset}
