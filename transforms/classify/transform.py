"""`ClassifyTopics`: the Beam stage around the pure topic model.

In the spirit of Beam's RunInference: the model is loaded once per worker
process (DoFn.setup() through a `Shared` handle, so every DoFn instance in a
process uses one copy) and articles are classified in batches. Batching is
done inside the DoFn, not with GroupByKey or BatchElements: it works in
streaming on the local runner, flushes at the end of every bundle, and gives
each article back its own timestamp and window (BatchElements would stamp
the whole batch with the end of the window).
"""

from __future__ import annotations

import logging
from typing import Any

import apache_beam as beam
from apache_beam.utils.shared import Shared
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.schemas.article import Article
from newsbeam.transforms.classify.config import ClassifyConfig
from newsbeam.transforms.classify.model import TopicModel, load_model
from newsbeam.transforms.classify.topics import assign_topics

log = logging.getLogger(__name__)

METRICS_NAMESPACE = "newsbeam.classify"


class _ClassifyBatchesFn(beam.DoFn):
    def __init__(self, config: ClassifyConfig, shared: Shared) -> None:
        self._config = config
        self._shared = shared
        self._model: TopicModel | None = None
        self._buffer: list[tuple[Article, Any, Any]] = []
        self._counters: dict[str, Any] = {}

    def setup(self) -> None:
        path = self._config.model_path
        self._model = self._shared.acquire(lambda: load_model(path), tag=f"topic-model:{path}")

    def start_bundle(self) -> None:
        self._buffer = []

    def process(
        self,
        article: Article,
        timestamp: Any = beam.DoFn.TimestampParam,
        window: Any = beam.DoFn.WindowParam,
    ):
        languages = self._config.languages
        if languages is not None and article.language not in languages:
            self._count(f"skipped_language.{article.language}")
            yield article
            return
        self._buffer.append((article, timestamp, window))
        if len(self._buffer) >= self._config.batch_size:
            yield from self._flush()

    def finish_bundle(self):
        yield from self._flush()

    def _flush(self):
        if not self._buffer:
            return
        buffered, self._buffer = self._buffer, []
        assert self._model is not None  # set in setup()
        labelled = assign_topics(
            self._model, [article for article, _, _ in buffered], threshold=self._config.threshold
        )
        for (article, top), (_, timestamp, window) in zip(labelled, buffered, strict=True):
            self._count(top)
            yield WindowedValue(article, timestamp, (window,))

    def _count(self, name: str) -> None:
        counter = self._counters.get(name)
        if counter is None:
            counter = self._counters[name] = beam.metrics.Metrics.counter(METRICS_NAMESPACE, name)
        counter.inc()


class ClassifyTopics(beam.PTransform):
    """PCollection[Article] -> PCollection[Article] with ``topics`` set.

    ``topics`` is [{label, score}] sorted by score: every label with a
    calibrated probability >= threshold, at least the top one; an article
    with no words gets []. Counter ``newsbeam.classify/<top label>`` (or
    ``no_text``) per article; articles in languages outside
    ``config.languages`` keep ``topics: []`` and count as
    ``skipped_language.<code>``. The model file is checked when the transform is
    built, so a bad ``model_path`` fails before the pipeline runs, with a
    `ModelFormatError` that says why.
    """

    def __init__(self, config: ClassifyConfig | None = None) -> None:
        super().__init__()
        self._config = config or ClassifyConfig()
        model = load_model(self._config.model_path)
        log.info(
            "classify: model %s, labels %s", self._config.model_path or "(default)", model.labels
        )

    def expand(self, articles):
        return articles | "ClassifyBatches" >> beam.ParDo(
            _ClassifyBatchesFn(self._config, Shared())
        )
