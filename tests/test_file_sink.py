"""File sinks on the DirectRunner: shard names, re-runs, empty runs, streaming files."""

import base64
import glob
import os

import apache_beam as beam
import orjson
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from sink_helpers import article_records, dead_letter_records, normalise_times

from newsbeam.transforms.io.files.jsonl import WriteJsonLines
from newsbeam.transforms.io.files.jsonl_format import JsonLinesFormat, read_json_lines
from newsbeam.transforms.io.files.sink import WriteRecordFiles
from newsbeam.transforms.io.parquet.arrow_schema import ARTICLE_SCHEMA_FILE, RecordShaper
from newsbeam.transforms.io.parquet.format import read_parquet_records
from newsbeam.transforms.io.parquet.sink import WriteParquet
from newsbeam.transforms.io.rejections import Rejection


def _jsonl(directory, prefix="articles"):
    rows = []
    for path in sorted(glob.glob(os.path.join(directory, f"{prefix}-*.jsonl"))):
        with open(path, "rb") as handle:
            rows.extend(read_json_lines(handle))
    return rows


def _rejections(pcoll, label="rejections"):
    return pcoll | label >> beam.Map(lambda d: (d.stage, d.reason, d.id))


def test_batch_jsonl_and_parquet_shards_and_rejections(tmp_path):
    records = article_records(6)
    records[2] = {**records[2], "word_count": "many"}  # JSON can hold it; Parquet cannot
    with TestPipeline() as p:
        rows = p | beam.Create(records)
        jsonl_rejected = rows | "jsonl" >> WriteJsonLines(str(tmp_path / "j"))
        parquet_rejected = rows | "parquet" >> WriteParquet(str(tmp_path / "p"))
        assert_that(_rejections(jsonl_rejected, "j"), equal_to([]), label="jsonl none")
        assert_that(
            _rejections(parquet_rejected, "p"),
            equal_to([("sink", "parquet_rejected", "article-002")]),
            label="parquet one",
        )
    assert os.listdir(tmp_path / "j") == ["articles-00000-of-00001.jsonl"]
    assert os.listdir(tmp_path / "p") == ["articles-00000-of-00001.parquet"]
    assert sorted(_jsonl(tmp_path / "j"), key=lambda r: r["id"]) == records
    shaper = RecordShaper.from_schema_file(ARTICLE_SCHEMA_FILE)
    back = read_parquet_records(str(tmp_path / "p" / "articles-00000-of-00001.parquet"), shaper)
    expected = [normalise_times(r) for r in records if r["id"] != "article-002"]
    assert sorted((normalise_times(r) for r in back), key=lambda r: r["id"]) == expected


def test_a_rerun_replaces_older_shards_and_leaves_other_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("articles-00000-of-00003.jsonl", "articles-00002-of-00003.jsonl"):
        (out / name).write_text('{"id": "stale"}\n')
    (out / "dead-letter-00000-of-00001.jsonl").write_text("{}\n")
    (out / "notes.txt").write_text("mine")
    with TestPipeline() as p:
        _ = p | beam.Create(article_records(3)) | WriteJsonLines(str(out))
    assert sorted(os.listdir(out)) == [
        "articles-00000-of-00001.jsonl",
        "dead-letter-00000-of-00001.jsonl",
        "notes.txt",
    ]
    assert "stale" not in {r["id"] for r in _jsonl(out)}


def test_an_empty_run_leaves_one_valid_empty_file(tmp_path):
    with TestPipeline() as p:
        nothing = p | beam.Create([])
        _ = nothing | "jsonl" >> WriteJsonLines(str(tmp_path / "j"))
        _ = nothing | "parquet" >> WriteParquet(str(tmp_path / "p"))
    assert (tmp_path / "j" / "articles-00000-of-00001.jsonl").read_bytes() == b""
    table = pq.read_table(tmp_path / "p" / "articles-00000-of-00001.parquet")
    assert table.num_rows == 0
    assert table.schema.equals(RecordShaper.from_schema_file(ARTICLE_SCHEMA_FILE).arrow_schema)


def test_big_bundles_roll_over_into_numbered_shards(tmp_path):
    records = article_records(7)
    with TestPipeline() as p:
        _ = (
            p
            | beam.Create(records)
            | WriteRecordFiles(
                str(tmp_path), "articles", JsonLinesFormat(batch_size=2), max_records_per_file=3
            )
        )
    names = sorted(os.listdir(tmp_path))
    assert len(names) >= 2  # a file closes once it holds 3 or more records
    assert all(name.endswith(f"-of-{len(names):05d}.jsonl") for name in names)
    assert sorted(r["id"] for r in _jsonl(tmp_path)) == [r["id"] for r in records]


def test_streaming_mode_names_each_bundle_file_and_renames_it_when_complete(tmp_path):
    records = article_records(4)
    with TestPipeline() as p:
        _ = p | beam.Create(records) | WriteJsonLines(str(tmp_path), streaming=True)
    names = os.listdir(tmp_path)
    assert names, "no file written"
    for name in names:
        # articles-<UTC timestamp>-<random>.jsonl, no hidden in-progress file left
        assert name.startswith("articles-2") and name.endswith(".jsonl"), name
        assert "-of-" not in name
    assert sorted(r["id"] for r in _jsonl(tmp_path)) == [r["id"] for r in records]


class _NoNulFormat(JsonLinesFormat):
    """JSON Lines for a store that cannot hold NUL characters (as PostgreSQL text)."""

    name = "nonul"

    def open(self, stream):
        inner = super().open(stream)

        class Writer:
            @property
            def records_written(self):
                return inner.records_written

            def write(self, records):
                # orjson writes NUL as the escape \u0000
                refused = [i for i, r in enumerate(records) if b"\\u0000" in orjson.dumps(r)]
                kept = [r for i, r in enumerate(records) if i not in refused]
                accepted = inner.write(kept)
                assert accepted == []
                return [Rejection(i, "NUL not allowed") for i in refused]

            def close(self):
                inner.close()

        return Writer()


def test_a_dead_letter_the_format_refuses_is_kept_in_base64(tmp_path):
    letters = dead_letter_records()
    letters[0] = {**letters[0], "raw": "binary\x00junk", "error": "bad\x00byte"}
    with TestPipeline() as p:
        rejected = (
            p
            | beam.Create(letters)
            | WriteRecordFiles(str(tmp_path), "dead-letter", _NoNulFormat(), dead_letter_rows=True)
        )
        assert_that(_rejections(rejected), equal_to([]))
    written = {r["reason"]: r for r in _jsonl(tmp_path, "dead-letter")}
    assert written["no_text"] == letters[1]
    armored = written["malformed_json"]
    assert armored["raw"] == "base64:" + base64.b64encode(b"binary\x00junk").decode()
    assert armored["error"] == "bad\ufffdbyte"
    assert armored["source"] == letters[0]["source"]
