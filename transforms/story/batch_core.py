"""Stories of a whole batch in one process (pure, no Beam).

The sequential core (`StoryIndex`) over every observation of the batch in
(event time, id) order; `StoriesBatch` runs it under its one key
(transform.cluster_in_order). It holds a compact entry per article (order key
and where its observation can be loaded again), never the observations: the
local batch run (pipelines/local_batch.py) computes the observations in its
sketch pass, on every worker, spills them, and calls `indexed_story_labels`
in the driver after dedup, so that the story stage costs neither a shuffle
nor a side input of every label, and memory does not hold every article.

With the Python kernels, knowing the next articles, it weighs them 256 at a time
(bulk_weights.RunWeigher) instead of one by one as the stream does; with the C
kernels (kernels.py) one by one is the cheaper. The labels are the same.

`StoriesBatch` stays the distributed form (Flink, Dataflow, Spark through the
portable runner). tests/test_story_batch_core.py checks that the driver's spilled
form gives its labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from newsbeam.transforms.story import kernels
from newsbeam.transforms.story.bulk_weights import RunWeigher
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
    # Closed early by `max_active_stories` (also counted in `expired`).
    evicted: int = 0

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
    terms: kernels.Terms,
    representative: str | None,
) -> Assignment:
    """One observation into the index (its order key says whether it has a time)."""
    undated, time, _ = key
    return index.assign(article_id, None if undated else time, terms, representative)


# Articles weighed at once (bulk_weights.RunWeigher) with the Python kernels: the
# vectors of a run of 256 cost ~0.6x one by one (benchmarks/README.md, "2026-12-06 night
# session: the story core's weighing in runs"). The C kernels weigh one article in less
# (benchmarks/README.md, "The C kernels"): runs of 1, no RunWeigher.
WEIGHING_RUN = 256

# A loaded observation: article id, its terms, their weights (float64, in the terms'
# order), the dedup representative (None unless a duplicate).
Loaded = tuple[str, list[str], np.ndarray, str | None]


def indexed_story_labels(
    entries: Iterable[tuple[OrderKey, Location]],
    load: Callable[[Location], Loaded],
    config: StoryConfig,
    counts: StoryCounts | None = None,
) -> Iterator[tuple[Location, str, str, float]]:
    """The labels of the articles that joined a story (a founder's label is its own
    id, similarity 1.0), as (location, article id, story id, similarity), in
    event-time order.

    `entries`: each article's order key and where its observation is;
    `load(location)` gives it back (`Loaded`), once per entry. Two copies of one id
    (a replay) are both labelled, with the label of the first.
    """
    counts = counts if counts is not None else StoryCounts()
    index = StoryIndex(config)
    weigher = RunWeigher(config) if kernels.ACTIVE is kernels.PYTHON else None
    # Event time, then id (the key ends with it), then place: never the input order.
    ordered: list[Any] = sorted(entries)
    taken = 0
    run: list[tuple[OrderKey, Location, Loaded]] = []
    if weigher is None:
        for position, (key, location) in enumerate(ordered):
            ordered[position] = None  # released once its article is placed
            article_id, names, weights, representative = load(location)
            # The terms as loaded (kernels.Terms): no dict of them is built.
            assignment = assign_in_order(index, article_id, key, (names, weights), representative)
            counts.count(assignment)
            if assignment.story_id != article_id:
                yield location, article_id, assignment.story_id, assignment.similarity
    while weigher is not None:
        while len(run) < WEIGHING_RUN and taken < len(ordered):
            key, location = ordered[taken]
            ordered[taken] = None  # each entry is released once its article is placed
            taken += 1
            run.append((key, location, load(location)))
        if not run:
            break
        placed = 0
        for location, article_id, assignment in _assign_run(index, weigher, run):
            placed += 1
            counts.count(assignment)
            if assignment.story_id != article_id:
                yield location, article_id, assignment.story_id, assignment.similarity
        run = run[placed:]
    counts.expired += index.expired
    counts.evicted += index.evicted


def _assign_run(
    index: StoryIndex, weigher: RunWeigher, run: list[tuple[OrderKey, Location, Loaded]]
) -> Iterator[tuple[Location, str, Assignment]]:
    """Assigns the run's articles in order, weighed at once, up to and including the
    first that takes another path than expected (then the caller weighs the rest
    again); the whole run one by one if it could reach the vocabulary's bound."""
    frequencies = index.frequencies
    assert frequencies is not None
    adds = _expected_adds(index, run)
    weighed = weigher.weigh(
        frequencies,
        [loaded[1] for _, _, loaded in run],
        np.concatenate([loaded[2] for _, _, loaded in run]),
        adds,
    )
    for position, ((key, location, loaded), added) in enumerate(zip(run, adds, strict=True)):
        article_id, names, weights, representative = loaded
        undated, time, _ = key
        when = None if undated else time
        if weighed is not None:
            assignment = index.assign_weighed(
                article_id, when, weighed.vectors[position], representative, added
            )
            if assignment is not None:
                yield location, article_id, assignment
                continue
            weighed.commit(frequencies, position)
        terms = dict(zip(names, weights.tolist(), strict=True))
        yield location, article_id, index.assign(article_id, when, terms, representative)
        if weighed is not None:
            return
    if weighed is not None:
        weighed.commit(frequencies, len(run))


def _expected_adds(index: StoryIndex, run: list[tuple[OrderKey, Location, Loaded]]) -> list[bool]:
    """Whether each article of the run is expected to add its terms to the document
    frequencies: not a replay, not a duplicate whose representative is placed (the
    core checks it, as a story may expire within the run)."""
    labelled = index.labels
    seen: set[str] = set()
    adds = []
    for _, _, (article_id, _, _, representative) in run:
        replay = article_id in labelled or article_id in seen
        inherits = representative is not None and (
            representative in labelled or representative in seen
        )
        adds.append(not replay and not inherits)
        seen.add(article_id)
    return adds
