"""Stories of a whole batch in one process (pure, no Beam).

The sequential core (`StoryIndex`) over every observation of the batch in
(event time, id) order; `StoriesBatch` runs it under its one key
(transform.cluster_in_order). It holds a compact entry per article (order key
and where its observation can be loaded again), never the observations: the
local batch run (pipelines/local_batch.py) computes the observations in its
sketch pass, on every worker, spills them, and calls `indexed_story_labels`
in the driver after dedup, so that the story stage costs neither a shuffle
nor a side input of every label, and memory does not hold every article.

`StoriesBatch` stays the distributed form (Flink, Dataflow, Spark through the
portable runner). tests/test_story_batch_core.py checks that the driver's spilled
form gives its labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from newsbeam.transforms.story.clusterer import Assignment, StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.order import OrderKey

# Where an observation is: any sortable value (the local batch run: file, offset).
Location = TypeVar("Location")


@dataclass
class StoryCounts:
    """What the story stage counts in its Metrics (namespace newsbeam.story)."""

    founded: int = 0
    joined: int = 0
    inherited: int = 0
    expired: int = 0

    def count(self, assignment: Assignment) -> None:
        if assignment.founded:
            self.founded += 1
        elif assignment.inherited:
            self.inherited += 1
        else:
            self.joined += 1

    def counters(self) -> dict[str, int]:
        """The non-zero counts, as the Beam job reports them (zero = never counted)."""
        return {name: value for name, value in vars(self).items() if value}


def assign_in_order(
    index: StoryIndex,
    article_id: str,
    key: OrderKey,
    terms: dict[str, float],
    representative: str | None,
) -> Assignment:
    """One observation into the index (its order key says whether it has a time)."""
    undated, time, _ = key
    return index.assign(article_id, None if undated else time, terms, representative)


def indexed_story_labels(
    entries: Iterable[tuple[OrderKey, Location]],
    load: Callable[[Location], tuple[str, dict[str, float], str | None]],
    config: StoryConfig,
    counts: StoryCounts | None = None,
) -> Iterator[tuple[Location, str, str, float]]:
    """The labels of the articles that joined a story (a founder's label is its own
    id, similarity 1.0), as (location, article id, story id, similarity), in
    event-time order.

    `entries`: each article's order key and where its observation is;
    `load(location)` gives back (article id, terms, dedup representative or None).
    Two copies of one id (a replay) are both labelled, with the label of the first.
    """
    counts = counts if counts is not None else StoryCounts()
    index = StoryIndex(config)
    # Event time, then id (the key ends with it), then place: never the input order.
    ordered: list[Any] = sorted(entries)
    for position, (key, location) in enumerate(ordered):
        ordered[position] = None  # each entry is released once its article is placed
        article_id, terms, representative = load(location)
        assignment = assign_in_order(index, article_id, key, terms, representative)
        counts.count(assignment)
        if assignment.story_id != article_id:
            yield location, article_id, assignment.story_id, assignment.similarity
    counts.expired += index.expired
