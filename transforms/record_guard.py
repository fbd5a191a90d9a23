"""The per-record guard: a record that makes a stage fail becomes that stage's dead letter.

Any failure counts -- a bug, `MemoryError`, `RecursionError`, a parser giving up --
since each stage works on one bounded article at a time (the read caps its size),
one record's failure says nothing about the next one, and the run goes on. The
reason code is `<stage>_error` (`dedup_error`, `classify_error`), like the clean
stage's `clean_error`.
"""

from __future__ import annotations

import logging
from typing import Literal

from apache_beam import pvalue

from newsbeam.schemas.article import Article
from newsbeam.schemas.dead_letter import DeadLetter

logger = logging.getLogger(__name__)

DEAD_LETTER = "dead_letter"
DeadLetterOutput = pvalue.TaggedOutput[Literal["dead_letter"], DeadLetter]
# How much of an exception's message goes into the dead letter (a RecursionError or
# a parser's message can quote a large part of its input).
MAX_ERROR_CHARS = 500


def failure_dead_letter(
    stage: str, article: Article, error: BaseException, *, reason: str
) -> DeadLetter:
    logger.warning("%s failed for article %s: %s", stage, article.id, type(error).__name__)
    logger.debug("%s failure", stage, exc_info=error)
    message = f"{type(error).__name__}: {error}"
    return DeadLetter(
        stage=stage,
        reason=reason,
        error=message[:MAX_ERROR_CHARS],
        source=article.source,
        raw=article.raw,
        id=article.id,
    )
