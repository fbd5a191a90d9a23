"""The batch driver weighs runs of articles at once (transforms/story/bulk_weights.py):
its vectors, document frequencies and labels must equal the one-by-one core's,
float for float, whatever the runs' boundaries, replays, duplicates, expiries,
vocabulary prunes and caps."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest

from newsbeam.transforms.story import batch_core, kernels
from newsbeam.transforms.story.batch_core import StoryCounts, indexed_story_labels
from newsbeam.transforms.story.bulk_weights import RunWeigher
from newsbeam.transforms.story.clusterer import DocumentFrequencies, StoryIndex
from newsbeam.transforms.story.config import DAY_SECONDS, StoryConfig
from newsbeam.transforms.story.order import order_key

CONFIGS = {
    "default": StoryConfig(),
    # Prunes every few dozen articles (runs near the bound are weighed one by one).
    "pruned": StoryConfig(max_vocabulary=110),
    # Stories expire within a run (replays and duplicates then take another path
    # than the run expected); capped articles and stories.
    "short": StoryConfig(window_days=0.1, max_article_terms=12, max_story_terms=8),
    "loose": StoryConfig(threshold=0.05, max_candidates=2, query_terms=3),
    # At most 6 stories open: the cap closes some within every run.
    "capped": StoryConfig(max_active_stories=6),
}


def _article_terms(rng: random.Random, vocabulary: list[str]) -> dict[str, float]:
    size = rng.choice([0, 1, 3, 8, 20, 40, 90])
    chosen = dict.fromkeys(rng.choices(vocabulary, weights=range(len(vocabulary), 0, -1), k=size))
    # Few distinct weights, as the features give them: ties are the rule.
    return {
        term: (1.0 + math.log(rng.randint(1, 3))) * rng.choice([1.0, 2.0, 2.5, 4.0])
        for term in chosen
    }


def _stream(seed: int, count: int) -> list[tuple[str, float | None, dict[str, float], str | None]]:
    """Articles: (id, time or None, terms, representative), with replays (an id again),
    duplicates of earlier, later and unknown articles, undated articles."""
    rng = random.Random(seed)
    vocabulary = [f"w{n}" for n in range(120)] + [str(1990 + n) for n in range(30)]
    articles = []
    for number in range(count):
        time = None if rng.random() < 0.05 else rng.uniform(0, 6 * DAY_SECONDS)
        article_id = f"a{number:04d}"
        if articles and rng.random() < 0.05:
            article_id = rng.choice(articles)[0]  # a replay
        representative = None
        if rng.random() < 0.15:
            representative = rng.choice([f"a{rng.randrange(count):04d}", "missing"])
        articles.append((article_id, time, _article_terms(rng, vocabulary), representative))
    return articles


def _one_by_one(articles, config: StoryConfig) -> tuple[dict, dict]:
    index = StoryIndex(config)
    labels = {}
    counts = StoryCounts()
    ordered = sorted(
        (order_key(article_id, time), place)
        for place, (article_id, time, _, _) in enumerate(articles)
    )
    for _, place in ordered:
        article_id, time, terms, representative = articles[place]
        assignment = index.assign(article_id, time, terms, representative)
        counts.count(assignment)
        if assignment.story_id != article_id:
            labels[place] = (article_id, assignment.story_id, assignment.similarity)
    counts.expired += index.expired
    counts.evicted += index.evicted
    return labels, counts.counters()


def _in_runs(articles, config: StoryConfig) -> tuple[dict, dict]:
    entries = [
        (order_key(article_id, time), place)
        for place, (article_id, time, _, _) in enumerate(articles)
    ]
    random.Random(0).shuffle(entries)

    def load(place):
        article_id, _, terms, representative = articles[place]
        weights = np.array(list(terms.values()), dtype=np.float64)
        return article_id, list(terms), weights, representative

    counts = StoryCounts()
    labels = {
        place: (article_id, story, similarity)
        for place, article_id, story, similarity in indexed_story_labels(
            entries, load, config, counts
        )
    }
    return labels, counts.counters()


@pytest.mark.parametrize("run", [1, 7, 256])
@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("seed", [1, 2])
def test_runs_give_the_labels_of_the_one_by_one_core(monkeypatch, run, name, seed):
    # Runs are weighed with the Python kernels only (the C ones weigh one by one).
    monkeypatch.setattr(kernels, "ACTIVE", kernels.PYTHON)
    monkeypatch.setattr(batch_core, "WEIGHING_RUN", run)
    articles = _stream(seed, 700)
    expected = _one_by_one(articles, CONFIGS[name])
    assert _in_runs(articles, CONFIGS[name]) == expected
    labels, counts = expected
    assert counts["joined"] > 50 and counts["founded"] > 20  # the streams exercise both
    assert (counts.get("evicted", 0) > 20) == (name == "capped")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_run_weighs_as_the_core_and_commits_its_frequencies(name):
    config = CONFIGS[name]
    rng = random.Random(3)
    vocabulary = [f"t{n}" for n in range(400)]
    index = StoryIndex(replace(config, max_vocabulary=10_000))
    frequencies = DocumentFrequencies(10_000)
    weigher = RunWeigher(config)
    for _ in range(6):
        run = [_article_terms(rng, vocabulary) for _ in range(rng.randint(1, 90))]
        adds = [rng.random() < 0.8 for _ in run]
        weighed = weigher.weigh(
            frequencies,
            [list(terms) for terms in run],
            np.array([w for terms in run for w in terms.values()], dtype=np.float64),
            adds,
        )
        assert weighed is not None
        stop = rng.randint(0, len(run))  # a partial commit, as after an unexpected path
        for position, (terms, added) in enumerate(zip(run[:stop], adds, strict=False)):
            if added:
                index.frequencies.add(terms)
            expected = index._weigh(terms)
            assert list(weighed.vectors[position].items()) == list(expected.items())
        weighed.commit(frequencies, stop)
        assert frequencies.counts == index.frequencies.counts
        assert frequencies.documents == index.frequencies.documents


def test_a_run_that_could_reach_the_vocabulary_bound_is_not_weighed():
    frequencies = DocumentFrequencies(5)
    frequencies.add({"a": 1.0, "b": 1.0, "c": 1.0})
    weigher = RunWeigher(StoryConfig())
    one = np.ones(2)
    assert weigher.weigh(frequencies, [["a", "d"]], one, [True]) is not None
    assert weigher.weigh(frequencies, [["d", "e"], ["f"]], np.ones(3), [True, False]) is None
    empty = weigher.weigh(frequencies, [[], []], np.zeros(0), [True, True])
    assert empty is not None and empty.vectors == [{}, {}]
