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
from collections import Counter

import apache_beam as beam
from apache_beam.utils.shared import Shared
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.schemas.article import Article
from newsbeam.transforms.batching import BatchingDoFn, CounterCache
from newsbeam.transforms.classify.config import ClassifyConfig
from newsbeam.transforms.classify.model import TopicModel, load_model
from newsbeam.transforms.classify.topics import assign_topics
from newsbeam.transforms.record_guard import DEAD_LETTER, failure_dead_letter

log = logging.getLogger(__name__)

METRICS_NAMESPACE = "newsbeam.classify"


class _ClassifyBatchesFn(BatchingDoFn):
    def __init__(
        self, config: ClassifyConfig, languages: frozenset[str] | None, shared: Shared
    ) -> None:
        self._config = config
        self._languages = languages
        self._shared = shared
        self._model: TopicModel | None = None
        self.max_batch_size = config.batch_size

    def setup(self) -> None:
        path = self._config.model_path
        self._model = self._shared.acquire(lambda: load_model(path), tag=f"topic-model:{path}")
        self._counters = CounterCache(METRICS_NAMESPACE)

    def process(
        self,
        article: Article,
        timestamp=beam.DoFn.TimestampParam,
        window=beam.DoFn.WindowParam,
        pane=beam.DoFn.PaneInfoParam,
    ):
        languages = self._languages
        if languages is not None and article.language not in languages:
            self._counters.inc(f"skipped_language.{article.language}")
            yield article
            return
        yield from super().process(article, timestamp, window, pane)

    def handle_batch(self, batch: list[WindowedValue]):
        assert self._model is not None  # set in setup()
        try:
            labelled = assign_topics(
                self._model,
                [windowed.value for windowed in batch],
                threshold=self._config.threshold,
            )
        except Exception:  # find the record(s) at fault; the others are classified
            log.warning("classifying a batch failed; retrying its articles one by one")
            yield from self._one_by_one(batch)
            return
        # One counter update per label and batch, not per article.
        for top, count in Counter(top for _, top in labelled).items():
            self._counters.inc(top, count)
        for (article, _), windowed in zip(labelled, batch, strict=True):
            yield windowed.with_value(article)

    def _one_by_one(self, batch: list[WindowedValue]):
        assert self._model is not None
        for windowed in batch:
            try:
                ((article, top),) = assign_topics(
                    self._model, [windowed.value], threshold=self._config.threshold
                )
            except Exception as error:  # MemoryError, RecursionError, a bug: this one only
                self._counters.inc("dead_letter.classify_error")
                letter = failure_dead_letter(
                    "classify", windowed.value, error, reason="classify_error"
                )
                yield beam.pvalue.TaggedOutput(DEAD_LETTER, windowed.with_value(letter))
                continue
            self._counters.inc(top)
            yield windowed.with_value(article)


class ClassifyTopics(beam.PTransform):
    """PCollection[Article] -> PCollection[Article] with ``topics`` set.

    ``topics`` is [{label, score}] sorted by score: every label with a
    calibrated probability >= threshold, at least the top one; an article
    with no words gets []. Counter ``newsbeam.classify/<top label>`` (or
    ``no_text``) per article; articles in languages outside
    ``config.languages`` (by default the model's own languages) keep ``topics: []`` and count as
    ``skipped_language.<code>``. The model file is checked when the transform is
    built, so a bad ``model_path`` fails before the pipeline runs, with a
    `ModelFormatError` that says why.
    """

    def __init__(
        self, config: ClassifyConfig | None = None, *, with_dead_letters: bool = False
    ) -> None:
        super().__init__()
        self._config = config or ClassifyConfig()
        # True: {"main": articles, "dead_letter": DeadLetters (`classify_error`)}.
        self._with_dead_letters = with_dead_letters
        model = load_model(self._config.model_path)
        self._languages = self._config.languages_for(model.languages)
        log.info(
            "classify: model %s, labels %s, languages %s",
            self._config.model_path or "(default)",
            model.labels,
            ",".join(sorted(self._languages)) if self._languages is not None else "all",
        )
        licence = model.training.get("licence")
        if licence:
            log.info("classify: model licence: %s", licence)

    def expand(self, articles):
        outputs = articles | "ClassifyBatches" >> beam.ParDo(
            _ClassifyBatchesFn(self._config, self._languages, Shared())
        ).with_outputs(DEAD_LETTER, main="main")
        if self._with_dead_letters:
            return {"main": outputs.main, "dead_letter": outputs[DEAD_LETTER]}
        return outputs.main
