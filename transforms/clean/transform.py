"""CleanArticles: the Beam stage around ArticleCleaner.

PCollection[Article] -> DoOutputsTuple with `.main` (cleaned Articles) and
`.dead_letter` (DeadLetter: `timeout`, `extraction_failed`,
`empty_after_cleaning`, `clean_error`). Counters in namespace `newsbeam.clean`:
`removed.<reason>` (lines removed, per reason), `dead_letter.<reason>`,
`articles`, `html_extracted`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.schemas.article import Article
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.clean.article_cleaner import STAGE, ArticleCleaner
from newsbeam.transforms.clean.extraction_worker import ExtractionWorker
from newsbeam.transforms.clean.html_extractor import HtmlGuards, extract_html
from newsbeam.transforms.clean.rules import load_rules
from newsbeam.transforms.clean.text_cleaner import TextCleaner

log = logging.getLogger(__name__)

METRICS_NAMESPACE = "newsbeam.clean"
DEAD_LETTER_TAG = "dead_letter"


@dataclass(frozen=True)
class CleanConfig:
    # Rules file (TOML); None uses the packaged transforms/clean/rules.toml.
    rules_path: str | None = None
    # Wall-clock limit per HTML page; past it the page is dead-lettered as `timeout`.
    html_time_limit_s: float = 5.0
    # Run HTML extraction in a killable child process (required for the time
    # limit). False extracts in-process with no limit: only for trusted input.
    isolate_html: bool = True
    # Pages longer than this (after dropping scripts/styles) are cut before parsing.
    html_max_chars: int = 1_000_000
    # Address-space cap of the extraction process, MiB (None: no cap).
    html_worker_memory_mb: int | None = 2048


class _CleanFn(beam.DoFn):
    def __init__(self, config: CleanConfig) -> None:
        self._config = config
        self._cleaner: ArticleCleaner | None = None
        self._worker: ExtractionWorker | None = None
        self._articles = Metrics.counter(METRICS_NAMESPACE, "articles")
        self._html = Metrics.counter(METRICS_NAMESPACE, "html_extracted")

    def setup(self) -> None:
        config = self._config
        text_cleaner = TextCleaner(load_rules(config.rules_path))
        guards = HtmlGuards(max_chars=config.html_max_chars)
        if config.isolate_html:
            self._worker = ExtractionWorker(
                config.html_time_limit_s, guards, max_memory_mb=config.html_worker_memory_mb
            )
            # Started lazily on the first HTML page: text-only runs never pay for it.
            extract = self._worker.extract
        else:

            def extract(html: str):
                return extract_html(html, guards)

        self._cleaner = ArticleCleaner(text_cleaner, extract)

    def teardown(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

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
            Metrics.counter(METRICS_NAMESPACE, "dead_letter.clean_error").inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, outcome_dead)
            return
        if outcome.result is not None:
            for reason, count in outcome.result.removed.items():
                Metrics.counter(METRICS_NAMESPACE, f"removed.{reason}").inc(count)
        if outcome.dead_letter is not None:
            reason = outcome.dead_letter.reason
            Metrics.counter(METRICS_NAMESPACE, f"dead_letter.{reason}").inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, outcome.dead_letter)
            return
        if is_html:
            self._html.inc()
        self._articles.inc()
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
