"""PostgresWriter against the real PostgreSQL server (each test in its own schema)."""

import base64

import psycopg
import pytest
from sink_helpers import (
    POSTGRES_DSN,
    article_records,
    dead_letter_records,
    needs_postgres,
    postgres_execute,
    postgres_rows,
    same_instant,
    scratch_schema,
)

from newsbeam.transforms.io.postgres.writer import (
    ARTICLES,
    DEAD_LETTERS,
    PostgresSinkError,
    PostgresUnavailable,
    PostgresWriter,
    RetryPolicy,
)

pytestmark = [needs_postgres, pytest.mark.integration]

FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05)


@pytest.fixture
def schema():
    with scratch_schema() as name:
        yield name


@pytest.fixture
def articles_writer(schema):
    writer = PostgresWriter(POSTGRES_DSN, f"{schema}.articles", ARTICLES, retry=FAST_RETRY)
    writer.open()
    yield writer
    writer.close()


def test_the_table_has_typed_columns_and_the_full_record(articles_writer, schema):
    types = dict(
        postgres_rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'articles'",
            (schema,),
        )
    )
    assert types["id"] == "text"
    assert types["published_at"] == types["ingested_at"] == "timestamp with time zone"
    assert types["language_score"] == "double precision"
    assert types["word_count"] == "integer"
    assert types["record"] == types["topics"] == types["removed"] == "jsonb"
    records = article_records(6)
    assert articles_writer.write(records) == []
    rows = postgres_rows(
        f"SELECT id, published_at, duplicate_status, duplicate_of, word_count, record "
        f"FROM {schema}.articles ORDER BY id"
    )
    assert [row[0] for row in rows] == [r["id"] for r in records]
    for row, record in zip(rows, records, strict=True):
        assert same_instant(row[1] and row[1].isoformat(), record["published_at"])
        assert row[2:5] == (
            record["duplicate"]["status"],
            record["duplicate"]["of"],
            record["word_count"],
        )
        assert row[5] == record


def test_writing_twice_keeps_one_row_per_article_and_updates_changes(articles_writer, schema):
    records = article_records(5)
    assert articles_writer.write(records) == []
    first = dict(postgres_rows(f"SELECT id, written_at FROM {schema}.articles"))
    # A redelivery of the same batch plus one corrected article.
    corrected = {**records[1], "title": "Corrected headline"}
    assert articles_writer.write([*records, corrected]) == []
    rows = postgres_rows(f"SELECT id, title, written_at FROM {schema}.articles ORDER BY id")
    assert [row[0] for row in rows] == [r["id"] for r in records]
    titles = {row[0]: row[1] for row in rows}
    assert titles["article-001"] == "Corrected headline"
    # Identical rows were left alone; only the changed one was rewritten.
    unchanged = {row[0]: row[2] for row in rows if row[0] != "article-001"}
    assert unchanged == {k: v for k, v in first.items() if k != "article-001"}


def test_rows_the_database_refuses_come_back_with_its_message(articles_writer, schema):
    records = article_records(5)
    records[1] = {**records[1], "published_at": "2024-02-30T10:00:00Z"}  # no such day
    records[2] = {**records[2], "text": "a NUL \x00 inside"}
    records[3] = {**records[3], "id": None}
    rejections = articles_writer.write(records)
    assert [r.index for r in rejections] == [1, 2, 3]
    assert "date/time field value out of range" in rejections[0].error
    assert "22008" in rejections[0].error
    assert "\\u0000 cannot be converted to text" in rejections[1].error
    assert 'null value in column "id"' in rejections[2].error
    ids = [row[0] for row in postgres_rows(f"SELECT id FROM {schema}.articles ORDER BY id")]
    assert ids == ["article-000", "article-004"]


def test_a_connection_killed_between_batches_is_reopened(articles_writer, schema):
    records = article_records(6)
    assert articles_writer.write(records[:3]) == []
    postgres_rows(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'newsbeam' AND pid <> pg_backend_pid()"
    )
    assert articles_writer.write(records[3:]) == []
    assert articles_writer.reconnects == 1
    assert articles_writer.retries == 1
    assert postgres_rows(f"SELECT count(*) FROM {schema}.articles") == [(6,)]


