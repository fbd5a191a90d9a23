"""Tables of older schema versions are migrated on start, or refused with the command to run."""

import threading
from dataclasses import replace

import apache_beam as beam
import psycopg
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from psycopg import sql
from schema_fixtures import fixture_records, postgres_1_0_ddl
from sink_helpers import (
    POSTGRES_DSN,
    article_records,
    dead_letter_records,
    needs_postgres,
    postgres_execute,
    postgres_rows,
    scratch_schema,
)

from newsbeam.cli import main
from newsbeam.schemas.versions import Version
from newsbeam.transforms.io.postgres.migration import (
    IncompatibleTable,
    TableState,
    column_type,
    plan_migration,
)
from newsbeam.transforms.io.postgres.writer import (
    ARTICLES,
    DEAD_LETTERS,
    Column,
    PostgresSinkError,
    PostgresWriter,
    RetryPolicy,
)
from newsbeam.transforms.io.sinks import WriteRecords, check_sink, parse_sink

FAST_RETRY = RetryPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=0.05)

# Columns the releases after 1.0 added: 1.1 duplicate_containment, 1.2 the story's.
AFTER_1_0 = ("duplicate_containment", "story_id", "story_similarity")
# The article table as newsbeam 1.0 created it.
ARTICLES_1_0 = replace(
    ARTICLES,
    version=Version(1, 0),
    columns=tuple(c for c in ARTICLES.columns if c.name not in AFTER_1_0),
)
# The article table as a synthetic next minor would register it: a column for a new
# field (null in old rows) and one for a field old records already hold (filled).
# Against a 1.0 table that is the columns of 1.1 and 1.2 (null in 1.0 rows) and the
# synthetic source_topic (filled from the stored records).
ARTICLES_NEXT = ARTICLES.evolved(
    Version(1, 3), Column("source_topic", "text", path=("source", "topic"))
)
ARTICLES_2_0 = replace(ARTICLES, version=Version(2, 0))
# The dead-letter table newsbeam created before dead letters carried schema_version.
DEAD_LETTERS_1_0 = replace(
    DEAD_LETTERS,
    version=Version(1, 0),
    columns=tuple(c for c in DEAD_LETTERS.columns if c.name != "schema_version"),
)


# --- the plan (pure) ----------------------------------------------------------------


def _state(columns, comment=None):
    return TableState(exists=True, columns=columns, comment=comment)


def _columns_1_0(model=ARTICLES_1_0):
    return {c.name: column_type(c.sql_type) for c in model.columns} | {
        "written_at": "timestamp with time zone"
    }


def test_column_types_are_compared_as_postgresql_names_them():
    assert column_type("timestamptz NOT NULL DEFAULT now()") == "timestamp with time zone"
    assert column_type("text PRIMARY KEY") == "text"
    assert column_type("jsonb NOT NULL") == "jsonb"


def test_an_unstamped_1_0_table_gets_the_later_columns_and_the_stamp():
    plan = plan_migration(ARTICLES, "articles", _state(_columns_1_0()))
    assert plan.from_version == Version(1, 0) and plan.retyped == ()
    assert plan.added == AFTER_1_0
    assert "COMMENT ON TABLE" in repr(plan.statements[-1])


def test_a_current_stamped_table_needs_nothing():
    plan = plan_migration(
        ARTICLES, "articles", _state(_columns_1_0(ARTICLES), "newsbeam article schema 1.2")
    )
    assert plan.up_to_date


def test_a_table_that_is_not_ours_is_named_as_such():
    with pytest.raises(IncompatibleTable, match="lacks the columns url, title.*name another"):
        plan_migration(ARTICLES, "articles", _state({"id": "text", "body": "text"}))


def test_a_newsbeam_table_missing_a_column_gets_it_back_from_the_record():
    # The issue's experiment: a table of newsbeam's without `topics` is not stranded.
    columns = _columns_1_0()
    del columns["topics"]
    plan = plan_migration(ARTICLES, "articles", _state(columns))
    assert plan.added == ("topics", *AFTER_1_0)  # and the later releases' columns
    text = repr(plan.statements)
    assert "ADD COLUMN" in text and "#>" in text and "COMMENT ON TABLE" in text


def test_a_users_own_extra_column_does_not_make_a_1_0_table_foreign():
    columns = _columns_1_0() | {"reviewed": "boolean"}
    plan = plan_migration(ARTICLES, "articles", _state(columns))
    assert plan.added == AFTER_1_0 and plan.retyped == ()


