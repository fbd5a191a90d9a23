"""The story stage on the DirectRunner: batch, stream, and the two agreeing."""

from __future__ import annotations

import json
import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from story_fixtures import week_of_news, week_with_a_duplicate

from conftest import EXAMPLES
from newsbeam.pipelines.batch import run_batch
from newsbeam.pipelines.config import BatchRunConfig, PipelineConfig
from newsbeam.schemas.validation import validation_errors
from newsbeam.transforms.story import transform as story_module
from newsbeam.transforms.story.batch_core import assign_in_order
from newsbeam.transforms.story.clusterer import StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.transform import StoriesBatch, StoriesStream, observe

CONFIG = StoryConfig()


def _expected(articles) -> list[tuple[str, str, float]]:
    index = StoryIndex(CONFIG)
    ordered = sorted(articles, key=lambda a: observe(a, CONFIG)[1])
    return [(a.id, *assign_in_order(index, *observe(a, CONFIG))[:2]) for a in ordered]


def _summary(article) -> tuple[str, str, float]:
    return article.id, article.story["id"], article.story["similarity"]


def test_batch_labels_every_article_in_event_time_order_whatever_the_input_order():
    articles = week_with_a_duplicate()
    expected = _expected(articles)
    assert expected[4][:2] == ("turkey-copy", "turkey-1")  # the duplicate inherits
    shuffled = random.Random(3).sample(articles, len(articles))
    with TestPipeline() as pipeline:
        labelled = pipeline | beam.Create(shuffled) | StoriesBatch(CONFIG)
        assert_that(labelled | beam.Map(_summary), equal_to(expected))


def test_batch_gives_a_replayed_id_one_label_and_keeps_every_copy():
    articles = week_of_news()
    replay = articles[3].replace(raw="second delivery")
    with TestPipeline() as pipeline:
        labelled = pipeline | beam.Create([*articles, replay]) | StoriesBatch(CONFIG)
        assert_that(
            labelled | beam.Filter(lambda a: a.id == "turkey-1") | beam.Map(_summary),
            equal_to([("turkey-1", "turkey-1", 1.0)] * 2),
        )


def test_a_failing_article_is_a_story_error_dead_letter_and_the_rest_go_on(monkeypatch):
    articles = week_of_news()
    real = story_module.term_weights

    def fails_on_peru(text, title, config):
        if title and "Peru" in title:
            raise RecursionError("too deep")
        return real(text, title, config)

    monkeypatch.setattr(story_module, "term_weights", fails_on_peru)
    with TestPipeline() as pipeline:
        out = pipeline | beam.Create(articles) | StoriesBatch(CONFIG, with_dead_letters=True)
        assert_that(
            out["dead_letter"] | beam.Map(lambda d: (d.id, d.stage, d.reason, d.raw[:5])),
            equal_to([("peru", "story", "story_error", "Earth")]),
            label="dead",
        )
        assert_that(
            out["main"] | beam.Map(lambda a: a.id),
            equal_to([a.id for a in articles if a.id != "peru"]),
        )


def _stream_options() -> PipelineOptions:
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    return options


@pytest.mark.slow
def test_stream_gives_the_batch_labels_on_the_same_articles_in_event_time_order():
    articles = sorted(week_with_a_duplicate(), key=lambda a: observe(a, CONFIG)[1])
    expected = _expected(articles)
    stream = TestStream(coder=beam.coders.PickleCoder())
    for article in articles:
        stream = stream.add_elements([article])
    stream = stream.advance_watermark_to_infinity()
    with TestPipeline(options=_stream_options()) as pipeline:
        labelled = pipeline | stream | StoriesStream(CONFIG)
        assert_that(labelled | beam.Map(_summary), equal_to(expected))
    with TestPipeline() as pipeline:
        labelled = pipeline | beam.Create(articles[::-1]) | "Batch" >> StoriesBatch(CONFIG)
        assert_that(labelled | beam.Map(_summary), equal_to(expected))


class _Bag:
    def __init__(self) -> None:
        self.items: list = []
        self.reads = 0

    def read(self):
        self.reads += 1
        return list(self.items)

    def add(self, item) -> None:
        self.items.append(item)

    def clear(self) -> None:
        self.items = []


