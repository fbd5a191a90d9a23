"""Bringing a newsbeam table up to the record schema this newsbeam writes (psycopg, no Beam).

Every table newsbeam creates carries its record kind and schema version in its comment
(`newsbeam article schema 1.0`): a comment travels with the table through renames and
pg_dump and needs no bookkeeping table beside the user's own. Tables created before the
version was stamped are recognised by their 1.0 columns (see _unstamped_but_ours).

On start (`ensure_table`), under an advisory lock per table so that concurrent starts
(two jobs, many workers) take turns, in one transaction:

- a missing table is created and stamped;
- an older newsbeam table gets `ADD COLUMN` for each new column, filled from the `record`
  jsonb the table already stores (null where the old record has no such field), and is
  re-stamped;
- anything that is not additive -- a column of another type, another major version -- is
  refused with a message naming `newsbeam migrate`, which prints (`--dry-run`) or applies
  the statements, typed columns rebuilt from `record` (`ALTER COLUMN ... TYPE ... USING`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from newsbeam.schemas.versions import Version

if TYPE_CHECKING:
    from newsbeam.transforms.io.postgres.writer import Column, TableModel

logger = logging.getLogger(__name__)

_MARKER = re.compile(r"^newsbeam (?P<kind>[a-z_]+) schema (?P<version>\d+\.\d+)\b")
# Columns of the tables newsbeam created before it stamped versions (its 1.0 tables; see
# tests/fixtures/schema_evolution/postgres-1.0.sql). Frozen: never add to these.
UNSTAMPED_COLUMNS = {
    "article": frozenset(
        [
            "id",
            "url",
            "title",
            "language",
            "language_score",
            "published_at",
            "word_count",
            "content_hash",
            "duplicate_status",
            "duplicate_of",
            "duplicate_similarity",
            "source_kind",
            "source_uri",
            "ingested_at",
            "pipeline_version",
            "schema_version",
            "source",
            "authors",
            "removed",
            "duplicate",
            "topics",
            "record",
            "written_at",
        ]
    ),
    "dead_letter": frozenset(
        [
            "key",
            "stage",
            "reason",
            "error",
            "article_id",
            "source",
            "raw",
            "raw_truncated",
            "raw_length",
            "failed_at",
            "pipeline_version",
            "written_at",
        ]
    ),
}
_CONSTRAINTS = re.compile(r"\s+(PRIMARY KEY|NOT NULL|DEFAULT)\b.*$", re.IGNORECASE)
# The names format_type() reports for the short forms a model may use.
_CANONICAL_TYPES = {
    "timestamptz": "timestamp with time zone",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "float8": "double precision",
    "bool": "boolean",
}


class IncompatibleTable(RuntimeError):
    """The table cannot be written without a change that is not additive (or is not ours)."""


class TableBusy(RuntimeError):
    """Another session held the table for longer than the migration waits."""


# How long a migration waits for the table itself (not for another start's migration).
DDL_LOCK_TIMEOUT_S = 30.0


def column_type(sql_type: str) -> str:
    """`timestamptz NOT NULL` -> `timestamp with time zone` (as format_type() names it)."""
    base = _CONSTRAINTS.sub("", sql_type).strip().lower()
    return _CANONICAL_TYPES.get(base, base)


def marker(kind: str, version: Version) -> str:
    return f"newsbeam {kind} schema {version}"


def parse_marker(comment: str | None) -> tuple[str, Version] | None:
    match = _MARKER.match(comment or "")
    if match is None:
        return None
    return match.group("kind"), Version.parse(match.group("version"))


@dataclass(frozen=True)
class TableState:
    """What the catalog says about one table."""

    exists: bool
    columns: dict[str, str] = field(default_factory=dict)  # name -> format_type()
    comment: str | None = None


@dataclass(frozen=True)
class MigrationPlan:
    table: str
    kind: str
    from_version: Version | None  # None: no table yet
    to_version: Version
    statements: tuple[sql.Composable, ...] = ()
    added: tuple[str, ...] = ()
    retyped: tuple[str, ...] = ()
    # The table was stamped by a newer minor of this major: written as is, never downgraded.
    newer_table: bool = False

    @property
    def creates(self) -> bool:
        return self.from_version is None

    @property
    def up_to_date(self) -> bool:
        return not self.statements

    def summary(self) -> str:
        if self.creates:
            return f"{self.table}: new table, {self.kind} schema {self.to_version}"
        if self.newer_table:
            return (
                f"{self.table}: {self.kind} schema {self.from_version}, newer than this "
                f"newsbeam's {self.to_version}; its extra columns stay null in new rows"
            )
        if self.up_to_date:
            return f"{self.table}: up to date ({self.kind} schema {self.to_version})"
        changes = []
        if self.added:
            changes.append("added " + ", ".join(self.added))
        if self.retyped:
            changes.append("retyped " + ", ".join(self.retyped))
        detail = f" ({'; '.join(changes)})" if changes else ""
        versions = (
            f"{self.from_version} -> {self.to_version}"
            if self.from_version != self.to_version
            else str(self.to_version)
        )
        return f"{self.table}: {self.kind} schema {versions}{detail}"


def table_identifier(name: str) -> sql.Identifier:
    """`schema.table` or `table`, quoted."""
    return sql.Identifier(*name.split("."))


def backfill_expression(column: Column, model: TableModel) -> sql.Composable | None:
    """The column's value computed from the stored record, or None if it cannot be."""
    if model.record_column is None or not column.path:
        return None
    record = sql.Identifier(model.record_column)
    path = sql.Literal("{" + ",".join(column.path) + "}")
    kind = column_type(column.sql_type)
    if kind == "jsonb":
        return sql.SQL("{} #> {}").format(record, path)
    return sql.SQL("({} #>> {})::{}").format(record, path, sql.SQL(kind))


