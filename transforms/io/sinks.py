"""Every `--sink` at once: articles and dead letters to each of them.

    from newsbeam.transforms.io.sinks import WriteRecords, parse_sink

    specs = [parse_sink(uri) for uri in args.sink]
    rejected = {"articles": records, "dead_letters": dead_letter_records} | WriteRecords(specs)
    # rejected: one PCollection[DeadLetter] per sink

- Each sink receives every article record and every dead-letter record; its
  dead letters go next to its articles (JSONL/Parquet: `dead-letter-*` files
  in the same directory; PostgreSQL: the `<table>_dead_letter` table).
- A record a sink refuses becomes a DeadLetter (stage `sink`, reason
  `<sink>_rejected`, the sink's message). Those are written, like all dead
  letters, to every sink's dead-letter output, and also returned, so the
  pipeline can count them or send them elsewhere (e.g. a dead-letter topic).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence

import apache_beam as beam
import psycopg
from apache_beam.io.filesystems import FileSystems

from newsbeam import PIPELINE_VERSION
from newsbeam.transforms.io.files.jsonl import DEAD_LETTERS_PREFIX, WriteJsonLines
from newsbeam.transforms.io.files.rolling import RollPolicy
from newsbeam.transforms.io.parquet.sink import WriteParquet
from newsbeam.transforms.io.postgres.migration import (
    IncompatibleTable,
    MigrationPlan,
    TableBusy,
    ensure_table,
    render,
)
from newsbeam.transforms.io.postgres.sink import WriteToPostgres, migrate_hint
from newsbeam.transforms.io.postgres.writer import (
    APPLICATION_NAME,
    ARTICLES,
    DEAD_LETTERS,
    PostgresSinkError,
    PostgresWriter,
    RetryPolicy,
)
from newsbeam.transforms.io.sink_specs import (
    JsonLinesSink,
    ParquetSink,
    PostgresSink,
    SinkSpec,
    parse_sink,
    parse_sink_option,
)

__all__ = [
    "JsonLinesSink",
    "ParquetSink",
    "PostgresSink",
    "SinkSpec",
    "SinkUnavailable",
    "WriteRecords",
    "check_sink",
    "migrate_sink",
    "parse_sink",
    "parse_sink_option",
]

logger = logging.getLogger(__name__)

# spec type -> (articles writer, dead-letters writer); each returns rejected DeadLetters.
# (spec, streaming, roll policy) -> PTransform returning the rejected DeadLetters.
WriterFactory = Callable[[SinkSpec, bool | None, RollPolicy | None], beam.PTransform]
_WRITERS: dict[type, tuple[WriterFactory, WriterFactory]] = {
    JsonLinesSink: (
        lambda spec, streaming, roll: WriteJsonLines(
            spec.directory, streaming=streaming, roll_policy=roll
        ),
        lambda spec, streaming, roll: WriteJsonLines(
            spec.directory,
            DEAD_LETTERS_PREFIX,
            dead_letter_rows=True,
            streaming=streaming,
            roll_policy=roll,
        ),
    ),
    ParquetSink: (
        lambda spec, streaming, roll: WriteParquet(
            spec.directory, streaming=streaming, roll_policy=roll
        ),
        lambda spec, streaming, roll: WriteParquet(
            spec.directory,
            DEAD_LETTERS_PREFIX,
            dead_letter_rows=True,
            streaming=streaming,
            roll_policy=roll,
        ),
    ),
    PostgresSink: (
        lambda spec, streaming, roll: WriteToPostgres(spec),
        lambda spec, streaming, roll: WriteToPostgres(spec, dead_letter_rows=True),
    ),
}


class WriteRecords(beam.PTransform):
    """Write article records and dead-letter records to every sink in `specs`.

    Input: a mapping with `articles` (record dicts) and optionally
    `dead_letters` (dead-letter dicts), or just the articles PCollection.
    Output: a tuple with one PCollection[DeadLetter] per sink, the records that
    sink refused (already written to every sink's dead-letter output).
    """

    def __init__(
        self,
        specs: Sequence[SinkSpec],
        *,
        streaming: bool | None = None,
        pipeline_version: str = PIPELINE_VERSION,
        roll_policy: RollPolicy | None = None,
    ) -> None:
        super().__init__()
        if not specs:
            raise ValueError("WriteRecords needs at least one sink")
        unknown = [spec for spec in specs if type(spec) not in _WRITERS]
        if unknown:
            raise ValueError(f"no writer for sink(s) {unknown!r}")
        self._specs = tuple(specs)
        self._streaming = streaming
        self._pipeline_version = pipeline_version
        self._roll_policy = roll_policy

    def expand(self, inputs: Mapping[str, beam.PCollection] | beam.PCollection):
        if isinstance(inputs, beam.PCollection):
            articles, dead_letters = inputs, None
        else:
            articles, dead_letters = inputs["articles"], inputs.get("dead_letters")
        version = self._pipeline_version
        rejected_parts = []
        dead_sources = [] if dead_letters is None else [dead_letters]
        for index, spec in enumerate(self._specs):
            write_articles, _ = _WRITERS[type(spec)]
            label = f"Articles to {spec.kind} sink {index}"
            rejected = articles | label >> write_articles(spec, self._streaming, self._roll_policy)
            rejected_parts.append(rejected)
            dead_sources.append(
                rejected
                | f"Rejected by sink {index} as records"
                >> beam.Map(lambda dead_letter: dead_letter.to_record(pipeline_version=version))
            )
        if self._streaming is not True:
            # One dead-letter writer per sink: batch file sinks number their shards
            # per writer, so two writers into one folder would replace each other.
            dead_sources = [dead_sources | "All dead letters" >> beam.Flatten()]
        # In a streaming job no Flatten: a multi-input Flatten splits the fused
        # stage, and the Kafka offsets are committed when the read's fused stage
        # finishes a bundle, so every write must happen inside it. Streaming file
        # names are unique per bundle, so several writers per folder are fine.
        for index, spec in enumerate(self._specs):
            _, write_dead_letters = _WRITERS[type(spec)]
            for number, source in enumerate(dead_sources):
                label = f"Dead letters {number} to {spec.kind} sink {index}"
                _ = source | label >> write_dead_letters(spec, self._streaming, self._roll_policy)
        return tuple(rejected_parts)


class SinkUnavailable(ValueError):
    """A sink cannot be written to; the message is meant for the user."""


def check_sink(spec: SinkSpec, *, connect_attempts: int = 2) -> None:
    """Fail fast, before the pipeline starts, if a sink cannot be written to.

    Files: the directory can be created and a file written in it. PostgreSQL:
    the server answers and both tables exist or can be created; an older newsbeam
    table is migrated here, at start, when the change is additive.
    """
    if isinstance(spec, (JsonLinesSink, ParquetSink)):
        probe = FileSystems.join(spec.directory, f".newsbeam-probe-{uuid.uuid4().hex}")
        try:
            FileSystems.create(probe).close()
            FileSystems.delete([probe])
        except Exception as error:
            raise SinkUnavailable(
                f"sink {spec.describe()}: directory is not writable: {error}"
            ) from None
        return
    retry = RetryPolicy(max_attempts=connect_attempts, initial_backoff_s=0.5)
    for table, model in ((spec.table, ARTICLES), (spec.dead_letter_table, DEAD_LETTERS)):
        writer = PostgresWriter(
            spec.conninfo, table, model, retry=retry, migrate_hint=migrate_hint(spec)
        )
        try:
            writer.open()
        except PostgresSinkError as error:
            raise SinkUnavailable(f"sink {spec.describe()}: {error}") from None
        finally:
            writer.close()


def migrate_sink(spec: PostgresSink, *, dry_run: bool) -> list[tuple[MigrationPlan, list[str]]]:
    """Bring both tables of a PostgreSQL sink to this newsbeam's record schemas.

    Each table in its own transaction under the same advisory lock the writers take.
    Unlike a start, applies non-additive plans too (retyped columns rebuilt from the
    stored record). With `dry_run`, plans and renders the SQL and changes nothing.
    Returns each table's plan with its SQL text.
    """
    try:
        conn = psycopg.connect(
            spec.conninfo, autocommit=True, connect_timeout=10, application_name=APPLICATION_NAME
        )
    except psycopg.Error as error:
        raise SinkUnavailable(f"sink {spec.describe()}: {error}") from None
    results = []
    with conn:
        for table, model in ((spec.table, ARTICLES), (spec.dead_letter_table, DEAD_LETTERS)):
            try:
                plan = ensure_table(conn, table, model, allow_migrate=True, dry_run=dry_run)
            except (IncompatibleTable, TableBusy) as error:
                raise SinkUnavailable(f"sink {spec.describe()}: {error}") from None
            except psycopg.Error as error:
                raise SinkUnavailable(f"sink {spec.describe()}: {table}: {error}") from None
            results.append((plan, render(plan, conn)))
    return results
