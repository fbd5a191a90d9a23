"""The local batch run in two passes (pipelines/local_batch.py): the one-graph job's
records, dead letters and counts, duplicates found across files, nothing lost."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from conftest import EXAMPLES
from newsbeam.cli import main
from newsbeam.pipelines import local_batch
from newsbeam.pipelines.batch import local_worker_args, run_batch
from newsbeam.pipelines.config import BatchRunConfig, PipelineConfig
from newsbeam.transforms.dedup import sketch as sketch_module
from newsbeam.transforms.io.files.reading import discover_inputs
from newsbeam.transforms.story.config import StoryConfig


def _good_lines(path: Path) -> list[dict]:
    rows = []
    for line in path.read_bytes().splitlines():
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue  # the example's deliberately malformed line
    return rows


WIRE = _good_lines(EXAMPLES / "wire-feed.jsonl")


def _records(folder: Path, pattern: str) -> list[bytes]:
    rows = []
    for path in sorted(folder.glob(pattern)):
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            record.pop("ingested_at", None)  # the run's start
            record.pop("failed_at", None)
            rows.append(orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
    return sorted(rows)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The examples, plus an original in the first file whose syndicated copy, published
    earlier, is in the last file (both before the examples' wire story they copy, so the
    last file's copy represents that whole cluster), and a large feed that the sketch
    pass reads in several ranges."""
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLES, folder)
    original = {**WIRE[0], "id": "first-file-original", "published_at": "2024-01-02T00:00:00Z"}
    copy = {
        **WIRE[0],
        "id": "last-file-copy",
        "published_at": "2024-01-01T00:00:00Z",
        "text": "UPDATED: " + WIRE[0]["text"] + "\n\nReporting by the desk.",
    }
    (folder / "aaa-first.jsonl").write_bytes(orjson.dumps(original) + b"\n")
    (folder / "zzz-last.jsonl").write_bytes(orjson.dumps(copy) + b"\n")
    big = [{**row, "id": f"{row['id']}-{n}"} for n in range(6) for row in WIRE if "text" in row]
    # Forty versions of one story, each with its own closing line: LSH buckets of more
    # texts than `max_bucket_size` (paired with neighbours only) and anchors in more
    # than `max_anchor_bucket` (stock phrases), which the run report counts once each.
    big += [
        {**WIRE[0], "id": f"version-{n}", "text": f"{WIRE[0]['text']}\n\nDesk note {n}: {n * 7}."}
        for n in range(40)
    ]
    lines = [orjson.dumps(row) for row in big]
    lines.insert(3, b"{not json")
    (folder / "big-feed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "open_stories"),
    # One open story at a time: the cap closes stories in both jobs alike (`evicted`).
    [(1, 10_000), (2, 10_000), (1, 1)],
)
def test_two_passes_give_the_one_graph_jobs_output(
    corpus, tmp_path, monkeypatch, workers, open_stories
):
    # With two worker processes the driver step runs in one of them, after the barrier
    # of every spill file the sketch pass committed (one pipeline).
    monkeypatch.setattr(local_batch, "SPLIT_BYTES", 4_000)  # the big feed in ranges
    paths = discover_inputs([str(corpus)])
    pipeline = PipelineConfig(story=StoryConfig(max_active_stories=open_stories))
    reports = {}
    for two_passes in (False, True):
        out = tmp_path / f"out-{two_passes}"
        config = BatchRunConfig(
            inputs=(str(corpus),),
            output_dir=str(out),
            pipeline=pipeline,
            workers=workers if two_passes else 1,
            two_passes=two_passes,
        )
        reports[two_passes] = run_batch(config, paths)
    one, two = tmp_path / "out-False", tmp_path / "out-True"
    assert _records(two, "articles-*.jsonl") == _records(one, "articles-*.jsonl")
    assert _records(two, "dead-letter-*.jsonl") == _records(one, "dead-letter-*.jsonl")
    for key in ("files_read", "articles_parsed", "articles_written", "dead_letters", "filtered"):
        assert reports[True][key] == reports[False][key], key
    stages = {k: v for k, v in reports[True]["stages"].items() if k != "read"}
    assert stages == {k: v for k, v in reports[False]["stages"].items() if k != "read"}
    assert reports[True]["all_articles_accounted_for"] is True
    assert stages["dedup"]["oversized_bucket"] > 0 and stages["dedup"]["stock_phrase_anchor"] > 0
    assert (stages["story"].get("evicted", 0) > 0) == (open_stories == 1), stages["story"]
    # Found across files: the original in the first file, its copy in the last.
    labels = {
        row["id"]: row["duplicate"]
        for path in two.glob("articles-*.jsonl")
        for row in map(orjson.loads, path.read_bytes().splitlines())
    }
    assert labels["first-file-original"]["of"] == "last-file-copy"
    assert labels["last-file-copy"]["status"] == "unique"
    assert labels["wire-g20-tax-5"]["of"] == "last-file-copy"  # and its copies in the feed


