"""ClassifyTopics on the DirectRunner, batch and streaming."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue
from classify_support import TRAIN_FILE

from newsbeam.schemas.article import Article, Source
from newsbeam.transforms.classify import ClassifyConfig, ClassifyTopics, ModelFormatError
from newsbeam.transforms.classify.training import read_labelled_jsonl, train_topic_model

STORIES = {
    "a": ("Budget vote", "Parliament approved the budget after the opposition ended its boycott."),
    "b": ("Cup final", "The striker scored twice as the home side won the championship."),
    "c": (None, "Shares of the retailer fell after it cut its profit forecast."),
    "d": ("New chip", "The processor runs artificial intelligence software twice as fast."),
    "e": (None, ""),
}
EXPECTED = {
    "a": "politics",
    "b": "sport",
    "c": "economy, business and finance",
    "d": "science and technology",
    "e": None,
}


def articles() -> list[Article]:
    return [
        Article(
            id=k,
            source=Source("file", "mem://x", line=i + 1),
            raw="{}",
            title=t,
            text=x,
            language="en",
        )
        for i, (k, (t, x)) in enumerate(STORIES.items())
    ]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("pipeline") / "model.npz"
    train_topic_model(read_labelled_jsonl(TRAIN_FILE)).save(path)
    return str(path)


def top_label(article: Article):
    return (article.id, article.topics[0]["label"] if article.topics else None)


def test_batch_pipeline_labels_every_article_and_counts(model_path):
    config = ClassifyConfig(model_path=model_path, batch_size=2)  # several batches per bundle
    pipeline = TestPipeline()
    labelled = pipeline | beam.Create(articles()) | ClassifyTopics(config)
    assert_that(labelled | beam.Map(top_label), equal_to(list(EXPECTED.items())))

    def well_formed(items):
        for article in items:
            scores = [t["score"] for t in article.topics]
            assert scores == sorted(scores, reverse=True)
            for topic in article.topics:
                assert set(topic) == {"label", "score"} and 0 <= topic["score"] <= 1
            assert article.text == STORIES[article.id][1]  # nothing else changed

    assert_that(labelled, well_formed, label="well_formed")
    result = pipeline.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("newsbeam.classify"))[
            "counters"
        ]
    }
    assert counters == {
        "politics": 1,
        "sport": 1,
        "economy, business and finance": 1,
        "science and technology": 1,
        "no_text": 1,
    }


def test_streaming_keeps_each_article_and_its_timestamp(model_path):
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    stream = TestStream()
    for i, article in enumerate(articles()[:4]):
        stream = stream.add_elements([TimestampedValue(article, 100 + i)]).advance_watermark_to(
            100 + i
        )
    stream = stream.advance_watermark_to_infinity()

    class WithTimestamp(beam.DoFn):
        def process(self, article, timestamp=beam.DoFn.TimestampParam):
            yield (article.id, article.topics[0]["label"], int(timestamp.micros // 1_000_000))

    with TestPipeline(options=options) as pipeline:
        out = (
            pipeline
            | stream
            | ClassifyTopics(ClassifyConfig(model_path=model_path, batch_size=64))
            | beam.ParDo(WithTimestamp())
        )
        assert_that(
            out,
            equal_to([(k, EXPECTED[k], 100 + i) for i, k in enumerate("abcd")]),
        )


def test_bad_model_fails_when_the_pipeline_is_built(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"nope")
    with pytest.raises(ModelFormatError, match="not a newsbeam topic model"):
        ClassifyTopics(ClassifyConfig(model_path=str(bad)))
    with pytest.raises(ValueError):
        ClassifyConfig(threshold=1.5)


def test_articles_in_other_languages_are_not_classified(model_path):
    german = articles()[0].replace(language="de")
    config = ClassifyConfig(model_path=model_path, languages=frozenset({"en"}))
    with TestPipeline() as p:
        out = p | beam.Create([german]) | ClassifyTopics(config)
        assert_that(out | beam.Map(lambda a: (a.id, a.topics)), equal_to([("a", [])]))


def test_languages_default_to_the_models_own(model_path, tmp_path):
    # A model that records its languages classifies only those by default;
    # one that records none (older files) classifies every language.
    english_only = tmp_path / "en.npz"
    train_topic_model(read_labelled_jsonl(TRAIN_FILE), languages=["en"]).save(english_only)
    stories = [
        articles()[1],
        articles()[0].replace(id="ko", language="ko"),
        articles()[2].replace(id="und", language="und"),
    ]
    with TestPipeline() as p:
        created = p | beam.Create(stories)
        recorded = created | "en" >> ClassifyTopics(ClassifyConfig(model_path=str(english_only)))
        unrecorded = created | "any" >> ClassifyTopics(ClassifyConfig(model_path=model_path))
        every = created | "all" >> ClassifyTopics(
            ClassifyConfig(model_path=str(english_only), languages=None)
        )
        assert_that(
            recorded | "r" >> beam.Map(top_label),
            equal_to([("b", "sport"), ("ko", None), ("und", None)]),
            label="recorded",
        )
        assert_that(
            unrecorded | "u" >> beam.Map(top_label),
            equal_to(
                [("b", "sport"), ("ko", "politics"), ("und", "economy, business and finance")]
            ),
            label="unrecorded",
        )
        assert_that(
            every | "e" >> beam.Map(top_label),
            equal_to(
                [("b", "sport"), ("ko", "politics"), ("und", "economy, business and finance")]
            ),
            label="every",
        )
    with pytest.raises(ValueError, match="languages must be"):
        ClassifyConfig(languages="en")  # type: ignore[arg-type]
