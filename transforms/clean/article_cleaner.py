"""Article in, cleaned Article or DeadLetter out (pure, no Beam).

Raw text goes straight to the text rules; HTML goes through the extractor
first and then the same rules. Metadata found in the page or the text (title,
authors, publication date, canonical url) fills only what the record does not
already carry: what the producer sent wins over what we guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from newsbeam.schemas.article import Article
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.clean.config import CleanConfig
from newsbeam.transforms.clean.extraction_worker import ExtractionWorker
from newsbeam.transforms.clean.html_extractor import (
    ExtractionError,
    HtmlExtraction,
    HtmlGuards,
    extract_html,
)
from newsbeam.transforms.clean.rules import load_rules
from newsbeam.transforms.clean.text_cleaner import CleanResult, TextCleaner

log = logging.getLogger(__name__)

STAGE = "clean"


@dataclass(frozen=True, slots=True)
class CleanOutcome:
    """What happened to one article: exactly one of `article` / `dead_letter` is set."""

    article: Article | None = None
    dead_letter: DeadLetter | None = None
    result: CleanResult | None = None  # the line decisions, for `newsbeam inspect`
    extraction: HtmlExtraction | None = None


class ArticleCleaner:
    def __init__(
        self,
        text_cleaner: TextCleaner,
        extract_html: Callable[[str], HtmlExtraction],
        *,
        decisions: bool = True,
    ) -> None:
        self.text_cleaner = text_cleaner
        self.extract_html = extract_html
        # False: results carry no line decisions (cheaper; only `inspect` shows them).
        self.decisions = decisions

    def clean(self, article: Article) -> CleanOutcome:
        extraction: HtmlExtraction | None = None
        if article.html is not None and not article.text.strip():
            try:
                extraction = self.extract_html(article.html)
            except ExtractionError as exc:
                return CleanOutcome(dead_letter=_dead(article, exc.reason, str(exc)))
            text = extraction.text
            title = article.title or extraction.title
        else:
            text, title = article.text, article.title

        result = self.text_cleaner.clean(text, title=title, decisions=self.decisions)
        if not result.text.strip():
            detail = ", ".join(f"{k}={v}" for k, v in result.removed.items()) or "no text"
            return CleanOutcome(
                dead_letter=_dead(
                    article,
                    "empty_after_cleaning",
                    f"no article text left after cleaning (removed: {detail})",
                ),
                result=result,
                extraction=extraction,
            )

        removed = dict(article.removed)
        for reason, count in result.removed.items():
            removed[reason] = removed.get(reason, 0) + count
        cleaned = article.replace(
            text=result.text,
            html=None,
            removed=dict(sorted(removed.items())),
            # For HTML the page's metadata beats a guess from its text lines.
            title=article.title or (extraction.title if extraction else None) or result.title,
            authors=list(article.authors)
            or (list(extraction.authors) if extraction else [])
            or list(result.authors),
            published_at=article.published_at or (extraction.published_at if extraction else None),
            url=article.url or (extraction.url if extraction else None),
        )
        return CleanOutcome(article=cleaned, result=result, extraction=extraction)


@contextmanager
def open_article_cleaner(
    config: CleanConfig | None = None, *, decisions: bool = True
) -> Iterator[ArticleCleaner]:
    """An ArticleCleaner built from `config` (`decisions`: see ArticleCleaner); its
    extraction process (if any) is stopped on exit. For one-off use such as
    `newsbeam inspect`:

        with open_article_cleaner(CleanConfig()) as cleaner:
            outcome = cleaner.clean(article)
            print(outcome.result.format_decisions())
    """
    config = config or CleanConfig()
    text_cleaner = TextCleaner(load_rules(config.rules_path))
    guards = HtmlGuards(max_chars=config.html_max_chars)
    if not config.isolate_html:
        yield ArticleCleaner(
            text_cleaner, lambda html: extract_html(html, guards), decisions=decisions
        )
        return
    # The worker process starts on the first HTML page: text-only use never pays for it.
    worker = ExtractionWorker(
        config.html_time_limit_s, guards, max_memory_mb=config.html_worker_memory_mb
    )
    try:
        yield ArticleCleaner(text_cleaner, worker.extract, decisions=decisions)
    finally:
        worker.close()


def _dead(article: Article, reason: str, error: str) -> DeadLetter:
    log.debug("article %s dead-lettered: %s (%s)", article.id, reason, error)
    return DeadLetter(
        stage=STAGE,
        reason=reason,
        error=error,
        source=article.source,
        raw=article.raw,
        id=article.id,
    )
