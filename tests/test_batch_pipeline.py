"""The batch job end to end on the DirectRunner."""

import glob
import json
import os

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from conftest import EXAMPLES
from newsbeam.pipelines.batch import run_batch
from newsbeam.pipelines.config import BatchRunConfig, PipelineConfig
from newsbeam.pipelines.stages import ProcessArticles
from newsbeam.schemas.validation import DEAD_LETTER_SCHEMA, validation_errors
from newsbeam.transforms.io.files.reading import discover_inputs
from newsbeam.transforms.io.files.source import DEAD_LETTER, ReadArticleFiles


def _read_jsonl(pattern):
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as handle:
            rows.extend(json.loads(line) for line in handle if line.strip())
    return rows


@pytest.fixture
def messy_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text("Ships queued outside the port as the strike went on.\n")
    (folder / "feed.jsonl").write_text(
        '{"id": "g1", "text": "A good record."}\n'
        "{not json\n"
        '{"id": "no-text", "title": "headline only"}\n'
        '{"id": "g2", "html": "<html><body><p>Para</p></body></html>"}\n'
    )
    (folder / "empty.json").write_text("")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 16)
    return folder


def test_read_and_parse_transform_splits_good_and_bad(messy_folder):
    paths = discover_inputs([str(messy_folder)])
    with TestPipeline() as p:
        read = p | ReadArticleFiles(paths, ingested_at="2024-01-01T00:00:00Z")
        ids = read.main | "Ids" >> beam.Map(lambda a: a.id)
        reasons = read[DEAD_LETTER] | "Reasons" >> beam.Map(lambda d: (d.stage, d.reason))
        assert_that(ids, lambda got: _has_ids(got, {"g1", "g2"}, total=3), label="ids")
        assert_that(
            reasons,
            equal_to(
                [
                    ("read", "malformed_json"),
                    ("parse", "no_text"),
                    ("read", "empty_file"),
                    ("read", "undecodable"),
                ]
            ),
            label="reasons",
        )


def _has_ids(got, expected, total):
    assert len(got) == total, got
    assert expected <= set(got), got


def test_process_articles_routes_earlier_dead_letters(messy_folder):
    paths = discover_inputs([str(messy_folder)])
    with TestPipeline() as p:
        read = p | ReadArticleFiles(paths, ingested_at="2024-01-01T00:00:00Z")
        out = read.main | ProcessArticles(PipelineConfig(), dead_letters_in=read[DEAD_LETTER])
        assert_that(
            out["dead_letters"] | beam.Map(lambda r: validation_errors(r, DEAD_LETTER_SCHEMA)),
            equal_to([[], [], [], []]),
        )


def test_run_writes_every_good_record_and_every_bad_one(messy_folder, tmp_path):
    out = tmp_path / "out"
    config = BatchRunConfig(inputs=(str(messy_folder),), output_dir=str(out))
    report = run_batch(config, discover_inputs([str(messy_folder)]))
    articles = _read_jsonl(str(out / "articles-*.jsonl"))
    dead = _read_jsonl(str(out / "dead-letter-*.jsonl"))
    assert {"g1", "g2"} <= {a["id"] for a in articles}
    assert sorted(d["reason"] for d in dead) == [
        "empty_file",
        "malformed_json",
        "no_text",
        "undecodable",
    ]
    assert {d["raw"] for d in dead if d["reason"] == "malformed_json"} == {"{not json"}
    assert report["articles_written"] == len(articles)
    assert report["dead_letters_written"] == len(dead) == 4
    assert report["all_articles_accounted_for"] is True
    assert json.loads((out / "run-report.json").read_text())["files_read"] == 4


def test_every_record_written_for_the_examples_validates(tmp_path):
    out = tmp_path / "out"
    config = BatchRunConfig(inputs=(str(EXAMPLES),), output_dir=str(out))
    run_batch(config, discover_inputs([str(EXAMPLES)]))
    articles = _read_jsonl(str(out / "articles-*.jsonl"))
    dead = _read_jsonl(str(out / "dead-letter-*.jsonl"))
    assert len(articles) >= 8
    for record in articles:
        assert validation_errors(record) == [], record["id"]
    for record in dead:
        assert validation_errors(record, DEAD_LETTER_SCHEMA) == [], record


def test_a_rerun_replaces_the_previous_output(messy_folder, tmp_path):
    out = tmp_path / "out"
    os.makedirs(out)
    (out / "articles-00000-of-00003.jsonl").write_text('{"id": "stale"}\n')
    config = BatchRunConfig(inputs=(str(messy_folder),), output_dir=str(out))
    run_batch(config, discover_inputs([str(messy_folder)]))
    assert "stale" not in {a["id"] for a in _read_jsonl(str(out / "articles-*.jsonl"))}


def test_drop_duplicates_keeps_only_representatives(tmp_path):
    feed = EXAMPLES / "wire-feed.jsonl"
    out = tmp_path / "out"
    config = BatchRunConfig(
        inputs=(str(feed),),
        output_dir=str(out),
        pipeline=PipelineConfig(drop_duplicates=True),
    )
    report = run_batch(config, [str(feed)])
    ids = {a["id"] for a in _read_jsonl(str(out / "articles-*.jsonl"))}
    # The wire story is kept; its syndicated near-copy and its exact copy are counted.
    assert "wire-g20-tax" in ids
    assert not ids & {"daily-g20-tax", "aggregator-g20-tax"}
    assert report["filtered"] == {"duplicate.exact": 1, "duplicate.near": 1}
    assert report["all_articles_accounted_for"] is True
