"""ReadArticleFiles: file paths to Articles, with read/parse dead letters."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Literal

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics

from newsbeam.schemas.article import Article, Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.files.limits import ReadLimits
from newsbeam.transforms.io.files.reading import (
    LineRange,
    file_uri,
    read_line_range,
    read_payloads,
    split_json_lines,
)
from newsbeam.transforms.parse import parse_payload

logger = logging.getLogger(__name__)

DEAD_LETTER = "dead_letter"
# Beam >= 2.78 reads the tagged output's type from this hint; a bare TaggedOutput
# would leak into the main output's element type.
DeadLetterOutput = pvalue.TaggedOutput[Literal["dead_letter"], DeadLetter]


class _ReadAndParseFileFn(beam.DoFn):
    def __init__(self, ingested_at: str, limits: ReadLimits) -> None:
        self._ingested_at = ingested_at
        self._limits = limits
        self._files = Metrics.counter("newsbeam.read", "files")
        self._parsed = Metrics.counter("newsbeam.parse", "articles")

    def process(self, element: str | tuple[str, LineRange]) -> Iterator[Article | DeadLetterOutput]:
        # A file, or one range of a large JSON Lines file (counted as a file once).
        if isinstance(element, str):
            path, items = element, read_payloads(element, limits=self._limits)
        else:
            path, line_range = element
            items = read_line_range(path, line_range, limits=self._limits)
        if isinstance(element, str) or element[1].start == 0:
            self._files.inc()
        try:
            for item in items:
                if isinstance(item, DeadLetter):
                    yield self._dead(item)
                    continue
                try:
                    parsed = parse_payload(item, ingested_at=self._ingested_at)
                except Exception as exc:  # this record only: the file's other lines go on
                    logger.exception("unexpected error parsing a record of %s", path)
                    parsed = DeadLetter(
                        stage="parse",
                        reason="internal_error",
                        error=f"{type(exc).__name__}: {exc}"[:500],
                        source=item.source,
                        raw=item.raw,
                    )
                if isinstance(parsed, DeadLetter):
                    yield self._dead(parsed)
                else:
                    self._parsed.inc()
                    yield parsed
        except Exception as exc:  # a bug must not stop a run that has good records
            logger.exception("unexpected error reading %s", path)
            yield self._dead(
                DeadLetter(
                    stage="read",
                    reason="internal_error",
                    error=f"{type(exc).__name__}: {exc}",
                    source=Source(kind="file", uri=file_uri(path)),
                    raw="",
                )
            )

    @staticmethod
    def _dead(letter: DeadLetter) -> DeadLetterOutput:
        Metrics.counter(f"newsbeam.{letter.stage}", f"dead_letter.{letter.reason}").inc()
        return pvalue.TaggedOutput(DEAD_LETTER, letter)


class ReadArticleFiles(beam.PTransform):
    """Reads and parses article files; `.main` Articles, `.dead_letter` DeadLetters."""

    def __init__(
        self,
        paths: list[str],
        *,
        ingested_at: str,
        limits: ReadLimits | None = None,
        split_bytes: int | None = None,
    ) -> None:
        """`split_bytes`: read local JSON Lines files larger than this as line-aligned
        ranges of about this size (`split_json_lines`), so that several workers share
        one large file; None reads every file whole."""
        super().__init__()
        self._paths = list(paths)
        self._ingested_at = ingested_at
        self._limits = limits or ReadLimits()
        self._split_bytes = split_bytes

    def _elements(self) -> list[str | tuple[str, LineRange]]:
        if self._split_bytes is None:
            return self._paths
        elements: list[str | tuple[str, LineRange]] = []
        for path in self._paths:
            ranges = split_json_lines(path, self._split_bytes, self._limits)
            elements.extend([path] if ranges is None else [(path, r) for r in ranges])
        return elements

    def expand(self, pbegin: beam.pvalue.PBegin) -> pvalue.DoOutputsTuple:
        return (
            pbegin
            | "ListFiles" >> beam.Create(self._elements())
            # Spread files over workers before the expensive per-file work.
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadAndParse"
            >> beam.ParDo(_ReadAndParseFileFn(self._ingested_at, self._limits)).with_outputs(
                DEAD_LETTER, main="main"
            )
        )
