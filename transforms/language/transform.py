"""Beam stages: `DetectLanguage` labels articles, `KeepLanguages` drops the unwanted ones.

Batching for langdetect-rs happens inside the DoFn (buffer in `process`, flush when the
batch is full and in `finish_bundle`), not with a GroupByKey: after an unbounded source on
the local runner a GroupByKey never fires, and a bundle-local buffer needs no keys, state or
timers. Each article leaves with the timestamp, window and pane it came in with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.schemas.article import Article
from newsbeam.transforms.batching import BatchingDoFn, CounterCache
from newsbeam.transforms.language.codes import supported_languages
from newsbeam.transforms.language.detector import (
    LanguageConfig,
    LanguageDetector,
    LanguageResult,
)
from newsbeam.transforms.language.labeling import label_articles, with_language

logger = logging.getLogger(__name__)

METRICS_NAMESPACE = "newsbeam.language"
FILTERED_NAMESPACE = "newsbeam.filtered_language"
# `und` reason when detection raised for an article (a bug, not bad input): the article
# goes on as `und`, the error is logged with its traceback and counted.
UND_ERROR = "error"


class _DetectLanguageFn(BatchingDoFn):
    def __init__(self, config: LanguageConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._detector = LanguageDetector(self._config)
        self.max_batch_size = self._config.batch_size if self._detector.prefers_batches else 1
        self._counters = CounterCache(METRICS_NAMESPACE)

    def handle_batch(self, batch: list[WindowedValue]) -> Iterator[WindowedValue]:
        labelled = self._label([windowed.value for windowed in batch])
        self._counters.inc(f"backend.{self._detector.backend_name}", len(batch))
        for (article, result), windowed in zip(labelled, batch, strict=True):
            self._count(article, result)
            yield windowed.with_value(article)

    def _label(self, articles: list[Article]) -> list[tuple[Article, LanguageResult]]:
        try:
            return label_articles(self._detector, articles)
        except Exception:
            logger.exception("language detection failed for a batch; retrying one by one")
        out = []
        for article in articles:
            try:
                out.extend(label_articles(self._detector, [article]))
            except Exception:
                logger.exception("language detection failed for article %s", article.id)
                result = LanguageResult.undetermined(UND_ERROR)
                out.append((with_language(article, result), result))
        return out

    def _count(self, article: Article, result: LanguageResult) -> None:
        self._counters.inc(result.language)
        if result.und_reason is not None:
            self._counters.inc(f"und.{result.und_reason}")
        if article.language_hint is not None:
            self._counters.inc("hint.agrees" if article.language_hint_agrees else "hint.disagrees")


class DetectLanguage(beam.PTransform):
    """PCollection[Article] -> PCollection[Article] with `language`, `language_score`,
    `language_alternatives` and the hint's agreement set. Never drops an article.

    Counters (namespace `newsbeam.language`): one per label (`en`, `und`, ...), one per
    `und` reason (`und.too_short`, ...), `hint.agrees` / `hint.disagrees`, and
    `backend.<name>` with the number of articles each engine labelled.
    """

    def __init__(self, config: LanguageConfig | None = None) -> None:
        super().__init__()
        self._config = config or LanguageConfig()

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "Detect" >> beam.ParDo(_DetectLanguageFn(self._config)).with_input_types(
            Article
        ).with_output_types(Article)


class _KeepLanguagesFn(beam.DoFn):
    def __init__(self, languages: frozenset[str]) -> None:
        self._languages = languages

    def setup(self) -> None:
        self._filtered = CounterCache(FILTERED_NAMESPACE)

    def process(self, article: Article) -> Iterator[Article]:
        if article.language in self._languages:
            yield article
        else:
            self._filtered.inc(article.language)


class KeepLanguages(beam.PTransform):
    """Keeps articles labelled with one of `languages`; counts every other one under
    `newsbeam.filtered_language` / `<label>`. Filtered articles are not errors and not
    dead letters. Put 'und' in `languages` to keep undetermined articles.
    """

    def __init__(self, languages: frozenset[str]) -> None:
        super().__init__()
        languages = frozenset(languages)
        if not languages:
            raise ValueError("KeepLanguages needs at least one language")
        unknown = languages - supported_languages()
        if unknown:
            raise ValueError(f"unknown language code(s): {', '.join(sorted(unknown))}")
        self._languages = languages

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "Keep" >> beam.ParDo(_KeepLanguagesFn(self._languages)).with_input_types(
            Article
        ).with_output_types(Article)
