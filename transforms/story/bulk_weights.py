"""TF-IDF vectors of a run of consecutive articles at once (pure: numpy, no Beam).

The story core weighs one article at a time (`StoryIndex._weigh`): its terms go
into the document frequencies, then each term gets tf * smoothed idf, the
vector is sorted heaviest first, capped and L2-normalised. That per-term Python
work is about 40% of the core. The batch driver knows the next articles in
event-time order, so it weighs a run of them with a few array operations and
the core only checks that each article took the path the run assumed: its
terms added to the frequencies, or not (a replay; a duplicate taking its
representative's story). An article that takes the other path ends the run
there (`WeighedRun.commit` up to it) and is assigned the ordinary way.

The vectors are equal to `_weigh`'s float for float and in the same order
(tests/test_story_bulk_weights.py): the same IEEE operations on the same
values, logarithms from `math.log` (a table of log(1 + n)), stable sorts, and
each norm summed in Python in the same order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsbeam.transforms.story.clusterer import DocumentFrequencies, SparseVector
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.kernels import PythonKernels


@dataclass
class WeighedRun:
    """The vectors of a run and what committing its document frequencies needs."""

    vectors: list[SparseVector]
    _terms: list[str]  # the run's distinct terms, by first occurrence
    _before: np.ndarray  # their document frequencies before the run
    _term_of: np.ndarray  # per occurrence (articles in order, terms in order): its term
    _article_of: np.ndarray  # per occurrence: its article's position in the run
    _adds: np.ndarray  # per article: whether its terms were counted

    def commit(self, frequencies: DocumentFrequencies, articles: int) -> None:
        """Adds the first `articles` articles of the run (those assumed to add their
        terms) to `frequencies`, as `DocumentFrequencies.add` one by one would."""
        if articles <= 0:
            return
        counted = self._adds[self._article_of] & (self._article_of < articles)
        added = np.bincount(self._term_of[counted], minlength=len(self._terms))
        changed = np.flatnonzero(added)
        terms = list(map(self._terms.__getitem__, changed.tolist()))
        totals = (self._before[changed] + added[changed]).tolist()
        frequencies.counts.update(zip(terms, totals, strict=True))
        frequencies.documents += int(np.count_nonzero(self._adds[:articles]))


class RunWeigher:
    """Weighs runs of articles; keeps a table of log(1 + n) between runs."""

    def __init__(self, config: StoryConfig) -> None:
        self._cap = config.max_article_terms
        self._logs = np.zeros(0)

    def _log_table(self, largest: int) -> np.ndarray:
        """math.log(1 + n) for n = 0..largest at least (exactly math.log's values)."""
        have = len(self._logs)
        if largest >= have:
            size = max(largest + 1, 2 * have, 1024)
            more = np.fromiter(map(math.log, range(have + 1, size + 1)), float, size - have)
            self._logs = np.concatenate([self._logs, more])
        return self._logs

    def weigh(
        self,
        frequencies: DocumentFrequencies,
        names: Sequence[list[str]],
        weights: np.ndarray,
        adds: Sequence[bool],
    ) -> WeighedRun | None:
        """The vectors of articles with these terms (`names`, one list per article)
        and term weights (`weights`, all articles' concatenated), each article's
        terms counted in the frequencies first when its `adds` is true, without
        changing `frequencies` (`WeighedRun.commit` does). None when the run could
        reach the vocabulary's bound (a prune inside it): weigh those one by one."""
        lengths = np.fromiter(map(len, names), np.intp, len(names))
        flat = list(itertools.chain.from_iterable(names))
        # Each occurrence's term as a number, in order of first occurrence.
        numbers: dict[str, int] = {}
        term_of = np.fromiter(
            map(numbers.setdefault, flat, map(len, itertools.repeat(numbers))), np.intp, len(flat)
        )
        terms = list(numbers)
        counts = frequencies.counts
        before = np.fromiter(map(counts.get, terms, itertools.repeat(0)), np.int64, len(terms))
        if len(counts) + int(np.count_nonzero(before == 0)) > frequencies.max_vocabulary:
            return None
        adding = np.asarray(adds, dtype=bool)
        article_of = np.repeat(np.arange(len(names)), lengths)
        counted = adding[article_of].astype(np.int64)
        # Each occurrence's document frequency once its article is counted: its
        # term's count before the run plus the counted occurrences up to it.
        by_term = np.argsort(term_of, kind="stable")
        grouped = term_of[by_term]
        running = np.cumsum(counted[by_term])
        starts = np.flatnonzero(np.r_[len(flat) > 0, grouped[1:] != grouped[:-1]])
        ahead = running[starts] - counted[by_term][starts]
        occurrence_counts = np.empty(len(flat), np.int64)
        occurrence_counts[by_term] = running - np.repeat(ahead, np.diff(np.r_[starts, len(flat)]))
        occurrence_counts += before[term_of]
        documents = frequencies.documents + np.cumsum(adding)
        largest = int(documents[-1]) if len(documents) else 0
        logs = self._log_table(largest)
        # tf * (log(1 + N) + 1 - log(1 + df)), as _weigh computes it.
        base = logs[documents] + 1.0
        weighed = weights * (base[article_of] - logs[occurrence_counts])
        vectors = self._vectors(flat, weighed, lengths)
        return WeighedRun(vectors, terms, before, term_of, article_of, adding)

    def _vectors(
        self, flat: list[str], weighed: np.ndarray, lengths: np.ndarray
    ) -> list[SparseVector]:
        cap = self._cap
        bounds = np.r_[0, np.cumsum(lengths)].tolist()
        # Heaviest first within each article, ties in the article's order (the stable
        # sort of sorted(..., reverse=True)); capped.
        order = np.concatenate(
            [
                np.argsort(-weighed[start:end], kind="stable")[:cap] + start
                for start, end in itertools.pairwise(bounds)
            ]
            or [np.zeros(0, np.intp)]
        )
        kept = np.minimum(lengths, cap)
        names = list(map(flat.__getitem__, order.tolist()))
        values = weighed[order].tolist()
        vectors: list[SparseVector] = []
        start = 0
        for size in kept.tolist():
            end = start + size
            vectors.append(PythonKernels.unit_vector(names[start:end], values[start:end]))
            start = end
        return vectors