def test_a_table_with_the_key_and_record_but_foreign_columns_is_not_ours():
    columns = {"id": "text", "record": "jsonb", "body": "text"}
    with pytest.raises(IncompatibleTable, match=r"lacks the columns url.* has others \(body\)"):
        plan_migration(ARTICLES, "articles", _state(columns))


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("newsbeam article schema 2.0", "newer major version.*upgrade newsbeam"),
        ("newsbeam dead_letter schema 1.1", "holds newsbeam dead_letter records"),
    ],
)
def test_other_majors_and_kinds_are_refused(comment, message):
    with pytest.raises(IncompatibleTable, match=message):
        plan_migration(ARTICLES, "articles", _state(_columns_1_0(), comment))


def test_an_older_major_with_a_retyped_column_names_both_problems():
    columns = _columns_1_0(ARTICLES) | {"word_count": "text"}
    plan = plan_migration(
        ARTICLES_2_0, "t", _state(columns, "newsbeam article schema 1.0"), migrate_hint="X"
    )
    assert "is at article schema 1.0 and has columns of another type" in plan.reason
    assert "word_count is text, not integer" in plan.reason and "`X --dry-run`" in plan.reason


def test_a_table_of_a_newer_minor_is_written_as_it_is():
    columns = _columns_1_0(ARTICLES_NEXT)
    plan = plan_migration(ARTICLES, "t", _state(columns, "newsbeam article schema 1.3"))
    assert plan.newer_table and plan.up_to_date  # never downgraded
    del columns["topics"]  # and even when something must be added, the stamp stays
    plan = plan_migration(ARTICLES, "t", _state(columns, "newsbeam article schema 1.3"))
    assert plan.added == ("topics",) and "COMMENT" not in repr(plan.statements)


# --- against PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def old_tables():
    """A schema holding an article table and a dead-letter table exactly as newsbeam 1.0
    created and filled them (frozen DDL and records)."""
    with scratch_schema() as schema:
        articles, dead = f"{schema}.articles", f"{schema}.articles_dead_letter"
        postgres_execute(postgres_1_0_ddl(articles, dead))
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn, conn.cursor() as cur:
            for table, model, records in (
                (articles, ARTICLES_1_0, fixture_records("article-1.0.jsonl")),
                (dead, DEAD_LETTERS_1_0, fixture_records("dead_letter-1.0.jsonl")),
            ):
                ident = sql.Identifier(*table.split("."))
                cur.executemany(model.insert_statement(ident), [model.params(r) for r in records])
        yield schema


def _comment(table):
    return postgres_rows("SELECT obj_description(%s::regclass, 'pg_class')", (table,))[0][0]


def _column_types(schema, table):
    return dict(
        postgres_rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (schema, table),
        )
    )


@needs_postgres
@pytest.mark.integration
def test_a_new_table_is_created_and_stamped():
    with scratch_schema() as schema:
        writer = PostgresWriter(POSTGRES_DSN, f"{schema}.fresh", ARTICLES, retry=FAST_RETRY)
        writer.open()
        writer.close()
        assert writer.migration.creates
        assert _comment(f"{schema}.fresh") == "newsbeam article schema 1.2"
        again = PostgresWriter(POSTGRES_DSN, f"{schema}.fresh", ARTICLES, retry=FAST_RETRY)
        again.open()
        again.close()
        assert again.migration.up_to_date  # what newsbeam creates, it recognises as current


@needs_postgres
@pytest.mark.integration
def test_a_run_of_the_current_version_into_1_0_tables(old_tables):
    """Today's job into the tables of before: articles stamped as they are, the dead-letter
    table migrated to 1.1 (schema_version column added), old rows intact, new rows whole."""
    schema = old_tables
    spec = parse_sink(f"{POSTGRES_DSN}?table={schema}.articles&batch_size=3")
    check_sink(spec)  # what `newsbeam run` does on start
    assert _comment(f"{schema}.articles") == "newsbeam article schema 1.2"
    assert _comment(f"{schema}.articles_dead_letter") == "newsbeam dead_letter schema 1.1"
    new_articles = article_records(8)[6:]
    new_letters = dead_letter_records()
    for letter in new_letters:
        letter["raw"] += " (again)"
    with TestPipeline() as p:
        _ = {
            "articles": p | "a" >> beam.Create(new_articles),
            "dead_letters": p | "d" >> beam.Create(new_letters),
        } | WriteRecords([spec])
    rows = dict(postgres_rows(f"SELECT id, record FROM {schema}.articles"))
    for record in [*fixture_records("article-1.0.jsonl"), *new_articles]:
        assert rows[record["id"]] == record
    letters = postgres_rows(
        f"SELECT raw, schema_version FROM {schema}.articles_dead_letter ORDER BY raw"
    )
    old_raw = {r["raw"] for r in fixture_records("dead_letter-1.0.jsonl")}
    assert len(letters) == 4
    for raw, version in letters:
        assert version == (None if raw in old_raw else 1)


