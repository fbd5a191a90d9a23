"""Stories of a whole batch in the driver (transforms/story/batch_core.py): the labels
and counts StoriesBatch gives, from compact entries, whatever the entries' order."""

from __future__ import annotations

import random

from story_fixtures import week_with_a_duplicate

from newsbeam.transforms.story.batch_core import StoryCounts, indexed_story_labels
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.transform import cluster_in_order, observe, pack, unpack_weights

CONFIG = StoryConfig()


def _articles() -> list:
    articles = week_with_a_duplicate()
    second = next(a for a in articles if a.id == "turkey-2")
    replay = second.replace(raw="second delivery")  # the same id, delivered twice
    return [*articles, replay]


def _driver_labels(articles, seed: int) -> tuple[dict, StoryCounts]:
    """As the local batch run does it: observations without representatives in
    'files' (here one list per three articles), loaded by place, in a shuffled order."""
    files = [
        [pack(observe(a.replace(duplicate=None), CONFIG)) for a in articles[i : i + 3]]
        for i in range(0, len(articles), 3)
    ]
    representatives = {a.id: a.duplicate["of"] for a in articles if a.duplicate}
    entries = [(packed[1], (n, o)) for n, f in enumerate(files) for o, packed in enumerate(f)]
    random.Random(seed).shuffle(entries)
    loads = []

    def load(place):
        loads.append(place)
        article_id, terms, weights, _ = unpack_weights(files[place[0]][place[1]])
        return article_id, terms, weights, representatives.get(article_id)

    counts = StoryCounts()
    labels = {}
    for place, article_id, story, similarity in indexed_story_labels(entries, load, CONFIG, counts):
        labels[(place, article_id)] = (story, similarity)
    assert sorted(loads) == sorted(e[1] for e in entries)  # each loaded once
    return labels, counts


def test_driver_gives_the_labels_of_the_beam_stage_in_any_entry_order():
    articles = _articles()
    expected = dict(cluster_in_order(("", [pack(observe(a, CONFIG)) for a in articles]), CONFIG))
    assert expected["turkey-copy"][0] == "turkey-1"  # the duplicate inherits
    for seed in (1, 2, 3):
        labels, counts = _driver_labels(articles, seed)
        by_id = {article_id: label for (_, article_id), label in labels.items()}
        assert by_id == expected
        # week_of_news: 7 founded, 2 joined, the copy inherited, the replay joined
        # (its first delivery's label again), three stories closed by the window.
        assert counts.counters() == {"founded": 7, "joined": 3, "inherited": 1, "expired": 3}


def test_both_copies_of_a_replayed_id_get_the_label_of_the_first():
    labels, _ = _driver_labels(_articles(), seed=5)
    replayed = [label for (_, article_id), label in labels.items() if article_id == "turkey-2"]
    assert len(replayed) == 2 and replayed[0] == replayed[1]
    assert replayed[0][0] == "turkey-1"
