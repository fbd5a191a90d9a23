"""--sink values: every accepted form, and a clear error for the rest."""

import argparse

import pytest

from newsbeam.transforms.io.sink_specs import (
    JsonLinesSink,
    ParquetSink,
    PostgresSink,
    parse_sink,
    parse_sink_option,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("out", JsonLinesSink("out")),
        ("./data/out/", JsonLinesSink("./data/out/")),
        ("jsonl:out", JsonLinesSink("out")),
        ("jsonl:gs://bucket/news", JsonLinesSink("gs://bucket/news")),
        ("gs://bucket/news", JsonLinesSink("gs://bucket/news")),
        ("parquet:warehouse/articles", ParquetSink("warehouse/articles")),
        ("lake/articles.parquet", ParquetSink("lake/articles.parquet")),
        ("lake/articles.parquet/", ParquetSink("lake/articles.parquet/")),
        ("s3://lake/articles.parquet", ParquetSink("s3://lake/articles.parquet")),
    ],
)
def test_file_sinks(value, expected):
    assert parse_sink(value) == expected


def test_postgres_sink_keeps_libpq_options_and_takes_its_own():
    spec = parse_sink(
        "postgresql://writer:s3cret@db.internal:5432/news"
        "?table=ingest.articles&sslmode=require&batch_size=200"
    )
    assert isinstance(spec, PostgresSink)
    assert spec.table == "ingest.articles"
    assert spec.dead_letter_table == "ingest.articles_dead_letter"
    assert spec.batch_size == 200
    assert spec.conninfo == "postgresql://writer:s3cret@db.internal:5432/news?sslmode=require"
    # The password never reaches a log line.
    assert "s3cret" not in spec.describe()
    assert "***" in spec.describe()


def test_postgres_defaults_and_alias():
    spec = parse_sink("postgres://postgres@127.0.0.1:5432/test")
    assert (spec.table, spec.dead_letter_table) == ("articles", "articles_dead_letter")
    assert spec.conninfo == "postgres://postgres@127.0.0.1:5432/test"
    custom = parse_sink("postgresql://u@h/db?table=a&dead_letter_table=failures")
    assert custom.dead_letter_table == "failures"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("kafka:articles", "unknown sink"),
        ("mysql://u@h/db", "scheme 'mysql'"),
        ("", "empty sink"),
        ("jsonl:", "names no directory"),
        ("parquet:", "names no directory"),
        ("postgresql:db", "expected postgresql://"),
        ("postgresql://u@h/db?table=articles;drop", "not a table name"),
        ("postgresql://u@h/db?table=a.b.c", "not a table name"),
        ("postgresql://u@h/db?table=" + "t" * 60, "longer than"),
        ("postgresql://u@h/db?batch_size=0", "batch_size"),
        ("postgresql://u@h/db?batch_size=ten", "batch_size"),
    ],
)
def test_bad_sinks_raise_a_message_for_the_user(value, message):
    with pytest.raises(ValueError, match=message):
        parse_sink(value)


def test_argparse_reports_the_message_and_exits_2(capsys):
    parser = argparse.ArgumentParser(prog="newsbeam")
    parser.add_argument("--sink", action="append", type=parse_sink_option)
    assert parser.parse_args(["--sink", "out", "--sink", "x.parquet"]).sink == [
        JsonLinesSink("out"),
        ParquetSink("x.parquet"),
    ]
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--sink", "kafka:topic"])
    assert exit_info.value.code == 2
    assert "argument --sink: unknown sink 'kafka:topic'" in capsys.readouterr().err


def test_the_uri_named_in_messages_masks_the_password_and_names_the_same_tables():
    # It goes into "run `newsbeam migrate --sink URI`": parsed back, the same tables.
    spec = parse_sink(
        "postgresql://writer:s3cret@db.internal:5432/news"
        "?table=ingest.articles&sslmode=require&dead_letter_table=ingest.failures"
    )
    shown = spec.masked_uri()
    assert "s3cret" not in shown and "writer:***@" in shown
    again = parse_sink(shown)
    assert (again.table, again.dead_letter_table) == ("ingest.articles", "ingest.failures")
    assert again.conninfo.endswith("?sslmode=require")
    plain = parse_sink("postgresql://u@h/db?table=a")
    assert plain.masked_uri() == "postgresql://u@h/db?table=a"
