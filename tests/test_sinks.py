"""WriteRecords: the same records through JSON Lines, Parquet and PostgreSQL."""

import glob
import os

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from sink_helpers import (
    POSTGRES_DSN,
    article_records,
    dead_letter_records,
    needs_postgres,
    normalise_times,
    postgres_rows,
    scratch_schema,
)

from newsbeam.transforms.io.files.jsonl_format import read_json_lines
from newsbeam.transforms.io.parquet.arrow_schema import (
    ARTICLE_SCHEMA_FILE,
    DEAD_LETTER_SCHEMA_FILE,
    RecordShaper,
)
from newsbeam.transforms.io.parquet.format import read_parquet_records
from newsbeam.transforms.io.sinks import (
    JsonLinesSink,
    ParquetSink,
    SinkUnavailable,
    WriteRecords,
    check_sink,
    parse_sink,
)


def _read_jsonl(directory, prefix):
    rows = []
    for path in sorted(glob.glob(os.path.join(directory, f"{prefix}-*.jsonl"))):
        with open(path, "rb") as handle:
            rows.extend(read_json_lines(handle))
    return rows


def _read_parquet(directory, prefix, schema_file):
    shaper = RecordShaper.from_schema_file(schema_file)
    rows = []
    for path in sorted(glob.glob(os.path.join(directory, f"{prefix}-*.parquet"))):
        rows.extend(read_parquet_records(path, shaper))
    return rows


def _by(key, rows):
    return sorted(rows, key=lambda row: row[key])


def _write(specs, articles, dead_letters, *, expect_rejected=(), streaming=None):
    with TestPipeline() as p:
        rejected = {
            "articles": p | "articles" >> beam.Create(articles),
            "dead_letters": p | "dead letters" >> beam.Create(dead_letters),
        } | WriteRecords(specs, streaming=streaming)
        assert_that(
            rejected | "AllRejected" >> beam.Flatten() | beam.Map(lambda d: (d.reason, d.id)),
            equal_to(list(expect_rejected)),
        )


@pytest.fixture
def schema():
    with scratch_schema() as name:
        yield name


def _postgres_spec(schema):
    return parse_sink(f"{POSTGRES_DSN}?table={schema}.articles&batch_size=4")


@needs_postgres
@pytest.mark.integration
def test_jsonl_parquet_and_postgres_hold_the_same_records(tmp_path, schema):
    articles, dead_letters = article_records(9), dead_letter_records()
    specs = [
        parse_sink(f"jsonl:{tmp_path / 'jsonl'}"),
        parse_sink(str(tmp_path / "lake.parquet")),
        _postgres_spec(schema),
    ]
    _write(specs, articles, dead_letters)

    from_jsonl = _by("id", _read_jsonl(tmp_path / "jsonl", "articles"))
    from_parquet = _by(
        "id", _read_parquet(tmp_path / "lake.parquet", "articles", ARTICLE_SCHEMA_FILE)
    )
    from_postgres = [
        row[0] for row in postgres_rows(f"SELECT record FROM {schema}.articles ORDER BY id")
    ]
    assert from_jsonl == from_postgres == _by("id", articles)
    # Parquet stores date-times as timestamps: the same instants, written in UTC.
    assert [normalise_times(r) for r in from_parquet] == [normalise_times(r) for r in from_jsonl]

    dead_jsonl = _by("reason", _read_jsonl(tmp_path / "jsonl", "dead-letter"))
    dead_parquet = _by(
        "reason", _read_parquet(tmp_path / "lake.parquet", "dead-letter", DEAD_LETTER_SCHEMA_FILE)
    )
    dead_postgres = postgres_rows(
        f"SELECT stage, reason, error, article_id, source, raw, raw_truncated, raw_length, "
        f"failed_at, pipeline_version FROM {schema}.articles_dead_letter ORDER BY reason"
    )
    assert dead_jsonl == _by("reason", dead_letters)
    assert [normalise_times(r) for r in dead_parquet] == [normalise_times(r) for r in dead_jsonl]
    assert len(dead_postgres) == len(dead_jsonl)
    for row, letter in zip(dead_postgres, dead_jsonl, strict=True):
        assert row[:8] == (
            letter["stage"],
            letter["reason"],
            letter["error"],
            letter["id"],
            letter["source"],
            letter["raw"],
            letter["raw_truncated"],
            letter["raw_length"],
        )
        assert normalise_times({"failed_at": letter["failed_at"]})["failed_at"] == row[8]


