"""Parquet files of different schema versions in one folder read back together."""

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from schema_fixtures import fixture_records, next_article_minor
from sink_helpers import article_records, same_instant

from newsbeam.schemas.versions import ARTICLE, Version
from newsbeam.transforms.io.parquet.arrow_schema import ARTICLE_SCHEMA_FILE, RecordShaper
from newsbeam.transforms.io.parquet.format import ParquetFormat, record_dataset


def _next_minor_records():
    records = article_records(3)
    for index, record in enumerate(records):
        record["id"] = f"new-{index}"
        record["duplicate"] = {
            "status": "contained",
            "of": "article-000",
            "similarity": 0.6,
            "containment": 0.97 - index / 10,
        }
        record["story"] = {"id": f"story-{index}", "similarity": 0.5, "size": index + 1}
    return records


@pytest.fixture
def mixed_folder(tmp_path):
    """1.0 files (frozen fixture records), a file of today's writer, a synthetic 1.3 file."""
    old = RecordShaper.from_schema_file(ARTICLE.released_file(Version(1, 0)))
    pq.write_table(
        old.to_table(fixture_records("article-1.0.jsonl")), tmp_path / "articles-a.parquet"
    )
    current = RecordShaper.from_schema_file(ARTICLE_SCHEMA_FILE)
    today = article_records(2)
    for record in today:
        record["id"] = "today-" + record["id"]
    with open(tmp_path / "articles-b.parquet", "wb") as handle:
        writer = ParquetFormat(ARTICLE_SCHEMA_FILE).open(handle)
        assert writer.write(today) == []
        writer.close()
    following = RecordShaper(next_article_minor(), version="article/1.3")
    pq.write_table(following.to_table(_next_minor_records()), tmp_path / "articles-c.parquet")
    # Not part of the record files: must be left out by the prefix.
    pq.write_table(old.to_table(fixture_records("article-1.0.jsonl")[:1]), tmp_path / "x.parquet")
    assert current.arrow_schema.metadata[b"newsbeam.schema_version"] == (
        f"article/{ARTICLE.current}".encode()
    )
    return tmp_path, following


def test_duckdb_union_by_name_reads_every_version(mixed_folder):
    folder, _ = mixed_folder
    rows = duckdb.sql(
        f"SELECT id, duplicate.status, duplicate.containment, story.id, word_count "
        f"FROM read_parquet('{folder}/articles-*.parquet', union_by_name = true) ORDER BY id"
    ).fetchall()
    assert len(rows) == 6 + 2 + 3
    by_id = {row[0]: row for row in rows}
    old = fixture_records("article-1.0.jsonl")
    for record in old:
        row = by_id[record["id"]]
        assert row[1] == record["duplicate"]["status"]
        assert row[2] is None and row[3] is None  # fields the old files do not have
        assert row[4] == record["word_count"]
    assert by_id["new-0"][1:4] == ("contained", 0.97, "story-0")
    assert by_id["today-article-001"][2] is None


def test_pyarrow_dataset_over_the_union_of_the_schemas(mixed_folder):
    folder, following = mixed_folder
    dataset = record_dataset(str(folder), "articles")
    assert len(dataset.files) == 3
    table = dataset.to_table()
    assert table.num_rows == 11
    assert table.schema.field("duplicate").type.get_field_index("containment") >= 0
    rows = {row["id"]: row for row in table.to_pylist()}
    assert rows["article-003"]["duplicate"]["containment"] is None
    assert rows["article-003"]["story"] is None
    assert rows["new-2"]["story"] == {"id": "story-2", "similarity": 0.5, "size": 3}
    # Old rows come back exactly as they were written: the new optional fields stay absent.
    restored = {r["id"]: r for r in following.from_arrow_rows(table.to_pylist())}
    for record in fixture_records("article-1.0.jsonl"):
        back = restored[record["id"]]
        assert "story" not in back
        assert back == {
            **record,
            "published_at": back["published_at"],
            "ingested_at": back["ingested_at"],
        }
        assert same_instant(back["published_at"], record["published_at"])


def test_a_plain_dataset_takes_the_first_files_schema_and_drops_new_columns(mixed_folder):
    # The trap the README warns about, and the reason for record_dataset/union_by_name.
    folder, _ = mixed_folder
    naive = ds.dataset(sorted(str(p) for p in folder.glob("articles-*.parquet")))
    assert "story" not in naive.schema.names
    columns = duckdb.sql(f"SELECT * FROM '{folder}/articles-*.parquet'").columns
    assert "id" in columns and "story" not in columns


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no articles-"):
        record_dataset(str(tmp_path), "articles")


def test_a_run_of_today_into_a_folder_of_1_0_dead_letters(tmp_path):
    """Dead letters changed for real (1.0 -> 1.1, `schema_version` added): a batch run of the
    current version writes into a folder holding 1.0 files; both read back together."""
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline

    from newsbeam.schemas.versions import DEAD_LETTER
    from newsbeam.transforms.io.sinks import ParquetSink, WriteRecords

    old_shaper = RecordShaper.from_schema_file(DEAD_LETTER.released_file(Version(1, 0)))
    old = fixture_records("dead_letter-1.0.jsonl")
    pq.write_table(old_shaper.to_table(old), tmp_path / "dead-letter-20240101-1.0.parquet")
    new = [{**letter, "raw": letter["raw"] + " again"} for letter in old]
    for letter in new:
        letter["schema_version"] = 1
    with TestPipeline() as p:
        _ = {
            "articles": p | "a" >> beam.Create(article_records(2)),
            "dead_letters": p | "d" >> beam.Create(new),
        } | WriteRecords([ParquetSink(str(tmp_path))])
    rows = record_dataset(str(tmp_path), "dead-letter").to_table().to_pylist()
    versions = sorted((row["raw"], row["schema_version"]) for row in rows)
    assert versions == sorted([(r["raw"], None) for r in old] + [(r["raw"], 1) for r in new])
    count = duckdb.sql(
        f"SELECT count(*), count(schema_version) FROM read_parquet("
        f"'{tmp_path}/dead-letter-*.parquet', union_by_name = true)"
    ).fetchall()
    assert count == [(4, 2)]
    current = pq.read_schema(next(tmp_path.glob("dead-letter-0*.parquet")))
    assert (
        current.metadata[b"newsbeam.schema_version"]
        == f"dead_letter/{DEAD_LETTER.current}".encode()
    )
