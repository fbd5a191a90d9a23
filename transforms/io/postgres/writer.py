"""Upserting records into PostgreSQL with psycopg 3 (no Beam here).

- The table is created if missing: typed columns for the fields people filter
  on, `jsonb` for the nested ones, and the full record in `record jsonb`; an
  older newsbeam table is migrated first (migration.py).
- Rows are written in batches (`executemany`, which psycopg pipelines) with
  `INSERT ... ON CONFLICT (id) DO UPDATE`, so a re-run or a redelivered record
  replaces its row instead of adding one. Dead letters get a content key and
  `DO NOTHING`, for the same reason.
- A lost connection (or a deadlock / serialization failure) is retried with
  exponential backoff on a fresh connection; the batch is re-sent whole, which
  the upsert makes harmless.
- A row the database refuses (bad timestamp, NUL byte, value out of range,
  constraint) does not fail the batch: the batch is re-run row by row inside
  savepoints and the refused rows come back as `Rejection`s with the
  database's message. Anything else (missing privileges, a foreign table
  with other columns) raises `PostgresSinkError`: it is not a per-row problem.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from newsbeam.schemas.versions import ARTICLE, DEAD_LETTER, Version
from newsbeam.transforms.io.postgres.migration import (
    IncompatibleTable,
    MigrationPlan,
    TableBusy,
    ensure_table,
    table_identifier,
)
from newsbeam.transforms.io.rejections import Rejection, armored_dead_letter, record_payload

logger = logging.getLogger(__name__)

APPLICATION_NAME = "newsbeam"


class PostgresSinkError(RuntimeError):
    """The sink cannot work at all (not a problem of one row)."""


class PostgresUnavailable(PostgresSinkError):
    """The database stayed unreachable through every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter (so many workers do not retry in step)."""

    max_attempts: int = 6
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Column:
    """One column: its type, and where its value is in the record.

    `path` (e.g. ("duplicate", "status")) gives both the value written and, for a
    column added to an existing table, the expression that fills it from the stored
    `record` jsonb; `value` is for what is not at a path (a computed key, the record).
    """

    name: str
    sql_type: str
    value: Callable[[dict[str, Any]], Any] | None = None
    path: tuple[str, ...] = ()

    def extract(self, record: dict[str, Any]) -> Any:
        if self.value is not None:
            return self.value(record)
        value: Any = record
        for key in self.path:
            value = value.get(key) if isinstance(value, dict) else None
        return _json(value) if self.sql_type.startswith("jsonb") else value


def _at(name: str, sql_type: str, *path: str) -> Column:
    """A column holding the record's value at `path` (default: the field `name`)."""
    return Column(name, sql_type, path=path or (name,))


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value, dumps=orjson.dumps)


@dataclass(frozen=True)
class TableModel:
    """How one kind of record (at one schema version) maps onto a table.

    A column added here for a new record field is added to existing tables on start
    (migration.py); give it a `path` so old rows are filled from their stored record.
    """

    kind: str  # "article" | "dead_letter" (schemas.versions)
    version: Version  # the record schema version the table is stamped with
    key: str
    columns: tuple[Column, ...]
    # Dead letters are append-only facts: keep the first copy of each.
    on_conflict_update: bool
    # A refused dead letter is retried in base64 form rather than lost.
    armor_rejected: bool
    # The column holding the whole record (new columns are filled from it), if any.
    record_column: str | None = None

    def evolved(self, version: Version, *columns: Column) -> TableModel:
        """This model at a later version with more columns (how a release registers them)."""
        return replace(self, version=version, columns=(*self.columns, *columns))

    def create_statements(self, table: sql.Identifier) -> list[sql.Composable]:
        definitions = [
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type))
            for c in self.columns
        ]
        definitions.append(sql.SQL("written_at timestamptz NOT NULL DEFAULT now()"))
        return [
            sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
                table, sql.SQL(", ").join(definitions)
            )
        ]

    def insert_statement(self, table: sql.Identifier) -> sql.Composable:
        names = [sql.Identifier(c.name) for c in self.columns]
        insert = sql.SQL("INSERT INTO {} AS t ({}) VALUES ({}) ON CONFLICT ({}) ").format(
            table,
            sql.SQL(", ").join(names),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
            sql.Identifier(self.key),
        )
        if not self.on_conflict_update:
            return insert + sql.SQL("DO NOTHING")
        updates = [
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c.name))
            for c in self.columns
            if c.name != self.key
        ]
        updates.append(sql.SQL("written_at = now()"))
        # An identical redelivery leaves the row (and its written_at) alone.
        update = sql.SQL("DO UPDATE SET {} WHERE t.record IS DISTINCT FROM EXCLUDED.record")
        return insert + update.format(sql.SQL(", ").join(updates))

    def params(self, record: dict[str, Any]) -> tuple[Any, ...]:
        if not isinstance(record, dict):
            raise TypeError(f"expected a record dict, got {type(record).__name__}")
        return tuple(column.extract(record) for column in self.columns)

    @property
    def key_index(self) -> int:
        return [c.name for c in self.columns].index(self.key)


