"""Acceptance: the five sample articles through the whole batch job.

Skipped when ../shared/seeds is absent. The gold (gold.json) says which lines
are the article body and which are boilerplate.
"""

import glob
import json

import pytest

from conftest import SEEDS, needs_seeds
from newsbeam.pipelines.batch import run_batch
from newsbeam.pipelines.config import BatchRunConfig
from newsbeam.schemas.validation import validation_errors
from newsbeam.transforms.io.files.reading import discover_inputs

pytestmark = [needs_seeds, pytest.mark.slow]


@pytest.fixture(scope="module")
def seed_records(tmp_path_factory):
    out = tmp_path_factory.mktemp("seeds-out")
    paths = discover_inputs([str(SEEDS / "*.txt")])
    report = run_batch(BatchRunConfig(inputs=(str(SEEDS),), output_dir=str(out)), paths)
    records = {}
    for path in glob.glob(str(out / "articles-*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                records[record["source"]["uri"].rsplit("/", 1)[1]] = record
    return records, report


@pytest.fixture(scope="module")
def gold():
    return json.loads((SEEDS / "gold.json").read_text(encoding="utf-8"))


def _lines(name):
    # The cleaner normalises whitespace (no-break spaces become spaces); so does the gold.
    return [" ".join(line.split()) for line in (SEEDS / name).read_text("utf-8").splitlines()]


def test_every_sample_becomes_a_valid_record(seed_records, gold):
    records, report = seed_records
    assert set(records) == set(gold)
    assert report["dead_letters_written"] == 0
    for record in records.values():
        assert validation_errors(record) == []


def test_cleaned_text_keeps_every_gold_body_line_and_no_boilerplate(seed_records, gold):
    records, _ = seed_records
    for name, truth in gold.items():
        kept = [" ".join(p.split()) for p in records[name]["text"].split("\n\n")]
        lines = _lines(name)
        body = [lines[n - 1].strip() for n in truth["body"]]
        assert kept == body, name
        for number in truth["boilerplate"]:
            assert lines[int(number) - 1].strip() not in kept, (name, number)


def test_title_and_byline_where_the_text_carries_them(seed_records, gold):
    records, _ = seed_records
    for name, truth in gold.items():
        if truth["title"]:
            assert records[name]["title"] == _lines(name)[truth["title"] - 1].strip()


def test_samples_are_english_and_not_duplicates_of_each_other(seed_records, gold):
    records, _ = seed_records
    for name, truth in gold.items():
        assert records[name]["language"] == truth["language"] == "en"
        assert records[name]["duplicate"]["status"] == "unique"


def test_samples_are_labelled_politics_first(seed_records, gold):
    records, _ = seed_records
    for name, truth in gold.items():
        assert records[name]["topics"][0]["label"] == truth["topics"][0] == "politics", name
