"""DetectLanguage and KeepLanguages on Beam's DirectRunner, batch and streaming."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration, Timestamp
from language_corpus import SENTENCES

from newsbeam.schemas.article import Article, Source
from newsbeam.transforms.language.backends import rs_importable
from newsbeam.transforms.language.detector import LanguageConfig
from newsbeam.transforms.language.transform import (
    FILTERED_NAMESPACE,
    METRICS_NAMESPACE,
    DetectLanguage,
    KeepLanguages,
)

BACKENDS = [
    "langdetect",
    pytest.param(
        "langdetect-rs", marks=pytest.mark.skipif(not rs_importable(), reason="no langdetect-rs")
    ),
]


def article(id: str, text: str, *, title: str | None = None, hint: str | None = None) -> Article:
    return Article(
        id=id,
        source=Source(kind="file", uri="file:///in.jsonl", line=1),
        raw=json.dumps({"id": id, "text": text}),
        text=text,
        title=title,
        language_hint=hint,
    )


INPUTS = [
    article("en", SENTENCES["en"][0], title="Energy prices", hint="en"),
    article("de", SENTENCES["de"][1], hint="en"),  # a wrong hint
    article("fr", SENTENCES["fr"][0] + " " + SENTENCES["fr"][2]),
    article("ja", SENTENCES["ja"][3], hint="ja-JP"),
    article("short", "Breaking news"),
    article("numbers", "12.03.2024 14:35 +49 30 1234567"),
    article("empty", ""),
]
EXPECTED = [
    ("en", "en", None, True),
    ("de", "de", None, False),
    ("fr", "fr", None, None),
    ("ja", "ja", None, True),
    ("short", "und", 0.0, None),
    ("numbers", "und", 0.0, None),
    ("empty", "und", 0.0, None),
]


def summary(a: Article):
    # Score only where it is fixed (und = 0.0); the detector tests check the rest.
    return (a.id, a.language, 0.0 if a.language == "und" else None, a.language_hint_agrees)


def counters(result, namespace: str) -> dict[str, int]:
    found = result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]
    return {c.key.metric.name: c.committed for c in found}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_size", [1, 3])
def test_detect_language_labels_every_article(backend, batch_size):
    config = LanguageConfig(backend=backend, batch_size=batch_size)
    pipeline = TestPipeline()
    labelled = pipeline | beam.Create(INPUTS) | DetectLanguage(config)
    assert_that(labelled | beam.Map(summary), equal_to(EXPECTED))
    result = pipeline.run()
    result.wait_until_finish()
    assert counters(result, METRICS_NAMESPACE) == {
        "en": 1,
        "de": 1,
        "fr": 1,
        "ja": 1,
        "und": 3,
        "und.too_short": 1,
        "und.no_letters": 1,
        "und.empty": 1,
        "hint.agrees": 2,
        "hint.disagrees": 1,
        f"backend.{backend}": 7,
    }


def test_timestamps_and_windows_are_kept():
    when = {a.id: 1_700_000_000 + i for i, a in enumerate(INPUTS)}
    with TestPipeline() as pipeline:
        labelled = (
            pipeline
            | beam.Create(INPUTS)
            | beam.Map(lambda a: beam.window.TimestampedValue(a, when[a.id])).with_output_types(
                Article
            )
            | beam.WindowInto(beam.window.FixedWindows(2))
            | DetectLanguage(LanguageConfig(batch_size=4))
        )

        def stamp(a, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam):
            return (a.id, int(timestamp), int(window.start))

        assert_that(
            labelled | beam.Map(stamp),
            equal_to(
                [
                    (a.id, 1_700_000_000 + i, (1_700_000_000 + i) // 2 * 2)
                    for i, a in enumerate(INPUTS)
                ]
            ),
        )


def test_detect_language_has_no_group_by_key():
    # After an unbounded source on the local runner a GroupByKey never fires.
    pipeline = beam.Pipeline()
    _ = (
        pipeline
        | beam.Create(INPUTS)
        | "Lang" >> DetectLanguage()
        | "Keep" >> KeepLanguages(frozenset({"en"}))
    )
    proto = pipeline.to_runner_api()
    urns = {
        t.spec.urn
        for name, t in proto.components.transforms.items()
        if t.unique_name.startswith(("Lang", "Keep"))
    }
    assert "beam:transform:pardo:v1" in urns
    assert not any("group_by_key" in urn for urn in urns), urns


# --- streaming: an unbounded source that emits in waves -----------------------------------


class _Waves(RestrictionProvider):
    def __init__(self, count: int) -> None:
        self._count = count

    def initial_restriction(self, element):
        return OffsetRange(0, self._count)

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element, restriction):
        return restriction.size()


_RESTRICTION = beam.DoFn.RestrictionParam(_Waves(len(INPUTS)))
_WATERMARK = beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider())


@beam.DoFn.unbounded_per_element()
class _PollingSource(beam.DoFn):
    """Emits articles 3 at a time, like a Kafka poller, and before each new wave waits
    until the sink has written every article emitted so far. Articles after the first
    wave say in their id whether that happened ("@flowed") or the wait ran out ("@stuck"):
    a stage that held articles back across bundles (a GroupByKey, a buffer flushed only
    when full) would leave them stuck."""

    WAVE = 3
    PATIENCE = 200  # resumptions of 20 ms before giving up waiting

    def __init__(self, articles: list[Article], sink_file: str) -> None:
        self._articles = articles
        self._sink_file = sink_file
        self._waited = 0

    def process(
        self,
        element,
        tracker=_RESTRICTION,
        watermark=_WATERMARK,
    ):
        position = tracker.current_restriction().start
        path = Path(self._sink_file)
        written = len(path.read_text().splitlines()) if path.exists() else 0
        if written < position and self._waited < self.PATIENCE:
            self._waited += 1
            tracker.defer_remainder(Duration(0.02))
            return
        end = min(position + self.WAVE, len(self._articles))
        for index in range(position, end):
            if not tracker.try_claim(index):
                return
            timestamp = Timestamp(1_700_000_000 + index)
            watermark.set_watermark(timestamp)
            item = self._articles[index]
            if index >= self.WAVE:
                flowed = "flowed" if written >= position else "stuck"
                item = item.replace(id=f"{item.id}@{flowed}")
            yield beam.window.TimestampedValue(item, timestamp)
        if end < len(self._articles):
            tracker.defer_remainder(Duration(0))


class _AppendToFile(beam.DoFn):
    def __init__(self, path: str) -> None:
        self._path = path

    def process(self, article: Article, timestamp=beam.DoFn.TimestampParam):
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(f"{article.id}\t{article.language}\t{int(timestamp)}\n")


@pytest.mark.parametrize("backend", BACKENDS)
def test_streaming_articles_flow_bundle_by_bundle(tmp_path, backend):
    sink = str(tmp_path / "labelled.tsv")
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    # A large batch: only finish_bundle can flush the first wave.
    config = LanguageConfig(backend=backend, batch_size=1000)
    with beam.Pipeline(options=options) as pipeline:
        _ = (
            pipeline
            | beam.Impulse()
            | beam.ParDo(_PollingSource(INPUTS, sink))
            | DetectLanguage(config)
            | beam.ParDo(_AppendToFile(sink))
        )
    rows = sorted(line.split("\t") for line in Path(sink).read_text().splitlines())
    expected = []
    for index, (id_, language, _, _) in enumerate(EXPECTED):
        shown = id_ if index < _PollingSource.WAVE else f"{id_}@flowed"
        expected.append([shown, language, str(1_700_000_000 + index)])
    assert rows == sorted(expected)


# --- KeepLanguages -----------------------------------------------------------------------


def test_keep_languages_drops_and_counts_the_others():
    labelled = [
        article(f"a{i}", "").replace(language=lang)
        for i, lang in enumerate(["en", "de", "en", "fr", "und", "fr", "ja", "zh-cn"])
    ]
    pipeline = TestPipeline()
    kept = pipeline | beam.Create(labelled) | KeepLanguages(frozenset({"en", "de"}))
    assert_that(
        kept | beam.Map(lambda a: (a.id, a.language)),
        equal_to([("a0", "en"), ("a1", "de"), ("a2", "en")]),
    )
    result = pipeline.run()
    result.wait_until_finish()
    assert counters(result, FILTERED_NAMESPACE) == {"fr": 2, "und": 1, "ja": 1, "zh-cn": 1}


def test_keep_languages_can_keep_und():
    labelled = [article("a", "").replace(language="und"), article("b", "").replace(language="it")]
    with TestPipeline() as pipeline:
        kept = pipeline | beam.Create(labelled) | KeepLanguages(frozenset({"und"}))
        assert_that(kept | beam.Map(lambda a: a.id), equal_to(["a"]))


def test_keep_languages_rejects_bad_codes():
    with pytest.raises(ValueError, match="english"):
        KeepLanguages(frozenset({"en", "english"}))
    with pytest.raises(ValueError, match="at least one"):
        KeepLanguages(frozenset())