@pytest.mark.slow
def _run_wire_feed(out: Path) -> tuple[dict, list[dict]]:
    """The two-pass run over the examples' wire feed: (run report, dead letters)."""
    feed = EXAMPLES / "wire-feed.jsonl"
    config = BatchRunConfig(inputs=(str(feed),), output_dir=str(out), workers=1)
    report = run_batch(config, [str(feed)])
    dead = [json.loads(line) for p in out.glob("dead-letter-*.jsonl") for line in p.open()]
    return report, dead


def test_a_sketch_that_fails_is_a_dedup_error_dead_letter(tmp_path, monkeypatch):
    real = sketch_module.build_sketches

    def failing(items, config):  # fails any bundle that holds the article
        if any(article_id == "daily-g20-tax" for article_id, _, _ in items):
            raise MemoryError("no room")
        return real(items, config)

    monkeypatch.setattr(sketch_module, "build_sketches", failing)
    report, dead = _run_wire_feed(tmp_path / "out")
    failed = [d for d in dead if d["reason"] == "dedup_error"]
    assert len(failed) == 1 and "daily-g20-tax" in failed[0]["raw"]
    assert report["dead_letters"]["dedup.dedup_error"] == 1
    assert report["all_articles_accounted_for"] is True


def test_an_observation_that_fails_is_a_story_error_dead_letter(tmp_path, monkeypatch):
    real = local_batch.observe

    def failing(article, config):
        if article.id == "wire-g20-tax":
            raise RecursionError("too deep")
        return real(article, config)

    monkeypatch.setattr(local_batch, "observe", failing)
    out = tmp_path / "out"
    report, dead = _run_wire_feed(out)
    failed = [d for d in dead if d["reason"] == "story_error"]
    assert len(failed) == 1 and "wire-g20-tax" in failed[0]["raw"]
    assert report["dead_letters"]["story.story_error"] == 1
    assert report["all_articles_accounted_for"] is True
    records = {
        row["id"]: row
        for path in out.glob("articles-*.jsonl")
        for row in map(orjson.loads, path.read_bytes().splitlines())
    }
    # Still a representative for dedup (it fails after dedup in the one-graph job), but
    # its copies found their own story: it is in none.
    assert records["daily-g20-tax"]["duplicate"]["of"] == "wire-g20-tax"
    assert records["daily-g20-tax"]["story"]["id"] != "wire-g20-tax"


def test_spill_files_hold_only_complete_parts(tmp_path):
    writer = local_batch._SpillWriter(str(tmp_path), "articles", every=3)
    for number in range(7):
        writer.write({"n": number})
    writer.commit()
    writer.commit()  # nothing left: no file
    second = local_batch._SpillWriter(str(tmp_path), "articles")
    second.write({"n": "from a bundle that failed"})
    second.discard()  # a failed bundle's part is removed, never read
    files = local_batch.spill_files(str(tmp_path), "articles")
    assert len(files) == 3
    read = sorted(row["n"] for path in files for row in local_batch.read_spill(path))
    assert read == list(range(7))
    assert not list(tmp_path.glob("*.part"))


def test_spilled_objects_load_from_any_place_with_few_files_open(tmp_path, monkeypatch):
    monkeypatch.setattr(local_batch, "MAX_OPEN_SPILL_FILES", 2)
    writer = local_batch._SpillWriter(str(tmp_path), "sketches", every=2)
    for number in range(10):
        writer.write({"n": number})
    writer.commit()
    paths = local_batch.spill_files(str(tmp_path), "sketches")
    places = {row["n"]: place for row, place in local_batch.spilled_with_places(paths)}
    loader = local_batch.SpilledObjects(paths)
    try:
        for number in [9, 0, 5, 1, 8, 2, 7, 3, 6, 4, 9, 0]:  # across all five files
            assert loader(places[number]) == {"n": number}
            assert len(loader._handles) <= 2
    finally:
        loader.close()