def _unstamped_but_ours(model: TableModel, state: TableState) -> bool:
    """An unstamped table is newsbeam's 1.0 table if it has every 1.0 column (a user may
    have added their own), or if it has the key (and the record) and only columns newsbeam
    writes (one of its columns was dropped; re-adding it from the record is additive)."""
    columns = set(state.columns)
    if UNSTAMPED_COLUMNS[model.kind] <= columns:
        return True
    known = {c.name for c in model.columns} | UNSTAMPED_COLUMNS[model.kind]
    needed = {model.key} | ({model.record_column} if model.record_column else set())
    return needed <= columns and columns <= known


def plan_migration(
    model: TableModel, table_name: str, state: TableState, *, migrate_hint: str = ""
) -> MigrationPlan:
    """What it takes to bring `table_name` (as `state` describes it) to `model` (pure)."""
    table = table_identifier(table_name)
    kind, version = model.kind, model.version
    stamp = sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(marker(kind, version)))
    if not state.exists:
        schema, _, _ = table_name.rpartition(".")
        create_schema = (
            [sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))]
            if schema
            else []
        )
        statements = (*create_schema, *model.create_statements(table), stamp)
        return MigrationPlan(table_name, kind, None, version, statements)
    stamped = parse_marker(state.comment)
    hint = migrate_hint or "newsbeam migrate --sink URI"
    if stamped is None:
        if not _unstamped_but_ours(model, state):
            wanted = [c.name for c in model.columns if c.name not in state.columns]
            ours = {c.name for c in model.columns} | UNSTAMPED_COLUMNS[kind]
            foreign = sorted(set(state.columns) - ours)
            raise IncompatibleTable(
                f"table {table_name} exists but lacks the columns {', '.join(wanted)}"
                + (f" and has others ({', '.join(foreign)})" if foreign else "")
                + "; it was not created by newsbeam: name another table with ?table="
            )
        from_version = Version(1, 0)
    else:
        stamped_kind, from_version = stamped
        if stamped_kind != kind:
            raise IncompatibleTable(
                f"table {table_name} holds newsbeam {stamped_kind} records, not {kind} "
                "records: name another table with ?table= (or ?dead_letter_table=)"
            )
        if from_version.major > version.major:
            raise IncompatibleTable(
                f"table {table_name} is at {kind} schema {from_version}, a newer major version "
                f"than this newsbeam writes ({version}): upgrade newsbeam"
            )
    added, retyped, statements = [], [], []
    for column in model.columns:
        found = state.columns.get(column.name)
        wanted = column_type(column.sql_type)
        if found is None:
            added.append(column)
        elif found != wanted:
            retyped.append((column, found))
    if added:
        statements.append(
            sql.SQL("ALTER TABLE {} {}").format(
                table,
                sql.SQL(", ").join(
                    # Without constraints: old rows may have no value for it.
                    sql.SQL("ADD COLUMN {} {}").format(
                        sql.Identifier(c.name), sql.SQL(column_type(c.sql_type))
                    )
                    for c in added
                ),
            )
        )
        fills = [
            sql.SQL("{} = {}").format(sql.Identifier(c.name), expression)
            for c in added
            if (expression := backfill_expression(c, model)) is not None
        ]
        if fills:
            statements.append(sql.SQL("UPDATE {} SET {}").format(table, sql.SQL(", ").join(fills)))
    for column, _ in retyped:
        using = backfill_expression(column, model) or sql.SQL("{}::{}").format(
            sql.Identifier(column.name), sql.SQL(column_type(column.sql_type))
        )
        statements.append(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}").format(
                table, sql.Identifier(column.name), sql.SQL(column_type(column.sql_type)), using
            )
        )
    # A newer minor's stamp stays: the table already has what this version needs.
    newer = from_version > version
    if not newer and (statements or from_version != version or stamped is None):
        statements.append(stamp)
    plan = MigrationPlan(
        table_name,
        kind,
        from_version,
        version,
        tuple(statements),
        added=tuple(c.name for c in added),
        retyped=tuple(c.name for c, _ in retyped),
        newer_table=newer,
    )
    problems = []
    if from_version.major != version.major:
        problems.append(f"is at {kind} schema {from_version}")
    if retyped:
        found = ", ".join(f"{c.name} is {was}, not {column_type(c.sql_type)}" for c, was in retyped)
        problems.append(f"has columns of another type ({found})")
    return _needs_migrate(plan, " and ".join(problems), hint) if problems else plan