def test_a_connection_lost_in_the_middle_of_a_batch_is_retried_whole(articles_writer, schema):
    # The server drops the connection while inserting the 3rd row, once: a
    # sequence is not transactional, so it remembers that it already did.
    postgres_execute(
        f"""
        CREATE SEQUENCE {schema}.kills;
        CREATE FUNCTION {schema}.drop_once() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id = 'article-002' AND nextval('{schema}.kills') = 1 THEN
            PERFORM pg_terminate_backend(pg_backend_pid());
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER drop_once BEFORE INSERT ON {schema}.articles
          FOR EACH ROW EXECUTE FUNCTION {schema}.drop_once();
        """
    )
    records = article_records(5)
    assert articles_writer.write(records) == []
    assert articles_writer.retries == 1
    ids = [row[0] for row in postgres_rows(f"SELECT id FROM {schema}.articles ORDER BY id")]
    assert ids == [r["id"] for r in records]


def test_an_unreachable_server_is_retried_with_backoff_then_reported():
    with socket_without_server() as port:
        waits = []
        writer = PostgresWriter(
            f"postgresql://postgres@127.0.0.1:{port}/test",
            "articles",
            ARTICLES,
            retry=RetryPolicy(max_attempts=3, initial_backoff_s=1.0, max_backoff_s=1.5),
            sleep=waits.append,
        )
        with pytest.raises(PostgresUnavailable, match="unreachable after 3 attempts"):
            writer.open()
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1.0 and 0.75 <= waits[1] <= 1.5  # jittered, capped


def test_a_missing_database_is_not_retried():
    waits = []
    writer = PostgresWriter(
        POSTGRES_DSN.rsplit("/", 1)[0] + "/newsbeam_no_such_db",
        "articles",
        ARTICLES,
        retry=FAST_RETRY,
        sleep=waits.append,
    )
    with pytest.raises(PostgresSinkError, match="newsbeam_no_such_db"):
        writer.open()
    assert waits == []


def test_a_foreign_table_of_the_same_name_is_refused(schema):
    postgres_execute(f"CREATE TABLE {schema}.articles (id text PRIMARY KEY, body text)")
    writer = PostgresWriter(POSTGRES_DSN, f"{schema}.articles", ARTICLES, retry=FAST_RETRY)
    with pytest.raises(PostgresSinkError, match="lacks the columns url, title"):
        writer.open()
    writer.close()


def test_dead_letters_are_stored_once_and_nul_bytes_survive_in_base64(schema):
    writer = PostgresWriter(POSTGRES_DSN, f"{schema}.failures", DEAD_LETTERS, retry=FAST_RETRY)
    letters = dead_letter_records()
    letters[0] = {**letters[0], "raw": "bin\x00ary", "error": "NUL \x00 here"}
    assert writer.write(letters) == []
    # A re-run fails the same inputs again, later: still one row each.
    again = [{**letter, "failed_at": "2030-01-01T00:00:00Z"} for letter in letters]
    assert writer.write(again) == []
    writer.close()
    rows = postgres_rows(
        f"SELECT reason, raw, error, source FROM {schema}.failures ORDER BY reason"
    )
    assert len(rows) == 2
    malformed, no_text = rows
    assert malformed[1] == "base64:" + base64.b64encode(b"bin\x00ary").decode()
    assert malformed[2] == "NUL \ufffd here"
    assert no_text[1] == letters[1]["raw"]
    assert no_text[3] == letters[1]["source"]


class socket_without_server:
    """A loopback port nobody listens on (bound, never listening, then released)."""

    def __enter__(self):
        import socket

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        return self._socket.getsockname()[1]

    def __exit__(self, *exc):
        self._socket.close()


def test_psycopg_reports_a_closed_connection_as_broken():
    # The writer's retry decision relies on this psycopg behaviour.
    conn = psycopg.connect(POSTGRES_DSN, autocommit=True)
    postgres_rows("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    assert conn.broken
    conn.close()