@pytest.fixture
def newsbeam_log_level():
    logger = logging.getLogger("newsbeam")
    before = logger.level
    yield logger.setLevel
    logger.setLevel(before)


def test_workers_become_local_runner_options_only(newsbeam_log_level):
    newsbeam_log_level(logging.INFO)
    config = BatchRunConfig(inputs=(), output_dir="out", workers=3)
    assert local_worker_args(config) == [
        "--direct_num_workers=3",
        "--direct_running_mode=multi_processing",
        # Worker processes log newsbeam's messages at the command's level, Beam's at WARNING.
        "--default_sdk_harness_log_level=WARNING",
        '--sdk_harness_log_level_overrides={"newsbeam":"INFO"}',
    ]
    newsbeam_log_level(logging.DEBUG)  # -v: Beam's harness messages too
    assert local_worker_args(config)[2:] == [
        "--default_sdk_harness_log_level=INFO",
        '--sdk_harness_log_level_overrides={"newsbeam":"DEBUG"}',
    ]
    mine = BatchRunConfig(
        inputs=(),
        output_dir="out",
        workers=2,
        beam_args=("--default_sdk_harness_log_level=ERROR",),
    )
    assert local_worker_args(mine) == [
        "--default_sdk_harness_log_level=ERROR",
        "--direct_num_workers=2",
        "--direct_running_mode=multi_processing",
    ]
    assert local_worker_args(BatchRunConfig(inputs=(), output_dir="out", workers=1)) == []
    portable = BatchRunConfig(
        inputs=(), output_dir="out", workers=3, beam_args=("--runner=PortableRunner",)
    )
    assert local_worker_args(portable) == ["--runner=PortableRunner"]
    chosen = BatchRunConfig(
        inputs=(), output_dir="out", workers=3, beam_args=("--direct_num_workers=1",)
    )
    assert local_worker_args(chosen) == ["--direct_num_workers=1"]


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_worker_counts_are_usage_errors(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(EXAMPLES), "--output", "x", "--workers", value])
    assert exit_info.value.code == 2
    assert "--workers" in capsys.readouterr().err


@pytest.mark.slow
def test_worker_processes_keep_beams_harness_messages_off_the_terminal(tmp_path):
    # Two worker processes per pass, as on any multi-core machine by default.
    result = subprocess.run(
        [sys.executable, "-m", "newsbeam", "run", str(EXAMPLES)]
        + ["--output", str(tmp_path / "out"), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "dedup over the whole batch" in result.stderr  # the driver step, in a worker
    # newsbeam's own messages from the workers still arrive, at the command's level.
    assert "language detection backend" in result.stderr
    for harness in ("Pipeline_options", "Creating insecure control channel", "sdk harness"):
        assert harness not in result.stderr, harness


def test_small_local_inputs_default_to_one_worker(tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_bytes(b'{"id": "a", "text": "x"}\n')
    large = tmp_path / "large.jsonl"
    with open(large, "wb") as handle:  # sparse: the size is what counts
        handle.truncate(local_batch.SMALL_INPUT_BYTES)
    assert local_batch.default_workers([str(small)], cores=4) == 1
    assert local_batch.default_workers([str(small), str(large)], cores=4) == 4
    assert local_batch.default_workers([str(large)], cores=1) == 1
    # Remote inputs are not measured: every core.
    assert local_batch.default_workers(["gs://bucket/a.jsonl"], cores=2) == 2
    # A file gone since it was listed counts as nothing (the reader reports it).
    assert local_batch.default_workers([str(tmp_path / "gone.jsonl")], cores=2) == 1


def test_workers_given_on_the_command_line_win_over_the_default(tmp_path, monkeypatch):
    chosen = []

    def run_batch(config, paths):  # records the choice, runs nothing
        chosen.append(config.workers)
        return {}

    monkeypatch.setattr("newsbeam.pipelines.batch.run_batch", run_batch)
    for argv, workers in (([], 1), (["--workers", "3"], 3)):  # the examples are small
        main(["run", str(EXAMPLES), "--output", str(tmp_path / "out"), *argv])
        assert chosen[-1] == workers