ARTICLES = TableModel(
    kind=ARTICLE.name,
    version=ARTICLE.current,
    key="id",
    on_conflict_update=True,
    armor_rejected=False,
    record_column="record",
    columns=(
        _at("id", "text PRIMARY KEY"),
        _at("url", "text"),
        _at("title", "text"),
        _at("language", "text"),
        _at("language_score", "double precision"),
        _at("published_at", "timestamptz"),
        _at("word_count", "integer"),
        _at("content_hash", "text"),
        _at("duplicate_status", "text", "duplicate", "status"),
        _at("duplicate_of", "text", "duplicate", "of"),
        _at("duplicate_similarity", "double precision", "duplicate", "similarity"),
        _at("source_kind", "text", "source", "kind"),
        _at("source_uri", "text", "source", "uri"),
        _at("ingested_at", "timestamptz"),
        _at("pipeline_version", "text"),
        _at("schema_version", "integer"),
        _at("source", "jsonb"),
        _at("authors", "jsonb"),
        _at("removed", "jsonb"),
        _at("duplicate", "jsonb"),
        _at("topics", "jsonb"),
        Column("record", "jsonb NOT NULL", _json),
        # Added in article 1.1 (the `contained` relation); filled from `record` on migration.
        _at("duplicate_containment", "double precision", "duplicate", "containment"),
        # Added in article 1.2 (the story stage); null in rows of older records.
        _at("story_id", "text", "story", "id"),
        _at("story_similarity", "double precision", "story", "similarity"),
    ),
)


def dead_letter_key(record: dict[str, Any]) -> str:
    """Same dead letter (stage, reason, article, source, payload) -> same key.

    `failed_at` and `error` are left out: a re-run fails the same input again
    at another time, perhaps with a differently worded message.
    """
    identity = [record.get(name) for name in ("stage", "reason", "id", "source", "raw")]
    return hashlib.sha256(record_payload(identity).encode("utf-8", "surrogatepass")).hexdigest()


DEAD_LETTERS = TableModel(
    kind=DEAD_LETTER.name,
    version=DEAD_LETTER.current,
    key="key",
    on_conflict_update=False,
    armor_rejected=True,
    columns=(
        Column("key", "text PRIMARY KEY", dead_letter_key),
        _at("stage", "text NOT NULL"),
        _at("reason", "text NOT NULL"),
        _at("error", "text"),
        _at("article_id", "text", "id"),
        _at("source", "jsonb"),
        _at("raw", "text"),
        _at("raw_truncated", "boolean"),
        _at("raw_length", "bigint"),
        _at("failed_at", "timestamptz"),
        _at("pipeline_version", "text"),
        # Added in dead_letter 1.1; rows of older tables keep null (no stored record).
        _at("schema_version", "integer"),
    ),
)


# SQLSTATE classes of errors that concern one row's values.
_ROW_ERROR_CLASSES = ("22", "23", "54")
# SQLSTATEs worth retrying on a live connection.
_TRANSIENT_STATES = ("40001", "40P01", "53300", "57P01", "57P02", "57P03")


