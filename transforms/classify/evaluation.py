"""Scoring a `TopicModel` on labelled examples (pure, Beam-free).

The model's top label is compared with each example's gold labels. An example
is correct when its top label is one of its gold labels, so for single-label
data every figure is the ordinary multi-class one (accuracy, per-label
precision/recall/F1, macro-F1 over the labels seen in gold or predictions,
confusion matrix with gold rows and predicted columns). For a multi-label
example the confusion row is the matched gold label, else its first one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from newsbeam.transforms.classify.model import TopicModel
from newsbeam.transforms.classify.training import LabelledExample

_BATCH = 1024


@dataclass(frozen=True, slots=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    labels: tuple[str, ...]  # confusion order: the model's labels, then unknown gold labels
    examples: int
    accuracy: float
    macro_f1: float
    per_label: dict[str, LabelScores]
    confusion: tuple[tuple[int, ...], ...]  # [gold][predicted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_label": {
                label: {
                    "precision": s.precision,
                    "recall": s.recall,
                    "f1": s.f1,
                    "support": s.support,
                }
                for label, s in self.per_label.items()
            },
            "labels": list(self.labels),
            "confusion": [list(row) for row in self.confusion],
        }

    def format_text(self) -> str:
        """A plain-text report for the terminal."""
        width = max(len(label) for label in self.labels)
        lines = [
            f"examples  {self.examples}",
            f"accuracy  {self.accuracy:.4f}",
            f"macro-F1  {self.macro_f1:.4f}",
            "",
            f"{'label':<{width}}  precision  recall     f1  support",
        ]
        for label, s in self.per_label.items():
            lines.append(
                f"{label:<{width}}  {s.precision:9.4f}  {s.recall:6.4f}  {s.f1:.4f}  {s.support:7d}"
            )
        lines += ["", "confusion matrix (rows: gold, columns: predicted)"]
        keys = [f"[{i}]" for i in range(len(self.labels))]
        cell = max(max(len(k) for k in keys), *(len(str(n)) for r in self.confusion for n in r))
        lines.append(" " * (width + 6) + " ".join(f"{k:>{cell}}" for k in keys))
        for i, (label, row) in enumerate(zip(self.labels, self.confusion, strict=True)):
            counts = " ".join(f"{n:>{cell}}" for n in row)
            lines.append(f"{label:<{width}} {keys[i]:>4} {counts}")
        return "\n".join(lines)


def evaluate_model(
    model: TopicModel,
    examples: Sequence[LabelledExample],
    *,
    label_map: Mapping[str, str] | None = None,
) -> EvaluationReport:
    """Score the model's top label; ``label_map`` renames predicted labels first.

    A map scores a model on a coarser label set, e.g. 11 IPTC topics on AG
    News's four classes (every topic other than sport, business and science
    counts as "politics", AG's World).
    """
    if not examples:
        raise ValueError("no examples to evaluate on")
    label_map = label_map or {}
    predicted_labels = tuple(dict.fromkeys(label_map.get(lab, lab) for lab in model.labels))
    unknown = sorted(
        {label for e in examples for label in e.labels if label not in predicted_labels}
    )
    labels = predicted_labels + tuple(unknown)
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for start in range(0, len(examples), _BATCH):
        chunk = examples[start : start + _BATCH]
        top = model.predict_proba([e.text for e in chunk]).argmax(axis=1)
        for example, predicted_index in zip(chunk, top, strict=True):
            predicted = model.labels[int(predicted_index)]
            predicted = label_map.get(predicted, predicted)
            gold = predicted if predicted in example.labels else example.labels[0]
            confusion[index[gold], index[predicted]] += 1
    correct = np.diag(confusion)
    gold_totals = confusion.sum(axis=1)
    predicted_totals = confusion.sum(axis=0)
    per_label: dict[str, LabelScores] = {}
    f1s = []
    for i, label in enumerate(labels):
        precision = correct[i] / predicted_totals[i] if predicted_totals[i] else 0.0
        recall = correct[i] / gold_totals[i] if gold_totals[i] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if gold_totals[i] or predicted_totals[i]:
            per_label[label] = LabelScores(
                round(float(precision), 4),
                round(float(recall), 4),
                round(float(f1), 4),
                int(gold_totals[i]),
            )
            f1s.append(f1)
    return EvaluationReport(
        labels=labels,
        examples=len(examples),
        accuracy=round(float(correct.sum() / len(examples)), 4),
        macro_f1=round(float(np.mean(f1s)), 4),
        per_label=per_label,
        confusion=tuple(tuple(int(n) for n in row) for row in confusion),
    )
