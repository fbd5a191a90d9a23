"""Online story clustering (pure, no Beam): the sequential core of the stage.

Articles arrive in event-time order; each is compared only with the stories
still active (newest member within `window_days` of the clock), found through
an inverted index over the stories' centroid terms, so the cost of an article
does not grow with the number of active stories. It joins the most similar
story at or above `threshold` or founds a new one, whose id is the founding
article's id: with event-time order and ties by id, the earliest article.

Everything is deterministic given the sequence of calls: batch and stream feed
the same sequence, so they give the same stories.

The state and the decisions are here; the loops over an article's terms are in
kernels.py (in C where the module was built, with the same results).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from newsbeam.transforms.story import kernels
from newsbeam.transforms.story.config import StoryConfig

SparseVector = dict[str, float]


class Assignment(NamedTuple):
    story_id: str
    similarity: float
    founded: bool
    # A duplicate that took its representative's story.
    inherited: bool = False


class DocumentFrequencies:
    """Document frequencies learned from the stream, with a bounded vocabulary."""

    def __init__(self, max_vocabulary: int) -> None:
        self.documents = 0
        self.counts: dict[str, int] = {}
        self._max = max_vocabulary

    def add(self, terms: Collection[str]) -> None:
        """One document's distinct terms (a dict's keys, a set)."""
        self.documents += 1
        kernels.ACTIVE.count_terms(self.counts, terms)
        if len(self.counts) > self._max:
            self._prune()

    def add_and_weigh(self, terms: kernels.Terms, cap: int) -> SparseVector:
        """`add(terms)`, then their TF-IDF vector (L2-normalised, capped to `cap`,
        heaviest first) by these frequencies."""
        self.documents += 1
        vector = kernels.ACTIVE.count_and_weigh(terms, self.counts, self.documents, cap, self._max)
        if vector is None:  # past the vocabulary's bound: pruned before weighing, as add does
            self._prune()
            vector = kernels.ACTIVE.weigh(terms, self.counts, self.documents, cap)
        return vector

    @property
    def max_vocabulary(self) -> int:
        return self._max

    def idf(self, term: str) -> float:
        # Smoothed (as scikit-learn's): a term never seen weighs the most, one in
        # every document still weighs 1.
        return math.log((1 + self.documents) / (1 + self.counts.get(term, 0))) + 1.0

    def _prune(self) -> None:
        # Keep the more frequent half; ties broken by term so every run prunes alike.
        keep = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[: self._max // 2]
        self.counts = dict(keep)


@dataclass
class Story:
    id: str
    centroid: SparseVector
    size: int
    last_time: float
    norm: float = 0.0
    # Ids of the articles labelled with this story (for replays and duplicates).
    members: list[str] = field(default_factory=list)

    def refresh_norm(self) -> None:
        self.norm = kernels.ACTIVE.vector_norm(self.centroid)


@dataclass
class StoryIndex:
    """Active stories, their inverted index and the stream's clock."""

    config: StoryConfig
    frequencies: DocumentFrequencies | None = None
    stories: dict[str, Story] = field(default_factory=dict)
    postings: dict[str, set[str]] = field(default_factory=dict)
    clock: float = float("-inf")
    # Stories closed: out of the window or (also counted in `evicted`) over the cap.
    expired: int = 0
    evicted: int = 0
    # article id -> (story id, similarity) of every article of an active story.
    labels: dict[str, tuple[str, float]] = field(default_factory=dict)
    _expiry: list[tuple[float, str]] = field(default_factory=list)
    # When a list: every expired story is appended to it (the stream's durable store
    # deletes their records); None in batch runs.
    expired_log: list[Story] | None = None

    def __post_init__(self) -> None:
        if self.frequencies is None:
            self.frequencies = DocumentFrequencies(self.config.max_vocabulary)

    def assign(
        self,
        article_id: str,
        time: float | None,
        terms: kernels.Terms,
        duplicate_of: str | None = None,
    ) -> Assignment:
        """Puts one article into a story (joining or founding it) and returns which.

        An id seen before (a replay) gets its label again, unchanged. A duplicate
        (`duplicate_of` its representative) takes the representative's story while
        that story is active, without changing it: a copy is not new evidence. Its
        similarity is measured against the story all the same.
        """
        settled = self._settle(article_id, time, duplicate_of)
        if isinstance(settled, Assignment):
            return settled
        if settled is not None:
            return self._inherit(settled, article_id, self._weigh(terms))
        frequencies = self.frequencies
        assert frequencies is not None
        vector = frequencies.add_and_weigh(terms, self.config.max_article_terms)
        return self._place(article_id, time, vector)

    def assign_weighed(
        self,
        article_id: str,
        time: float | None,
        vector: SparseVector,
        duplicate_of: str | None,
        added: bool,
    ) -> Assignment | None:
        """`assign` with the article's vector weighed beforehand (the batch driver
        weighs runs of articles at once: bulk_weights.RunWeigher), as if its terms
        were added to the document frequencies first (`added`) or not (a replay, a
        duplicate taking its representative's story). None when the article takes
        the other path: nothing but the clock has changed, and the caller assigns it
        with `assign`."""
        settled = self._settle(article_id, time, duplicate_of)
        if isinstance(settled, Assignment):
            return None if added else settled
        if (settled is None) != added:
            return None
        if settled is not None:
            return self._inherit(settled, article_id, vector)
        return self._place(article_id, time, vector)

    def _settle(
        self, article_id: str, time: float | None, duplicate_of: str | None
    ) -> Assignment | Story | None:
        """Advances the clock; then a replay's label again, the active story a
        duplicate takes, or None for an article to place."""
        if time is not None and time > self.clock:
            self.clock = time
            self._expire()
        known = self.labels.get(article_id)
        if known is not None:
            return Assignment(known[0], known[1], False)
        if duplicate_of is not None and duplicate_of in self.labels:
            return self.stories[self.labels[duplicate_of][0]]
        return None

    def _inherit(self, story: Story, article_id: str, vector: SparseVector) -> Assignment:
        similarity = round(kernels.cosine(vector, story.centroid, story.norm), 6)
        self._label(story, article_id, similarity)
        return Assignment(story.id, similarity, False, inherited=True)

    def _place(self, article_id: str, time: float | None, vector: SparseVector) -> Assignment:
        """Joins the most similar candidate story at or above the threshold, or founds one."""
        when = self.clock if time is None else time
        # Ties go to the smaller id: the same choice whatever the set order.
        best, best_similarity = kernels.ACTIVE.most_similar(
            vector, self._candidates(vector), self.stories
        )
        if best is not None and best_similarity >= self.config.threshold:
            self._join(best, vector, when)
            similarity = round(best_similarity, 6)
            self._label(best, article_id, similarity)
            return Assignment(best.id, similarity, False)
        story = self._found(article_id, vector, when)
        self._label(story, article_id, 1.0)
        return Assignment(article_id, 1.0, True)

    def restore(self, stories: list[Story], labels: dict[str, tuple[str, float]]) -> None:
        """Adopts stories and labels read back from a durable store (the clock and
        the frequencies are set by the caller), then expires what is out of the window."""
        for story in stories:
            story.refresh_norm()
            self.stories[story.id] = story
            for term in story.centroid:
                self.postings.setdefault(term, set()).add(story.id)
            heapq.heappush(self._expiry, (story.last_time, story.id))
        for article_id, label in labels.items():
            self.labels[article_id] = label
            self.stories[label[0]].members.append(article_id)
        self._expire()

    def _label(self, story: Story, article_id: str, similarity: float) -> None:
        story.members.append(article_id)
        self.labels[article_id] = (story.id, similarity)

    def _weigh(self, terms: kernels.Terms) -> SparseVector:
        """TF-IDF, L2-normalised, capped, heaviest first (the lookup and a new story
        take a prefix)."""
        frequencies = self.frequencies
        assert frequencies is not None
        return kernels.ACTIVE.weigh(
            terms, frequencies.counts, frequencies.documents, self.config.max_article_terms
        )

    def _candidates(self, vector: SparseVector) -> set[str]:
        """Active stories that share one of the article's heaviest terms; when more
        than `max_candidates` do, those sharing the most of the terms' weight (ties by
        id): the full comparison is the stage's dearest step, and a story that shares
        little of the article's heaviest terms does not reach the threshold."""
        return kernels.ACTIVE.candidates(
            vector, self.postings, self.config.query_terms, self.config.max_candidates
        )

    def _found(self, story_id: str, vector: SparseVector, when: float) -> Story:
        if len(self.stories) >= self.config.max_active_stories:
            self._expire(room=1)  # before it is added: the new story is never the one closed
        heaviest = dict(itertools.islice(vector.items(), self.config.max_story_terms))
        story = Story(story_id, heaviest, 1, when)
        story.refresh_norm()
        self.stories[story_id] = story
        for term in story.centroid:
            self.postings.setdefault(term, set()).add(story_id)
        heapq.heappush(self._expiry, (when, story_id))
        return story

    def _join(self, story: Story, vector: SparseVector, when: float) -> None:
        kernels.ACTIVE.join_story(story, vector, self.config.max_story_terms, self.postings)
        if when > story.last_time:
            story.last_time = when
            heapq.heappush(self._expiry, (when, story.id))

    def _expire(self, room: int = 0) -> None:
        """Closes the stories out of the window, then, while more than
        `max_active_stories - room` are open, the one whose newest member is oldest
        (ties by id: the heap's order, which a restore rebuilds as it was)."""
        horizon = self.clock - self.config.window_seconds
        cap = self.config.max_active_stories - room
        while self._expiry and (self._expiry[0][0] < horizon or len(self.stories) > cap):
            when, story_id = heapq.heappop(self._expiry)
            story = self.stories.get(story_id)
            if story is None or story.last_time != when:
                continue  # a stale heap entry: the story was joined later
            if when >= horizon:
                self.evicted += 1
            del self.stories[story_id]
            for term in story.centroid:
                self._unpost(term, story_id)
            for member in story.members:
                self.labels.pop(member, None)
            self.expired += 1
            if self.expired_log is not None:
                self.expired_log.append(story)

    def _unpost(self, term: str, story_id: str) -> None:
        posting = self.postings.get(term)
        if posting is not None:
            posting.discard(story_id)
            if not posting:
                del self.postings[term]