def _is_row_error(error: BaseException) -> bool:
    if isinstance(error, UnicodeEncodeError):
        return True  # psycopg cannot encode the value (lone surrogate)
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:
            # Raised by psycopg itself before sending, e.g. NUL in a text value.
            return isinstance(error, psycopg.DataError)
        return state[:2] in _ROW_ERROR_CLASSES
    return False


# SQLSTATE classes that no retry can fix: authentication, unknown database,
# syntax or privileges.
_PERMANENT_CLASSES = ("28", "3D", "42")


# A server that answers a connection attempt with FATAL has refused us for
# good (unknown database or role, authentication) unless it says it is busy.
_BUSY_SERVER = ("starting up", "shutting down", "too many", "recovery", "connection slots")


def _refused_at_connect(error: psycopg.Error) -> bool:
    # libpq gives no SQLSTATE for connection failures, only the server's text.
    message = str(error)
    return "FATAL:" in message and not any(phrase in message for phrase in _BUSY_SERVER)


def _is_transient(error: BaseException, conn: psycopg.Connection | None) -> bool:
    if not isinstance(error, psycopg.Error):
        return False
    state = error.sqlstate
    if state is not None and state[:2] in _PERMANENT_CLASSES:
        return False
    if conn is None and _refused_at_connect(error):
        return False
    if conn is None or conn.closed or conn.broken:
        return True
    if state is None:
        return isinstance(error, psycopg.OperationalError)
    return state.startswith("08") or state in _TRANSIENT_STATES


def describe_error(error: BaseException) -> str:
    """The database's own message (primary + detail), else the exception text."""
    if isinstance(error, psycopg.Error) and error.diag.message_primary:
        text = error.diag.message_primary
        if error.diag.message_detail:
            text += f" ({error.diag.message_detail})"
        state = f" [{error.sqlstate}]" if error.sqlstate else ""
        return f"PostgreSQL refused the row{state}: {text}"
    return f"PostgreSQL refused the row: {error}"


