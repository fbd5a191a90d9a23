"""PostgreSQL output: articles upserted on `id`, dead letters kept once each.

A thin Beam layer over postgres_writer.PostgresWriter: the connection is made
(and the table created) in DoFn.setup(), records are written in batches of
the sink's `batch_size`, and the last batch is flushed in finish_bundle —
before a streaming source commits its offsets, which makes delivery at least
once, and the upsert makes redelivery harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.transforms.batching import BatchingDoFn
from newsbeam.transforms.io.postgres.writer import (
    ARTICLES,
    DEAD_LETTERS,
    PostgresWriter,
    RetryPolicy,
)
from newsbeam.transforms.io.rejections import rejected_dead_letter
from newsbeam.transforms.io.sink_specs import PostgresSink

logger = logging.getLogger(__name__)

SINK_NAMESPACE = "newsbeam.sink"
SINK_NAME = "postgresql"
DEAD_LETTER = "dead_letter"


def migrate_hint(sink: PostgresSink) -> str:
    """The command that migrates this sink's tables, for messages."""
    return f"newsbeam migrate --sink '{sink.masked_uri()}'"


class WriteToPostgres(beam.PTransform):
    """Upsert article dicts (or store dead-letter dicts) into the sink's tables.

    Returns DeadLetters for the articles the database refused, carrying its
    message. Dead-letter rows are never returned: a refused one is stored in
    base64 form, and one refused even so is logged and counted.
    """

    def __init__(
        self,
        sink: PostgresSink,
        *,
        dead_letter_rows: bool = False,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        self._sink = sink
        self._dead_letter_rows = dead_letter_rows
        self._retry = retry or RetryPolicy()

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        written = records | "Upsert" >> beam.ParDo(
            _UpsertFn(self._sink, self._dead_letter_rows, self._retry)
        ).with_outputs(DEAD_LETTER, main="main")
        return written[DEAD_LETTER]


class _UpsertFn(BatchingDoFn):
    def __init__(self, sink: PostgresSink, dead_letter_rows: bool, retry: RetryPolicy) -> None:
        self._sink = sink
        self._dead_letter_rows = dead_letter_rows
        self._retry = retry
        self.max_batch_size = sink.batch_size
        what = "dead_letter" if dead_letter_rows else "articles"
        counter = beam.metrics.Metrics.counter
        self._written = counter(SINK_NAMESPACE, f"{SINK_NAME}_{what}_written")
        self._rejected = counter(SINK_NAMESPACE, f"{SINK_NAME}_rejected")
        self._unwritable = counter(SINK_NAMESPACE, f"{SINK_NAME}_dead_letters_unwritable")
        self._retries = counter(SINK_NAMESPACE, f"{SINK_NAME}_retries")

    def setup(self) -> None:
        if self._dead_letter_rows:
            table, model = self._sink.dead_letter_table, DEAD_LETTERS
        else:
            table, model = self._sink.table, ARTICLES
        self._writer = PostgresWriter(
            self._sink.conninfo,
            table,
            model,
            retry=self._retry,
            migrate_hint=migrate_hint(self._sink),
        )
        self._writer.open()

    def teardown(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.close()

    def handle_batch(self, batch: list[WindowedValue]) -> Iterator[Any]:
        retries_before = self._writer.retries
        rejections = self._writer.write([windowed.value for windowed in batch])
        self._retries.inc(self._writer.retries - retries_before)
        self._written.inc(len(batch) - len(rejections))
        if self._dead_letter_rows:
            self._unwritable.inc(len(rejections))
            return
        for rejection in rejections:
            windowed = batch[rejection.index]
            self._rejected.inc()
            dead_letter = rejected_dead_letter(
                windowed.value, sink=SINK_NAME, error=rejection.error
            )
            yield pvalue.TaggedOutput(DEAD_LETTER, windowed.with_value(dead_letter))
