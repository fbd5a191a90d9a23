"""The topic model: a calibrated linear model over hashed text features.

Pure and Beam-free. A `TopicModel` is a weight matrix (one column per label)
over the hashed features of `features.py`, a bias per label, the inverse
document frequencies learned at training time and a calibration that turns
scores into probabilities:

- ``softmax`` (every training example had one label): p = softmax(score / T);
- ``sigmoid`` (multi-label training data): p_k = 1 / (1 + exp(-(a_k * score_k + b_k))).

File format (``format_version`` 3; versions 1 and 2 are still read: version
2 is version 3 without ``languages``, version 1 is version 2 without the
capitalised-words feature group): a zip archive, readable with ``numpy.load``,
holding

- ``meta.json``: format name and version, labels, the languages the model was
  trained for (``null``: not recorded), feature settings, output kind,
  calibration, training provenance and the SHA-256 of every array;
- ``columns.npy`` (int32, sorted): the feature columns that carry a weight;
- ``weights.npy`` (float16, len(columns) x labels): their weights;
- ``bias.npy`` (float32, labels);
- ``idf.npy`` (float16, len(columns)): their inverse document frequency
  (every other column gets ``meta["idf_unseen"]``).

No pickle anywhere, so a file means the same under any numpy or
scikit-learn release, and it is written byte-for-byte reproducibly (fixed zip
timestamps, sorted JSON) so a retrained model can be compared with ``cmp``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from newsbeam.transforms.classify.features import FeatureConfig, hashed_features

log = logging.getLogger(__name__)

FORMAT_NAME = "newsbeam-topic-model"
FORMAT_VERSION = 3
# Versions this code reads: 2 added the ``capitalised_weight`` feature
# setting, whose absence (version 1) means the group is off; 3 added
# ``languages``, whose absence means "not recorded".
READABLE_FORMAT_VERSIONS = (1, 2, 3)
# The models shipped in the package, selected as ``builtin:<name>``.
BUILTIN_PREFIX = "builtin:"
BUILTIN_MODELS = {
    "iptc-wikinews": "default_topic_model.npz",
    "ag-news-en": "ag_news_en_topic_model.npz",
}
DEFAULT_MODEL = "iptc-wikinews"
DEFAULT_MODEL_RESOURCE = BUILTIN_MODELS[DEFAULT_MODEL]
OUTPUTS = ("softmax", "sigmoid")
_ARRAYS = ("columns", "weights", "bias", "idf")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# A model file is a few MB; refuse to inflate anything absurd from a bad file.
_MAX_MEMBER_BYTES = 512 * 1024 * 1024


class ModelFormatError(ValueError):
    """The file is not a topic model this version of newsbeam can read."""


@dataclass(frozen=True, slots=True)
class Topic:
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score}


@dataclass
class TopicModel:
    labels: tuple[str, ...]
    features: FeatureConfig
    weights: np.ndarray  # (n_features, n_labels) float32
    bias: np.ndarray  # (n_labels,) float32
    idf: np.ndarray | None  # (n_features,) float32, None when features.use_idf is off
    output: str = "softmax"
    # softmax: {"temperature": T}; sigmoid: {"scale": [..], "offset": [..]}
    calibration: dict[str, Any] = field(default_factory=lambda: {"temperature": 1.0})
    training: dict[str, Any] = field(default_factory=dict)
    # Languages (langdetect codes) the model was trained for; None: not recorded.
    languages: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.languages is not None:
            if not all(isinstance(code, str) and code for code in self.languages):
                raise ValueError("languages must be non-empty strings")
            self.languages = tuple(sorted(set(self.languages)))
        n_labels = len(self.labels)
        if n_labels < 2 or len(set(self.labels)) != n_labels:
            raise ValueError("a topic model needs two or more distinct labels")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.weights.shape != (self.features.n_features, n_labels):
            raise ValueError(
                f"weights shape {self.weights.shape} does not match "
                f"{self.features.n_features} features x {n_labels} labels"
            )
        if self.bias.shape != (n_labels,):
            raise ValueError("one bias per label expected")
        if self.features.use_idf != (self.idf is not None):
            raise ValueError("idf must be given exactly when features.use_idf is on")
        if self.output == "softmax":
            temperature = float(self.calibration.get("temperature", 0.0))
            if not np.isfinite(temperature) or temperature <= 0:
                raise ValueError("softmax calibration needs a positive temperature")
        else:
            for key in ("scale", "offset"):
                values = self.calibration.get(key)
                if not isinstance(values, list) or len(values) != n_labels:
                    raise ValueError(f"sigmoid calibration needs one {key} per label")

    # -- inference -----------------------------------------------------------

    def decision_scores(self, texts: Sequence[str | None]) -> np.ndarray:
        """Raw linear scores, shape (len(texts), len(labels))."""
        matrix = hashed_features(texts, self.features, self.idf)
        return np.asarray(matrix @ self.weights) + self.bias

    def predict_proba(self, texts: Sequence[str | None]) -> np.ndarray:
        """Calibrated probabilities, shape (len(texts), len(labels))."""
        return self.probabilities_from_scores(self.decision_scores(texts))

    def probabilities_from_scores(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64)
        if self.output == "softmax":
            scaled = scores / float(self.calibration["temperature"])
            scaled -= scaled.max(axis=1, keepdims=True)
            exp = np.exp(scaled)
            return exp / exp.sum(axis=1, keepdims=True)
        scale = np.asarray(self.calibration["scale"], dtype=np.float64)
        offset = np.asarray(self.calibration["offset"], dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-(scores * scale + offset)))

    def predict(self, texts: Sequence[str | None], *, threshold: float = 0.3) -> list[list[Topic]]:
        """Topics per text: every label with p >= threshold, at least the top one.

        Sorted by score, highest first. A text with no words at all gets no
        topic rather than the label prior.
        """
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        matrix = hashed_features(texts, self.features, self.idf)
        scores = np.asarray(matrix @ self.weights) + self.bias
        proba = self.probabilities_from_scores(scores)
        has_words = np.diff(matrix.indptr) > 0
        orders = np.argsort(-proba, axis=1, kind="stable").tolist()  # one call per batch
        rows = proba.tolist()
        results: list[list[Topic]] = []
        for row, order, words in zip(rows, orders, has_words.tolist(), strict=True):
            if not words:
                results.append([])
                continue
            topics = [Topic(self.labels[order[0]], round(row[order[0]], 4))]
            for index in order[1:]:
                if row[index] < threshold:
                    break
                topics.append(Topic(self.labels[index], round(row[index], 4)))
            results.append(topics)
        return results

    # -- persistence ---------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the model file (deterministic bytes for identical models)."""
        idf_unseen = _idf_unseen(self.idf)
        carries = np.any(self.weights != 0, axis=1)
        if self.idf is not None:
            carries |= self.idf != np.float32(idf_unseen)  # it shapes the row norms
        used = np.flatnonzero(carries).astype(np.int32)
        arrays = {
            "columns": used,
            "weights": self.weights[used].astype(np.float16),
            "bias": self.bias.astype(np.float32),
            "idf": (
                self.idf[used].astype(np.float16)
                if self.idf is not None
                else np.zeros(0, dtype=np.float16)
            ),
        }
        blobs = {name: _npy_bytes(array) for name, array in arrays.items()}
        meta = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "labels": list(self.labels),
            "languages": list(self.languages) if self.languages is not None else None,
            "features": self.features.to_dict(),
            "output": self.output,
            "calibration": self.calibration,
            "idf_unseen": idf_unseen,
            "training": self.training,
            "sha256": {name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()},
        }
        members = {"meta.json": json.dumps(meta, sort_keys=True, indent=1).encode("utf-8")}
        members.update({f"{name}.npy": blob for name, blob in blobs.items()})
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data, compresslevel=9)

    @classmethod
    def load(cls, path: str | Path) -> TopicModel:
        """Read a model file; anything unreadable raises `ModelFormatError`."""
        path = Path(path)
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                if "meta.json" not in names:
                    raise ModelFormatError(f"{path}: not a newsbeam topic model (no meta.json)")
                meta = _read_meta(archive, path)
                blobs = {name: _read_member(archive, f"{name}.npy", path) for name in _ARRAYS}
        except FileNotFoundError:
            raise ModelFormatError(f"{path}: no such model file") from None
        except IsADirectoryError:
            raise ModelFormatError(f"{path}: is a directory, not a model file") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise ModelFormatError(
                f"{path}: not a newsbeam topic model (not a readable model archive: {exc})"
            ) from None
        except OSError as exc:
            raise ModelFormatError(f"{path}: cannot read model file: {exc}") from None
        for name, blob in blobs.items():
            if hashlib.sha256(blob).hexdigest() != meta["sha256"].get(name):
                raise ModelFormatError(f"{path}: {name}.npy is corrupt (checksum mismatch)")
        try:
            arrays = {
                name: np.load(io.BytesIO(blob), allow_pickle=False) for name, blob in blobs.items()
            }
            return cls._from_parts(meta, arrays)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ModelFormatError(f"{path}: inconsistent model file: {exc}") from None

    @classmethod
    def _from_parts(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> TopicModel:
        features = FeatureConfig.from_dict(meta["features"])
        labels = tuple(meta["labels"])
        if not all(isinstance(label, str) and label for label in labels):
            raise ValueError("labels must be non-empty strings")
        columns = arrays["columns"].astype(np.int64)
        if columns.ndim != 1 or (
            len(columns) and (columns.min() < 0 or columns.max() >= features.n_features)
        ):
            raise ValueError("feature columns out of range")
        weights = np.zeros((features.n_features, len(labels)), dtype=np.float32)
        weights[columns] = arrays["weights"].astype(np.float32)
        idf = None
        if features.use_idf:
            idf = np.full(features.n_features, float(meta["idf_unseen"]), dtype=np.float32)
            idf[columns] = arrays["idf"].astype(np.float32)
        return cls(
            labels=labels,
            features=features,
            weights=weights,
            bias=arrays["bias"].astype(np.float32),
            idf=idf,
            output=meta["output"],
            calibration=meta["calibration"],
            training=meta.get("training", {}),
            languages=tuple(meta["languages"]) if meta.get("languages") is not None else None,
        )


def load_model(path: str | Path | None = None) -> TopicModel:
    """The model at ``path``, a shipped one (``builtin:<name>``), or the default (None)."""
    if path is None:
        path = BUILTIN_PREFIX + DEFAULT_MODEL
    if isinstance(path, str) and path.startswith(BUILTIN_PREFIX):
        name = path[len(BUILTIN_PREFIX) :]
        if name not in BUILTIN_MODELS:
            known = ", ".join(BUILTIN_PREFIX + n for n in BUILTIN_MODELS)
            raise ModelFormatError(f"no built-in model {name!r}; the built-in models are {known}")
        resource = resources.files(__package__).joinpath(BUILTIN_MODELS[name])
        with resources.as_file(resource) as builtin_path:
            return TopicModel.load(builtin_path)
    return TopicModel.load(path)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _idf_unseen(idf: np.ndarray | None) -> float:
    """The idf of a column never seen in training (the largest value there is)."""
    if idf is None:
        return 0.0
    return float(idf.max()) if len(idf) else 0.0


def _read_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ModelFormatError(f"{path}: incomplete model file (no {name})") from None
    if info.file_size > _MAX_MEMBER_BYTES:
        raise ModelFormatError(f"{path}: {name} is implausibly large for a model")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFormatError(f"{path}: {name} is corrupt ({exc})") from None
    except Exception as exc:  # zlib.error and friends from a damaged archive
        raise ModelFormatError(f"{path}: {name} is corrupt ({exc})") from None


def _read_meta(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    raw = _read_member(archive, "meta.json", path)
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: meta.json is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFormatError(
            f"{path}: not a newsbeam topic model (format is not {FORMAT_NAME!r})"
        )
    version = meta.get("format_version")
    if version not in READABLE_FORMAT_VERSIONS or isinstance(version, bool):
        readable = ", ".join(str(v) for v in READABLE_FORMAT_VERSIONS)
        raise ModelFormatError(
            f"{path}: model file format version {version!r} is not supported: this newsbeam "
            f"reads versions {readable}; retrain the model with "
            "`newsbeam train-classifier`"
        )
    if not isinstance(meta.get("sha256"), dict):
        raise ModelFormatError(f"{path}: meta.json has no checksums")
    return meta
