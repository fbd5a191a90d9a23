"""A held-out split that near-copies cannot leak through (pure, Beam-free).

News corpora pooled from several samples hold the same story more than once
(another source's headline, a re-tokenised copy, a shorter description). A
plain random split puts one copy in training and the other in the held-out
part and flatters any model that memorises. Here near-copies are grouped
first (documents sharing at least ``min_shared`` word 6-grams are linked,
groups are the connected components) and whole groups go to one side, drawn
per label so the split stays stratified.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from newsbeam.transforms.classify.features import normalize_text

SHINGLE_WORDS = 6
# A shingle held by more documents than this is boilerplate ("reuters - ..."),
# not evidence that two documents are copies.
_MAX_SHINGLE_DOCS = 5


def near_duplicate_groups(texts: Sequence[str], *, min_shared: int = 5) -> np.ndarray:
    """Group id per text; texts that are near-copies of each other share one."""
    holders: dict[str, list[int]] = defaultdict(list)
    for doc, text in enumerate(texts):
        words = normalize_text(text, fold_digits=False, max_words=0).split()
        shingles = {
            " ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
        }
        for shingle in shingles:
            holders[shingle].append(doc)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for docs in holders.values():
        if 1 < len(docs) <= _MAX_SHINGLE_DOCS:
            for i, a in enumerate(docs):
                for b in docs[i + 1 :]:
                    shared[(a, b)] += 1

    parent = list(range(len(texts)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (a, b), count in sorted(shared.items()):
        if count >= min_shared:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(len(texts))], dtype=np.int64)


def stratified_group_holdout(
    labels: Sequence[str], groups: np.ndarray, *, fraction: float, seed: int
) -> np.ndarray:
    """Boolean mask of held-out rows: about ``fraction`` of each label, whole groups only.

    A group is filed under the label of its first row; groups are shuffled with
    a fixed-seed generator and taken until the label's quota is met.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    labels_arr = np.asarray(labels)
    members: dict[int, list[int]] = defaultdict(list)
    for row, group in enumerate(groups.tolist()):
        members[group].append(row)
    by_label: dict[str, list[int]] = defaultdict(list)
    for group, rows in members.items():
        by_label[str(labels_arr[rows[0]])].append(group)
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(labels_arr), dtype=bool)
    for label in sorted(by_label):
        label_groups = sorted(by_label[label])
        quota = round(fraction * int(np.sum(labels_arr == label)))
        taken = 0
        for index in rng.permutation(len(label_groups)):
            if taken >= quota:
                break
            rows = members[label_groups[index]]
            held_out[rows] = True
            taken += len(rows)
    return held_out
