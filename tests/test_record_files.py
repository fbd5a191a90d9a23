"""JSON Lines and Parquet file formats: write, refuse bad rows, read back (pyarrow, DuckDB)."""

import io

import pyarrow.parquet as pq
import pytest
from sink_helpers import article_records, normalise_times

from newsbeam.transforms.io.files.jsonl_format import JsonLinesFormat, read_json_lines
from newsbeam.transforms.io.parquet.arrow_schema import ARTICLE_SCHEMA_FILE
from newsbeam.transforms.io.parquet.format import ParquetFormat, read_parquet_records


def test_json_lines_round_trip_and_refusals():
    records = article_records(4)
    bad = {**records[1], "title": "\ud800 lone surrogate"}  # orjson will not encode it
    stream = io.BytesIO()
    writer = JsonLinesFormat().open(stream)
    rejections = writer.write([records[0], bad, records[2], records[3]])
    writer.close()
    assert [r.index for r in rejections] == [1]
    assert "not encodable as JSON" in rejections[0].error
    stream.seek(0)
    assert read_json_lines(stream) == [records[0], records[2], records[3]]
    assert writer.records_written == 3


def _write_parquet(path, batches):
    fmt = ParquetFormat(ARTICLE_SCHEMA_FILE, batch_size=3)
    with open(path, "wb") as stream:
        writer = fmt.open(stream)
        rejections = [writer.write(batch) for batch in batches]
        writer.close()
    return fmt, rejections


def test_parquet_round_trip_one_row_group_per_batch(tmp_path):
    records = article_records(6)
    path = tmp_path / "articles.parquet"
    fmt, rejections = _write_parquet(path, [records[:3], records[3:]])
    assert rejections == [[], []]
    assert pq.ParquetFile(path).metadata.num_row_groups == 2
    back = read_parquet_records(str(path), fmt.shaper)
    assert [normalise_times(r) for r in back] == [normalise_times(r) for r in records]


def test_parquet_refuses_only_the_bad_rows(tmp_path):
    records = article_records(5)
    records[1] = {**records[1], "word_count": "many"}  # wrong leaf type: pyarrow refuses
    records[3] = {**records[3], "mood": "sunny"}  # not in the contract
    path = tmp_path / "articles.parquet"
    fmt, [rejections] = _write_parquet(path, [records])
    assert [r.index for r in rejections] == [1, 3]
    assert "word_count" in rejections[0].error
    assert "mood" in rejections[1].error
    back = read_parquet_records(str(path), fmt.shaper)
    assert [r["id"] for r in back] == ["article-000", "article-002", "article-004"]


def test_the_parquet_format_pickles_without_its_derived_schema():
    import pickle

    fmt = ParquetFormat(ARTICLE_SCHEMA_FILE)
    assert fmt.shaper is not None
    copy = pickle.loads(pickle.dumps(fmt))
    assert copy._shaper is None and copy.shaper.arrow_schema == fmt.shaper.arrow_schema


def test_duckdb_reads_the_nested_columns(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    records = article_records(6)
    path = tmp_path / "articles.parquet"
    _write_parquet(path, [records])
    con = duckdb.connect()
    rows = con.execute(
        f"""
        SELECT id, language, duplicate.status, removed['nav'], len(topics),
               source.kind, epoch(published_at)
        FROM read_parquet('{path}') ORDER BY id
        """
    ).fetchall()
    assert [row[0] for row in rows] == [r["id"] for r in records]
    assert [row[2] for row in rows] == [r["duplicate"]["status"] for r in records]
    # DuckDB 1.x returns a list for a map lookup, later versions the value itself.
    nav = [row[3][0] if isinstance(row[3], list) else row[3] for row in rows]
    assert nav == [r["removed"].get("nav") for r in records]
    assert [row[4] for row in rows] == [len(r["topics"]) for r in records]
    assert [row[5] for row in rows] == [r["source"]["kind"] for r in records]
    # 2024-03-10T08:00:00+02:00 is 06:00 UTC.
    assert rows[0][6] == 1710050400
    assert rows[5][6] is None
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    column_types = {row[0]: row[1] for row in described}
    assert column_types["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert column_types["removed"] == "MAP(VARCHAR, BIGINT)"
    assert column_types["duplicate"].startswith("STRUCT(status VARCHAR")