@needs_postgres
@pytest.mark.integration
def test_running_twice_leaves_one_row_per_article_and_no_doubled_files(tmp_path, schema):
    articles, dead_letters = article_records(6), dead_letter_records()
    specs = [parse_sink(str(tmp_path / "out")), _postgres_spec(schema)]
    _write(specs, articles, dead_letters)
    _write(specs, articles, dead_letters)
    assert postgres_rows(f"SELECT count(*), count(DISTINCT id) FROM {schema}.articles") == [(6, 6)]
    assert postgres_rows(f"SELECT count(*) FROM {schema}.articles_dead_letter") == [(2,)]
    assert len(_read_jsonl(tmp_path / "out", "articles")) == 6
    assert len(_read_jsonl(tmp_path / "out", "dead-letter")) == 2


@needs_postgres
@pytest.mark.integration
def test_a_row_postgres_refuses_is_a_dead_letter_in_every_sink(tmp_path, schema):
    articles = article_records(4)
    articles[2] = {**articles[2], "text": "control character \x00 from a bad scrape"}
    specs = [
        parse_sink(str(tmp_path / "out")),
        parse_sink(f"parquet:{tmp_path / 'pq'}"),
        _postgres_spec(schema),
    ]
    _write(specs, articles, [], expect_rejected=[("postgresql_rejected", "article-002")])

    # JSON Lines and Parquet can hold it, so they do.
    assert len(_read_jsonl(tmp_path / "out", "articles")) == 4
    assert len(_read_parquet(tmp_path / "pq", "articles", ARTICLE_SCHEMA_FILE)) == 4
    assert [r[0] for r in postgres_rows(f"SELECT id FROM {schema}.articles ORDER BY id")] == [
        "article-000",
        "article-001",
        "article-003",
    ]
    # ... and every sink shows the refusal, with PostgreSQL's own message and the record.
    for letters in (
        _read_jsonl(tmp_path / "out", "dead-letter"),
        _read_parquet(tmp_path / "pq", "dead-letter", DEAD_LETTER_SCHEMA_FILE),
    ):
        [letter] = letters
        assert (letter["stage"], letter["reason"], letter["id"]) == (
            "sink",
            "postgresql_rejected",
            "article-002",
        )
        assert "\\u0000 cannot be converted to text" in letter["error"]
        assert letter["source"] == articles[2]["source"]
        assert "control character" in letter["raw"]
    [(reason, error)] = postgres_rows(f"SELECT reason, error FROM {schema}.articles_dead_letter")
    assert reason == "postgresql_rejected" and "22P05" in error


@needs_postgres
@pytest.mark.integration
def test_streaming_mode_writes_without_a_grouping_step(tmp_path, schema):
    articles = article_records(5)
    specs = [parse_sink(str(tmp_path / "out")), _postgres_spec(schema)]
    _write(specs, articles, dead_letter_records(), streaming=True)
    assert postgres_rows(f"SELECT count(*) FROM {schema}.articles") == [(5,)]
    names = os.listdir(tmp_path / "out")
    assert names and all(not name.startswith(".") and "-of-" not in name for name in names)
    assert _by("id", _read_jsonl(tmp_path / "out", "articles")) == _by("id", articles)


def test_write_records_needs_a_sink():
    with pytest.raises(ValueError, match="at least one sink"):
        WriteRecords([])


def test_check_sink_reports_an_unwritable_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    check_sink(JsonLinesSink(str(tmp_path / "fine")))
    with pytest.raises(SinkUnavailable, match="not writable"):
        check_sink(ParquetSink(str(blocker / "sub")))


@needs_postgres
@pytest.mark.integration
def test_check_sink_creates_the_tables_or_says_why_not(schema):
    check_sink(_postgres_spec(schema))
    tables = postgres_rows(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name",
        (schema,),
    )
    assert tables == [("articles",), ("articles_dead_letter",)]
    with pytest.raises(SinkUnavailable, match="does not exist"):
        check_sink(parse_sink(POSTGRES_DSN.rsplit("/", 1)[0] + "/newsbeam_no_such_db"))