@dataclass(frozen=True)
class NeedsMigrate(MigrationPlan):
    """A plan only `newsbeam migrate` applies: it is not additive."""

    reason: str = ""


def _needs_migrate(plan: MigrationPlan, problem: str, hint: str) -> NeedsMigrate:
    reason = (
        f"table {plan.table} {problem}: not an additive change, so it is not applied on start. "
        f"Review the SQL with `{hint} --dry-run`, then apply it with `{hint}`"
    )
    values = {item.name: getattr(plan, item.name) for item in fields(plan)}
    return NeedsMigrate(**values, reason=reason)


def inspect_table(conn: psycopg.Connection, table_name: str) -> TableState:
    schema, _, name = table_name.rpartition(".")
    row = conn.execute(
        "SELECT c.oid, obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = COALESCE(%s, current_schema()) AND c.relname = %s "
        "AND c.relkind IN ('r', 'p')",
        (schema or None, name),
    ).fetchone()
    if row is None:
        return TableState(exists=False)
    columns = dict(
        conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
            (row[0],),
        ).fetchall()
    )
    return TableState(exists=True, columns=columns, comment=row[1])


def lock_table_name(conn: psycopg.Connection, table_name: str) -> None:
    """Transaction-scoped advisory lock on the table's qualified name: starts take turns."""
    schema, _, name = table_name.rpartition(".")
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended("
        "'newsbeam:' || COALESCE(%s, current_schema()) || '.' || %s, 0))",
        (schema or None, name),
    )


def ensure_table(
    conn: psycopg.Connection,
    table_name: str,
    model: TableModel,
    *,
    allow_migrate: bool = False,
    dry_run: bool = False,
    migrate_hint: str = "",
    lock_timeout_s: float = DDL_LOCK_TIMEOUT_S,
) -> MigrationPlan:
    """Create or migrate the table in one locked transaction; return what was (or would be) done.

    Additive plans are applied; a NeedsMigrate plan only with `allow_migrate`, else
    IncompatibleTable. `dry_run` plans under the lock and changes nothing. A table lock
    not granted within `lock_timeout_s` is TableBusy (the transaction rolls back).
    """
    if not conn.autocommit:
        raise ValueError("ensure_table needs an autocommit connection (it opens its own)")
    with conn.transaction() as transaction:
        lock_table_name(conn, table_name)
        plan = plan_migration(
            model, table_name, inspect_table(conn, table_name), migrate_hint=migrate_hint
        )
        if dry_run:
            raise psycopg.Rollback(transaction)  # leaves the block, lock released
        if isinstance(plan, NeedsMigrate) and not allow_migrate:
            raise IncompatibleTable(plan.reason)
        if plan.statements and not plan.creates:
            # ALTER TABLE queues behind any open transaction that touched the table, and
            # every writer then queues behind it: give up instead of hanging the start.
            # (Set after the advisory lock: waiting for another start's migration is fine.)
            conn.execute(
                sql.SQL("SET LOCAL lock_timeout = {}").format(
                    sql.Literal(f"{int(lock_timeout_s * 1000)}ms")
                )
            )
        try:
            for statement in plan.statements:
                conn.execute(statement)
        except psycopg.errors.LockNotAvailable:
            raise TableBusy(
                f"table {table_name}: could not lock it within {lock_timeout_s:g} s to apply "
                f"{plan.summary()}; another session holds it (a long query or an open "
                "transaction, see pg_stat_activity). Nothing was changed; try again"
            ) from None
    if dry_run:
        return plan
    if plan.newer_table:
        logger.warning("%s", plan.summary())
    elif not plan.up_to_date and not plan.creates:
        logger.info("migrated %s", plan.summary())
    return plan


def render(plan: MigrationPlan, conn: psycopg.Connection) -> list[str]:
    """The plan as SQL text, one statement per line (for `newsbeam migrate`)."""
    return [statement.as_string(conn) + ";" for statement in plan.statements]
