"""CleanArticles: the Beam stage around ArticleCleaner.

Wiring: `outputs = articles | CleanArticles(CleanConfig())`, then
`outputs.main` and `outputs.dead_letter`.

PCollection[Article] -> DoOutputsTuple with `.main` (cleaned Articles) and
`.dead_letter` (DeadLetter: `timeout`, `extraction_failed`,
`empty_after_cleaning`, `clean_error`). Counters in namespace `newsbeam.clean`:
`removed.<reason>` (lines removed, per reason), `dead_letter.<reason>`,
`articles`, `html_extracted`.
"""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import AbstractContextManager

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.schemas.article import Article
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.clean.article_cleaner import STAGE, ArticleCleaner, open_article_cleaner
from newsbeam.transforms.clean.config import CleanConfig

log = logging.getLogger(__name__)

METRICS_NAMESPACE = "newsbeam.clean"
DEAD_LETTER_TAG = "dead_letter"


class _CleanFn(beam.DoFn):
    def __init__(self, config: CleanConfig) -> None:
        self._config = config
        self._cleaner: ArticleCleaner | None = None
        self._context: AbstractContextManager[ArticleCleaner] | None = None
        # Counts are added up per bundle and given to Beam's counters once per
        # name in finish_bundle: a counter update per article and reason cost
        # more than some of the cleaning. (A failed bundle's counts are
        # discarded by Beam either way.)
        self._counters: dict[str, Metrics.DelegatingCounter] = {}
        self._pending: Counter[str] = Counter()

    def setup(self) -> None:
        # The line decisions are for `newsbeam inspect`; the stage needs none.
        self._context = open_article_cleaner(self._config, decisions=False)
        self._cleaner = self._context.__enter__()

    def start_bundle(self) -> None:
        self._pending.clear()

    def finish_bundle(self) -> None:
        for name, count in self._pending.items():
            counter = self._counters.get(name)
            if counter is None:
                counter = self._counters[name] = Metrics.counter(METRICS_NAMESPACE, name)
            counter.inc(count)
        self._pending.clear()

    def teardown(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None
            self._cleaner = None

    def process(self, article: Article):
        assert self._cleaner is not None, "setup() was not called"
        is_html = article.html is not None and not article.text.strip()
        try:
            outcome = self._cleaner.clean(article)
        except Exception as exc:  # bad input never raises out of the DoFn
            log.exception("cleaning article %s failed", article.id)
            outcome_dead = DeadLetter(
                stage=STAGE,
                reason="clean_error",
                error=f"{type(exc).__name__}: {exc}",
                source=article.source,
                raw=article.raw,
                id=article.id,
            )
            self._pending["dead_letter.clean_error"] += 1
            yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, outcome_dead)
            return
        pending = self._pending
        if outcome.result is not None:
            for reason, count in outcome.result.removed.items():
                pending["removed." + reason] += count
        if outcome.dead_letter is not None:
            pending["dead_letter." + outcome.dead_letter.reason] += 1
            yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, outcome.dead_letter)
            return
        if is_html:
            pending["html_extracted"] += 1
        pending["articles"] += 1
        yield outcome.article


class CleanArticles(beam.PTransform):
    """Boilerplate removal and metadata extraction for raw text and HTML articles."""

    def __init__(self, config: CleanConfig | None = None) -> None:
        super().__init__()
        self._config = config or CleanConfig()

    def expand(self, articles: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return articles | "Clean" >> beam.ParDo(_CleanFn(self._config)).with_outputs(
            DEAD_LETTER_TAG, main="main"
        )
