"""The story stage's per-article loops (features and core), in C when built, else in
Python (pure, no Beam).

`clusterer.StoryIndex` keeps the state (stories, postings, frequencies) and the
decisions; the loops over an article's terms run here. `PYTHON` is the reference;
`_native.c` does the same operations on the same objects in C, float for float
(tests/test_story_native.py compares them on every call of whole runs), so an
index, its durable state and its labels are the same whichever ran, and a stream
may restart on a machine without the C module.

The C module is built at install time when a C compiler is at hand (setup.py,
`optional=True`: without one the install goes on, and `ACTIVE` is `PYTHON`).
`NEWSBEAM_STORY_KERNELS=python` chooses the Python loops anyway.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import operator
import os
from collections import Counter
from collections.abc import Collection
from types import ModuleType
from typing import Any, Protocol

_LOG = logging.getLogger(__name__)

# An article's terms as `weigh` and `count_and_weigh` take them: a dict {term: tf}, or
# (terms, their tfs as a float64 buffer: a numpy array, an array("d")), as the batch
# driver loads them from a spill file (building the dict cost it more than weighing).
# The terms are distinct either way.
Terms = dict[str, float] | tuple[list[str], Any]
_WEIGHT = operator.itemgetter(1)
_ONE_MORE = (1).__add__


class StoryKernels(Protocol):
    """What both implementations provide (see `PythonKernels` for each one's job)."""

    def weigh(
        self, terms: Terms, counts: dict[str, int], documents: int, cap: int
    ) -> dict[str, float]: ...

    def count_and_weigh(
        self,
        terms: Terms,
        counts: dict[str, int],
        documents: int,
        cap: int,
        max_vocabulary: int,
    ) -> dict[str, float] | None: ...

    def count_terms(self, counts: dict[str, int], terms: Collection[str]) -> None: ...

    def candidates(
        self,
        vector: dict[str, float],
        postings: dict[str, set[str]],
        query_terms: int,
        limit: int,
    ) -> set[str]: ...

    def most_similar(
        self, vector: dict[str, float], story_ids: Collection[str], stories: dict[str, Any]
    ) -> tuple[Any | None, float]: ...

    def merged_centroid(
        self, centroid: dict[str, float], vector: dict[str, float], limit: int
    ) -> dict[str, float]: ...

    def vector_norm(self, vector: dict[str, float]) -> float: ...

    def join_story(
        self, story: Any, vector: dict[str, float], limit: int, postings: dict[str, set[str]]
    ) -> None: ...

    def long_words(self, text: str, shortest: int) -> list[str]: ...

    def scan_part(
        self, text: str, classes: bytes
    ) -> tuple[list[str], list[str], list[str]] | None: ...

    def boosted_counts(
        self,
        parts: list[tuple[list[str], list[str], set[str], float]],
        name_weight: float,
        number_weight: float,
    ) -> dict[str, float]: ...


class PythonKernels:
    """The loops in Python: the reference the C module follows."""

    @staticmethod
    def weigh(terms: Terms, counts: dict[str, int], documents: int, cap: int) -> dict[str, float]:
        """TF-IDF (smoothed idf from `counts` over `documents`), heaviest first (ties
        in the terms' order), capped to `cap`, L2-normalised."""
        terms = _as_dict(terms)
        # tf * idf (DocumentFrequencies.idf inlined) for every term, iterated in C.
        base = math.log(1 + documents) + 1.0
        logs = map(math.log, map(_ONE_MORE, map(counts.get, terms, itertools.repeat(0))))
        weights = map(operator.mul, terms.values(), map(base.__sub__, logs))
        weighted = sorted(zip(terms, weights, strict=True), key=_WEIGHT, reverse=True)
        del weighted[cap:]
        terms_kept = [term for term, _ in weighted]
        return PythonKernels.unit_vector(terms_kept, list(map(_WEIGHT, weighted)))

    @staticmethod
    def count_and_weigh(
        terms: Terms,
        counts: dict[str, int],
        documents: int,
        cap: int,
        max_vocabulary: int,
    ) -> dict[str, float] | None:
        """`count_terms`, then `weigh` (one pass in C); None, the terms counted, when
        the vocabulary grew past `max_vocabulary` (the caller prunes it, then weighs)."""
        terms = _as_dict(terms)
        PythonKernels.count_terms(counts, terms)
        if len(counts) > max_vocabulary:
            return None
        return PythonKernels.weigh(terms, counts, documents, cap)

    @staticmethod
    def unit_vector(terms: list[str], weights: list[float]) -> dict[str, float]:
        """The terms with their weights divided by the weights' L2 norm, summed in order."""
        norm = math.sqrt(sum(map(operator.mul, weights, weights))) or 1.0
        return dict(zip(terms, map(norm.__rtruediv__, weights), strict=True))

    @staticmethod
    def count_terms(counts: dict[str, int], terms: Collection[str]) -> None:
        """counts[term] += 1 for each of the (distinct) terms, iterated in C."""
        counts.update(
            zip(terms, map(_ONE_MORE, map(counts.get, terms, itertools.repeat(0))), strict=True)
        )

    @staticmethod
    def candidates(
        vector: dict[str, float], postings: dict[str, set[str]], query_terms: int, limit: int
    ) -> set[str]:
        """The stories posted under the vector's first `query_terms` terms; when more
        than `limit`, those sharing the most of those terms' weight (ties by id)."""
        found: set[str] = set()
        hits: list[tuple[set[str], float]] = []
        for term, weight in itertools.islice(vector.items(), query_terms):
            posting = postings.get(term)
            if posting:
                found.update(posting)
                hits.append((posting, weight))
        if len(found) <= limit:
            return found
        shared = dict.fromkeys(found, 0.0)
        for posting, weight in hits:  # in the vector's order: the same sums every run
            for story_id in posting:
                shared[story_id] += weight
        if len(shared) > 4 * limit:  # where the cut pays (~20 for 5, timeit)
            # Only stories at or above the limit-th largest sum can be among the first
            # `limit`: sort the floats alone (in C), rank the few left by (sum, id). Short
            # texts find hundreds of stories through common words; ranking them all with
            # a key function was most of the core (benchmarks/README.md, "Undated batches").
            cut = sorted(shared.values(), reverse=True)[limit - 1]
            shared = dict(itertools.compress(shared.items(), map(cut.__le__, shared.values())))
        return set(sorted(shared, key=lambda story_id: (-shared[story_id], story_id))[:limit])

    @staticmethod
    def most_similar(
        vector: dict[str, float], story_ids: Collection[str], stories: dict[str, Any]
    ) -> tuple[Any | None, float]:
        """The story most similar to the vector (cosine), ties to the smaller id
        whatever the set's order; (None, 0.0) when none is above 0."""
        best = None
        best_similarity = 0.0
        for story_id in story_ids:
            story = stories[story_id]
            similarity = cosine(vector, story.centroid, story.norm)
            if similarity > best_similarity or (
                similarity == best_similarity and best is not None and story.id < best.id
            ):
                best, best_similarity = story, similarity
        return best, best_similarity

    @staticmethod
    def merged_centroid(
        centroid: dict[str, float], vector: dict[str, float], limit: int
    ) -> dict[str, float]:
        """The centroid plus the vector term by term (new terms after the old, in the
        vector's order), cut to its `limit` heaviest (ties in that order)."""
        merged = dict(centroid)
        # merged[term] += weight for each of the article's terms, iterated in C.
        merged.update(
            zip(
                vector,
                map(operator.add, map(merged.get, vector, itertools.repeat(0.0)), vector.values()),
                strict=True,
            )
        )
        if len(merged) <= limit:
            return merged
        return dict(sorted(merged.items(), key=_WEIGHT, reverse=True)[:limit])

    @staticmethod
    def vector_norm(vector: dict[str, float]) -> float:
        weights = list(vector.values())
        return math.sqrt(sum(map(operator.mul, weights, weights)))

    @staticmethod
    def join_story(
        story: Any, vector: dict[str, float], limit: int, postings: dict[str, set[str]]
    ) -> None:
        """The story's centroid merged with the vector (`merged_centroid`), its postings
        following (off the terms it lost, a posting left empty deleted; onto those it
        gained), its size one more and its norm refreshed."""
        kept = PythonKernels.merged_centroid(story.centroid, vector, limit)
        for term in story.centroid.keys() - kept.keys():
            posting = postings.get(term)
            if posting is not None:
                posting.discard(story.id)
                if not posting:
                    del postings[term]
        # In the centroid's order (not a set's, which follows the string hashes): the
        # postings are built alike in every process and by both kernels.
        for term in kept:
            if term not in story.centroid:
                postings.setdefault(term, set()).add(story.id)
        story.centroid = kept
        story.size += 1
        story.norm = PythonKernels.vector_norm(kept)

    @staticmethod
    def long_words(text: str, shortest: int) -> list[str]:
        """The whitespace-separated words of at least `shortest` characters, in order."""
        return [word for word in text.split() if len(word) >= shortest]

    @staticmethod
    def scan_part(text: str, classes: bytes) -> tuple[list[str], list[str], list[str]] | None:
        """features.term_weights' words, numbers and names of a part in one pass; None:
        let the patterns of features.py find them. Here they always do (they are the
        reference the C pass is compared with, and the regex engine is C already)."""
        return None

    @staticmethod
    def boosted_counts(
        parts: list[tuple[list[str], list[str], set[str], float]],
        name_weight: float,
        number_weight: float,
    ) -> dict[str, float]:
        """features.term_weights' weights: `parts` are (words, numbers, names,
        field boost), the title's then the body's. Each term (1 + log n) times the
        strongest boost it received, in order of first occurrence."""
        weights: dict[str, float] = {}
        occurrences: list[str] = []  # every term as often as it occurs, in that order
        for words, numbers, names, field_boost in parts:
            occurrences += words
            occurrences += numbers
            # Words and numbers never share a term (letters vs digits); a name is a word.
            boosts = dict.fromkeys(words, field_boost)
            boosts.update(dict.fromkeys(names & boosts.keys(), name_weight * field_boost))
            boosts.update(dict.fromkeys(numbers, number_weight * field_boost))
            # A term of both the title and the body keeps the stronger boost.
            for term in weights.keys() & boosts.keys():
                if weights[term] > boosts[term]:
                    boosts[term] = weights[term]
            weights.update(boosts)
        counts = Counter(occurrences)
        # (1 + log n) * boost per term, iterated in C (1 + log n from a table: a third
        # of the cost of math.log on each count).
        sublinear = map(_SUBLINEAR.__getitem__, counts.values())
        return dict(
            zip(counts, map(operator.mul, sublinear, map(weights.__getitem__, counts)), strict=True)
        )


def _as_dict(terms: Terms) -> dict[str, float]:
    if isinstance(terms, dict):
        return terms
    if isinstance(terms, tuple) and len(terms) == 2 and isinstance(terms[0], list):
        names, tfs = terms
        with contextlib.suppress(TypeError):
            view = memoryview(tfs)
            if view.format.lstrip("<=@") == "d" and view.nbytes == 8 * len(names):
                return dict(zip(names, view.cast("B").cast("d").tolist(), strict=True))
    raise TypeError("terms are a dict {term: tf} or (list of terms, float64 buffer of as many)")


class _SublinearCounts(dict[int, float]):
    """n -> 1 + log n, filled on first use (n is bounded by the characters read)."""

    def __missing__(self, count: int) -> float:
        value = self[count] = 1.0 + math.log(count)
        return value


_SUBLINEAR = _SublinearCounts()


def cosine(vector: dict[str, float], centroid: dict[str, float], norm: float) -> float:
    """The vector (unit length) against a centroid of that norm."""
    if not norm:
        return 0.0
    # Only the shared terms (a C-level set intersection: a story shares a handful of
    # an article's 150 terms), summed exactly (fsum): the set's order, which varies
    # with the process's string hashing, cannot change the result.
    shared = centroid.keys() & vector.keys()
    dot = math.fsum(
        map(operator.mul, map(vector.__getitem__, shared), map(centroid.__getitem__, shared))
    )
    return dot / norm


PYTHON: StoryKernels = PythonKernels()


def _load_native() -> ModuleType | None:
    try:
        from newsbeam.transforms.story import _native  # type: ignore[attr-defined]
    except ImportError:
        _LOG.debug("story: the C kernels are not built; the Python ones run (same labels)")
        return None
    return _native


NATIVE: StoryKernels | None = _load_native()  # type: ignore[assignment]

# The kernels the story core runs (tests and benchmarks set it to compare both).
ACTIVE: StoryKernels = (
    NATIVE
    if NATIVE is not None and os.environ.get("NEWSBEAM_STORY_KERNELS", "") != "python"
    else PYTHON
)