class PostgresWriter:
    """One connection writing one kind of record into one table."""

    def __init__(
        self,
        conninfo: str,
        table_name: str,
        model: TableModel,
        *,
        retry: RetryPolicy | None = None,
        connect_timeout_s: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        migrate_hint: str = "",
    ) -> None:
        self._conninfo = conninfo
        self.table_name = table_name
        self._table = table_identifier(table_name)
        self._model = model
        self._retry = retry or RetryPolicy()
        self._connect_timeout_s = connect_timeout_s
        self._sleep = sleep
        self._conn: psycopg.Connection | None = None
        self._table_ready = False
        # `newsbeam migrate --sink URI`, named when a table needs more than an additive step.
        self._migrate_hint = migrate_hint
        # What opening did to the table (created, migrated, nothing), for logs and tests.
        self.migration: MigrationPlan | None = None
        self._insert = model.insert_statement(self._table)
        # Counts for the Beam layer's metrics.
        self.reconnects = 0
        self.retries = 0

    # -- lifecycle -------------------------------------------------------
    def open(self) -> None:
        """Connect and create the table if missing (retried like writes)."""
        self._with_retry(lambda conn: None)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- writing ---------------------------------------------------------
    def write(self, records: Sequence[dict[str, Any]]) -> list[Rejection]:
        """Upsert a batch; return the rows the database refused."""
        rejections: list[Rejection] = []
        # Later copies of a key win within a batch (one statement per key).
        latest: dict[Any, tuple[int, tuple[Any, ...]]] = {}
        key_index = self._model.key_index
        for index, record in enumerate(records):
            try:
                params = self._model.params(record)
                key = params[key_index]
                # Rows without a key are each sent, for the database to refuse.
                latest[("row", index) if key is None else key] = (index, params)
            except Exception as error:  # any bad value is that row's problem, not the batch's
                rejections.append(Rejection(index, f"cannot be converted for PostgreSQL: {error}"))
        rows = sorted(latest.values())
        if rows:
            refused = self._with_retry(lambda conn: self._write_rows(conn, rows))
            if refused and self._model.armor_rejected:
                refused = self._write_armored(records, refused)
            rejections.extend(refused)
        rejections.sort(key=lambda rejection: rejection.index)
        return rejections

    def _write_rows(
        self, conn: psycopg.Connection, rows: list[tuple[int, tuple[Any, ...]]]
    ) -> list[Rejection]:
        try:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(self._insert, [params for _, params in rows])
            return []
        except (psycopg.Error, UnicodeEncodeError) as error:
            if _is_transient(error, conn) or not _is_row_error(error):
                raise
            logger.info("batch of %d refused (%s); retrying row by row", len(rows), error)
        # Find the culprits: each row in its own savepoint, one transaction.
        rejections = []
        with conn.transaction():
            for index, params in rows:
                try:
                    with conn.transaction():
                        conn.execute(self._insert, params)
                except (psycopg.Error, UnicodeEncodeError) as error:
                    if _is_transient(error, conn) or not _is_row_error(error):
                        raise
                    rejections.append(Rejection(index, describe_error(error)))
        return rejections

    def _write_armored(
        self, records: Sequence[dict[str, Any]], refused: list[Rejection]
    ) -> list[Rejection]:
        rows = []
        for rejection in refused:
            armored = armored_dead_letter(records[rejection.index])
            rows.append((rejection.index, self._model.params(armored)))
        still_refused = self._with_retry(lambda conn: self._write_rows(conn, rows))
        for rejection in still_refused:
            logger.error(
                "dead letter could not be stored in %s even in base64 form: %s; record: %s",
                self.table_name,
                rejection.error,
                record_payload(records[rejection.index]),
            )
        return still_refused

    # -- connection handling -------------------------------------------
    def _with_retry(self, work: Callable[[psycopg.Connection], Any]) -> Any:
        attempt = 0
        while True:
            attempt += 1
            conn = self._conn
            try:
                conn = self._connection()
                return work(conn)
            except (psycopg.Error, UnicodeEncodeError) as error:
                if not _is_transient(error, conn):
                    if isinstance(error, psycopg.Error) and not _is_row_error(error):
                        raise PostgresSinkError(
                            f"PostgreSQL sink cannot write to {self.table_name}: {error}"
                        ) from error
                    raise
                if attempt >= self._retry.max_attempts:
                    raise PostgresUnavailable(
                        f"PostgreSQL unreachable after {attempt} attempts "
                        f"(table {self.table_name}): {error}"
                    ) from error
                delay = self._retry.delay(attempt)
                logger.warning(
                    "PostgreSQL error on attempt %d/%d (%s); retrying in %.2fs",
                    attempt,
                    self._retry.max_attempts,
                    str(error).strip(),
                    delay,
                )
                self.retries += 1
                self._drop_connection_if_broken()
                self._sleep(delay)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None:
            if self._table_ready:
                self.reconnects += 1
            self._conn = psycopg.connect(
                self._conninfo,
                autocommit=True,  # transactions are explicit (conn.transaction())
                connect_timeout=self._connect_timeout_s,
                application_name=APPLICATION_NAME,
            )
        if not self._table_ready:
            self._ensure_table(self._conn)
            self._table_ready = True
        return self._conn

    def _drop_connection_if_broken(self) -> None:
        conn = self._conn
        if conn is not None and (conn.closed or conn.broken):
            conn.close()
            self._conn = None

    def _ensure_table(self, conn: psycopg.Connection) -> None:
        try:
            self.migration = self._ensure(conn)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
            # Another table's writer created the same schema at that moment: go again.
            logger.debug("schema of %s created concurrently", self.table_name)
            self.migration = self._ensure(conn)

    def _ensure(self, conn: psycopg.Connection) -> MigrationPlan:
        try:
            return ensure_table(conn, self.table_name, self._model, migrate_hint=self._migrate_hint)
        except (IncompatibleTable, TableBusy) as error:
            raise PostgresSinkError(str(error)) from None
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
            raise  # a concurrent CREATE SCHEMA: _ensure_table goes again
        except psycopg.Error as error:
            if _is_transient(error, conn):
                raise  # retried with the connection
            # e.g. a stored record value the new column's type cannot take: the
            # transaction rolled back, so the table is as it was.
            raise PostgresSinkError(
                f"could not bring table {self.table_name} to {self._model.kind} schema "
                f"{self._model.version}; nothing was changed: {str(error).strip()}"
            ) from None