@needs_postgres
@pytest.mark.integration
def test_a_next_minor_adds_its_columns_filled_from_the_stored_record(old_tables):
    schema = old_tables
    table = f"{schema}.articles"
    writer = PostgresWriter(POSTGRES_DSN, table, ARTICLES_NEXT, retry=FAST_RETRY)
    writer.open()
    assert writer.migration.added == (*AFTER_1_0, "source_topic")
    assert writer.migration.from_version == Version(1, 0)
    assert _comment(table) == "newsbeam article schema 1.3"
    new = article_records(8)[6:]
    new[0]["duplicate"] = {"status": "near", "of": "article-000", "similarity": 0.8}
    new[0]["duplicate"]["containment"] = 0.93
    assert writer.write(new) == []
    writer.close()
    rows = {
        row[0]: row[1:]
        for row in postgres_rows(
            f"SELECT id, duplicate_containment, source_topic, word_count, record FROM {table}"
        )
    }
    for record in fixture_records("article-1.0.jsonl"):
        containment, topic, words, stored = rows[record["id"]]
        assert stored == record and words == record["word_count"]  # old rows intact
        assert containment is None  # 1.0 records have no such field
        assert topic == record["source"]["topic"]  # filled from the stored record
    assert any(rows[r["id"]][1] == "raw-articles" for r in fixture_records("article-1.0.jsonl"))
    assert rows["article-006"][0] == 0.93 and rows["article-007"][1] == "raw-articles"


