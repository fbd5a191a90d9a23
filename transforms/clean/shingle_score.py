"""Word-shingle precision/recall/F1 of an extracted body against a gold body.

The measure article-extraction benchmarks use: both texts become sets of
4-word shingles (lower-cased word tokens, punctuation ignored) and precision
and recall are computed per document. Used by the tests and benchmarks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
SHINGLE_SIZE = 4


@dataclass(frozen=True, slots=True)
class ShingleScore:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def score(extracted: str, gold: str, size: int = SHINGLE_SIZE) -> ShingleScore:
    got, want = shingles(extracted, size), shingles(gold, size)
    if not got and not want:
        return ShingleScore(1.0, 1.0)
    common = len(got & want)
    return ShingleScore(
        precision=common / len(got) if got else 0.0,
        recall=common / len(want) if want else 0.0,
    )


def mean_f1(scores: list[ShingleScore]) -> float:
    return sum(s.f1 for s in scores) / len(scores) if scores else 0.0