class _Value:
    def __init__(self) -> None:
        self.value = None

    def read(self):
        return self.value

    def write(self, value) -> None:
        self.value = value


def _run_fn(fns, articles, state):
    out = []
    for n, article in enumerate(articles):
        fn = fns[n % len(fns)]
        out.extend(fn.process((story_module.STREAM_KEY, article), *state))
    return [_summary(a) for a in out]


def test_stream_state_rebuilds_from_snapshot_and_replay_when_the_key_moves(monkeypatch):
    """Two DoFn instances taking turns on the key's state (a key moving between
    workers, a retried bundle) give the labels one instance gives; the bag holds
    the observations since the last snapshot only."""
    monkeypatch.setattr(story_module, "SNAPSHOT_EVERY", 4)
    articles = sorted(week_with_a_duplicate(), key=lambda a: observe(a, CONFIG)[1])

    single = story_module.StoriesStreamFn(CONFIG)
    single.setup()
    state = (_Bag(), _Value(), _Value())
    expected = _run_fn([single], articles, state)
    assert expected == _expected(articles)
    assert state[0].reads == 0  # one worker: state is written, never read back
    assert len(state[0].items) == len(articles) % 4 and state[1].value is not None

    first, second = story_module.StoriesStreamFn(CONFIG), story_module.StoriesStreamFn(CONFIG)
    first.setup()
    second.setup()
    shared = (_Bag(), _Value(), _Value())
    assert _run_fn([first, second], articles, shared) == expected
    assert shared[0].reads > 0  # each switch rebuilt the index from state


def _records(folder) -> dict[str, dict]:
    records = {}
    for path in folder.glob("articles-*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            records[record["id"]] = record
    return records


@pytest.mark.slow
def test_the_batch_job_labels_stories_after_dedup_and_no_stories_leaves_them_out(tmp_path):
    feed = EXAMPLES / "wire-feed.jsonl"
    on, off = tmp_path / "on", tmp_path / "off"
    run_batch(BatchRunConfig(inputs=(str(feed),), output_dir=str(on)), [str(feed)])
    records = _records(on)
    assert records and all(validation_errors(r) == [] for r in records.values())
    # The syndicated near copy and the exact copy take the wire story's story.
    for copy in ("daily-g20-tax", "aggregator-g20-tax"):
        assert records[copy]["duplicate"]["of"] == "wire-g20-tax"
        assert records[copy]["story"]["id"] == "wire-g20-tax"
    assert records["wire-g20-tax"]["story"] == {"id": "wire-g20-tax", "similarity": 1.0}
    no_stories = PipelineConfig(story=None)
    run_batch(
        BatchRunConfig(inputs=(str(feed),), output_dir=str(off), pipeline=no_stories), [str(feed)]
    )
    records = _records(off)
    assert records and all("story" not in r for r in records.values())


def test_batch_counts_founded_joined_and_inherited_articles():
    from apache_beam.metrics.metric import MetricsFilter

    pipeline = TestPipeline()
    _ = pipeline | beam.Create(week_with_a_duplicate()) | StoriesBatch(CONFIG)
    result = pipeline.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("newsbeam.story"))[
            "counters"
        ]
    }
    # week_of_news: 7 stories founded, turkey-2 and turkey-3 joined; the copy inherited;
    # the three March 3 stories are closed once the clock passes March 6 (3-day window).
    assert counters == {"founded": 7, "joined": 2, "inherited": 1, "expired": 3}


def test_packed_observations_come_back_exactly():
    from newsbeam.transforms.story.transform import pack, unpack

    terms = {"merkel": 3.2188758248682006, "2024": 2.5, "bogota": 1.0 / 3.0, "müller": 1e-300}
    observation = ("a-1", (False, 1733443200.0, "a-1"), terms, "rep-9")
    back = unpack(pack(observation))
    assert back == observation
    assert list(back[2]) == list(terms)  # the core sees the terms in the same order
    assert unpack(pack(("b", (True, 0.0, "b"), {}, None))) == ("b", (True, 0.0, "b"), {}, None)