@needs_postgres
@pytest.mark.integration
def test_a_retyped_column_is_refused_and_migrate_rebuilds_it_from_the_record(old_tables, capsys):
    schema = old_tables
    table = f"{schema}.articles"
    postgres_execute(f"ALTER TABLE {table} ALTER COLUMN word_count TYPE text")
    uri = f"{POSTGRES_DSN}?table={schema}.articles"
    hint = f"newsbeam migrate --sink '{uri}'"
    writer = PostgresWriter(POSTGRES_DSN, table, ARTICLES, retry=FAST_RETRY, migrate_hint=hint)
    with pytest.raises(PostgresSinkError) as refused:
        writer.open()
    writer.close()
    message = str(refused.value)
    assert "word_count is text, not integer" in message
    assert f"`{hint} --dry-run`" in message
    assert _column_types(schema, "articles")["word_count"] == "text"

    # The user's way forward: look first, change nothing ...
    assert main(["migrate", "--sink", uri, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert (
        f'ALTER TABLE "{schema}"."articles" ALTER COLUMN "word_count" TYPE integer '
        "USING (\"record\" #>> '{word_count}')::integer;"
    ) in printed
    assert "-- dry run: nothing was changed" in printed
    assert _column_types(schema, "articles")["word_count"] == "text"
    assert _comment(table) is None
    assert "ADD COLUMN" in printed and '"schema_version"' in printed  # the dead-letter table
    assert _column_types(schema, "articles_dead_letter").get("schema_version") is None

    # ... then apply.
    assert main(["migrate", "--sink", uri]) == 0
    assert "-- applied" in capsys.readouterr().out
    assert _column_types(schema, "articles")["word_count"] == "integer"
    counts = postgres_rows(f"SELECT id, word_count, (record->>'word_count')::int FROM {table}")
    assert counts and all(row[1] == row[2] for row in counts)
    writer = PostgresWriter(POSTGRES_DSN, table, ARTICLES, retry=FAST_RETRY)
    writer.open()
    writer.close()
    assert writer.migration.up_to_date
    assert main(["migrate", "--sink", uri, "--dry-run"]) == 0
    assert "up to date" in capsys.readouterr().out


@needs_postgres
@pytest.mark.integration
def test_migrate_on_a_file_sink_has_nothing_to_do(tmp_path, capsys):
    assert main(["migrate", "--sink", f"parquet:{tmp_path}"]) == 0
    assert "nothing to migrate" in capsys.readouterr().out


@needs_postgres
@pytest.mark.integration
def test_migrate_reports_a_foreign_table_in_one_line(capsys):
    with scratch_schema() as schema:
        postgres_execute(f"CREATE TABLE {schema}.articles (id text PRIMARY KEY, body text)")
        with pytest.raises(SystemExit) as exit_info:
            main(["migrate", "--sink", f"{POSTGRES_DSN}?table={schema}.articles", "--dry-run"])
    assert exit_info.value.code == 2
    assert "it was not created by newsbeam" in capsys.readouterr().err


@needs_postgres
@pytest.mark.integration
def test_two_concurrent_starts_take_turns(old_tables):
    """Two jobs start on one 1.0 table at once. The backfill is slowed down so that, without
    the advisory lock, both would read the old catalog and the second ALTER would fail."""
    schema = old_tables
    table = f"{schema}.articles"
    postgres_execute(
        f"""
        CREATE FUNCTION {schema}.slow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$;
        CREATE TRIGGER slow AFTER UPDATE ON {table}
          FOR EACH STATEMENT EXECUTE FUNCTION {schema}.slow();
        """
    )
    start = threading.Barrier(2)
    plans, errors = [], []

    def open_writer():
        writer = PostgresWriter(POSTGRES_DSN, table, ARTICLES_NEXT, retry=FAST_RETRY)
        start.wait()
        try:
            writer.open()
            plans.append(writer.migration)
        except Exception as error:  # collected: the assertion below shows it
            errors.append(error)
        finally:
            writer.close()

    threads = [threading.Thread(target=open_writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(plan.up_to_date for plan in plans) == [False, True]
    assert _comment(table) == "newsbeam article schema 1.3"
    assert "duplicate_containment" in _column_types(schema, "articles")


@needs_postgres
@pytest.mark.integration
def test_a_migration_that_fails_half_way_changes_nothing(old_tables):
    # A new integer column whose stored values are not integers (0.99...): the backfill
    # fails after the ADD COLUMN; one transaction, so neither stays.
    schema = old_tables
    table = f"{schema}.articles"
    broken = ARTICLES.evolved(
        Version(1, 1), Column("score_bucket", "integer", path=("language_score",))
    )
    writer = PostgresWriter(POSTGRES_DSN, table, broken, retry=FAST_RETRY)
    with pytest.raises(PostgresSinkError, match="could not bring table .* nothing was changed"):
        writer.open()
    writer.close()
    assert "score_bucket" not in _column_types(schema, "articles")
    assert _comment(table) is None
    assert postgres_rows(f"SELECT count(*) FROM {table}") == [(6,)]


@needs_postgres
@pytest.mark.integration
def test_the_issues_experiment_a_table_without_topics_is_repaired_on_start(old_tables):
    schema = old_tables
    postgres_execute(f"ALTER TABLE {schema}.articles DROP COLUMN topics")
    check_sink(parse_sink(f"{POSTGRES_DSN}?table={schema}.articles"))
    rows = postgres_rows(f"SELECT topics, record->'topics' FROM {schema}.articles")
    assert len(rows) == 6 and all(topics == stored for topics, stored in rows)
    assert any(topics for topics, _ in rows)
    assert _comment(f"{schema}.articles") == "newsbeam article schema 1.2"


@needs_postgres
@pytest.mark.integration
def test_the_unstamped_columns_are_those_of_the_frozen_1_0_tables(old_tables):
    from newsbeam.transforms.io.postgres.migration import UNSTAMPED_COLUMNS

    assert set(_column_types(old_tables, "articles")) == UNSTAMPED_COLUMNS["article"]
    dead = _column_types(old_tables, "articles_dead_letter")
    assert set(dead) == UNSTAMPED_COLUMNS["dead_letter"]


@needs_postgres
@pytest.mark.integration
def test_a_table_held_by_another_session_fails_the_start_instead_of_hanging(old_tables):
    # An analyst's open transaction that read the table: ALTER TABLE would wait for it
    # forever, and every writer would queue behind the ALTER.
    from newsbeam.transforms.io.postgres.migration import TableBusy, ensure_table

    table = f"{old_tables}.articles"
    with psycopg.connect(POSTGRES_DSN) as reader:
        reader.execute(f"SELECT count(*) FROM {table}").fetchall()  # transaction stays open
        with (
            psycopg.connect(POSTGRES_DSN, autocommit=True) as conn,
            pytest.raises(TableBusy, match="could not lock it within 0.3 s.*Nothing was"),
        ):
            ensure_table(conn, table, ARTICLES_NEXT, lock_timeout_s=0.3)
        reader.rollback()
    assert "duplicate_containment" not in _column_types(old_tables, "articles")
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        assert ensure_table(conn, table, ARTICLES_NEXT, lock_timeout_s=0.3).added
