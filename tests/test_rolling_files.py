"""Rolling streaming files and the commit gate, on their own (no Beam, no broker).

How rolling breaks in real use, and what each test pins down:
- a commit offered while a file holding its records is open must wait for the rename,
  but one offered before the file opened must not wait for it;
- files roll on size, age and record count, whichever is first;
- a file that never gets a record leaves nothing behind; an in-progress file is hidden
  from readers (DuckDB) and removed when the job starts again;
- Parquet row groups are filled across small batches, and rows the schema refuses are
  known at once (not at the roll), so a roll never emits anything;
- partitions by event date and language, with dead letters (no language) too.
"""

from __future__ import annotations

import gc

import duckdb
import pyarrow.parquet as pq
import pytest
from sink_helpers import article_records

from newsbeam.transforms.io.commit_gate import CommitGate
from newsbeam.transforms.io.files.jsonl_format import JsonLinesFormat, read_json_lines
from newsbeam.transforms.io.files.rolling import RollingFiles, RollPolicy, remove_in_progress
from newsbeam.transforms.io.parquet.arrow_schema import ARTICLE_SCHEMA_FILE
from newsbeam.transforms.io.parquet.format import ParquetFormat


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_commit_waits_for_a_file_open_before_it_and_runs_after_the_rename():
    gate, done = CommitGate(), []
    hold = gate.hold("f1")
    assert gate.commit(lambda: done.append("bundle 1")) is False
    assert done == [] and gate.waiting == 1
    gate.release(hold)
    assert done == ["bundle 1"] and gate.waiting == 0


def test_a_file_opened_after_a_commit_does_not_hold_it_back():
    gate, done = CommitGate(), []
    first = gate.hold("old file")
    gate.commit(lambda: done.append("b1"))  # waits for the old file
    later = gate.hold("new file")  # opened after b1 was offered
    gate.release(first)
    assert done == ["b1"]
    gate.commit(lambda: done.append("b2"))  # b2's records may sit in the new file
    assert done == ["b1"]
    gate.release(later)
    assert done == ["b1", "b2"]


def test_commits_run_in_the_order_they_were_offered():
    gate, done = CommitGate(), []
    a, b = gate.hold("a"), gate.hold("b")
    gate.commit(lambda: done.append(1))
    gate.commit(lambda: done.append(2))
    gate.release(b)
    assert done == []
    gate.release(a)
    assert done == [1, 2]


def test_a_holder_that_disappears_cannot_block_commits_forever():
    gate, done = CommitGate(), []
    hold = gate.hold("crashed writer")
    gate.commit(lambda: done.append("early"))
    del hold
    gc.collect()
    gate.commit(lambda: done.append("late"))
    assert done == ["early", "late"]


def test_a_failing_commit_does_not_stop_the_others():
    gate, done = CommitGate(), []
    hold = gate.hold()
    gate.commit(lambda: 1 / 0)
    gate.commit(lambda: done.append("next"))
    gate.release(hold)
    assert done == ["next"]


_TEMPLATE = article_records(1)[0]


def article_record(record_id: str) -> dict:
    return {**_TEMPLATE, "id": record_id}


def _records(n: int, **overrides) -> list[dict]:
    return [{**article_record(f"a-{i}"), **overrides} for i in range(n)]


def _final_files(root, pattern="**/articles-*.jsonl"):
    return sorted(root.glob(pattern))


def test_files_roll_by_record_count_and_stay_hidden_until_then(tmp_path):
    gate = CommitGate()
    files = RollingFiles(
        str(tmp_path), "articles", JsonLinesFormat(), RollPolicy(max_records=5), gate
    )
    files.write(_records(3))
    assert _final_files(tmp_path) == []
    assert len(list(tmp_path.glob(".articles-*.jsonl.inprogress"))) == 1
    done = []
    gate.commit(lambda: done.append("offsets"))
    assert done == []
    files.write(_records(2))
    (final,) = _final_files(tmp_path)
    assert [r["id"] for r in read_json_lines(final.open("rb"))] == [f"a-{i}" for i in range(3)] + [
        "a-0",
        "a-1",
    ]
    assert done == ["offsets"]
    assert list(tmp_path.glob(".*inprogress")) == []


def test_files_roll_by_size(tmp_path):
    files = RollingFiles(
        str(tmp_path), "articles", JsonLinesFormat(), RollPolicy(max_bytes=2_000), CommitGate()
    )
    for _ in range(10):
        files.write(_records(2))
    files.close_all()
    finals = _final_files(tmp_path)
    assert len(finals) > 2
    assert sum(len(read_json_lines(f.open("rb"))) for f in finals) == 20
    # Every file but the last reached the limit; none is far beyond it (one write).
    assert all(f.stat().st_size >= 2_000 for f in finals[:-1])


def test_files_roll_by_age_at_bundle_end(tmp_path):
    clock = FakeClock()
    files = RollingFiles(
        str(tmp_path),
        "articles",
        JsonLinesFormat(),
        RollPolicy(max_seconds=300),
        CommitGate(),
        clock=clock,
    )
    files.write(_records(1))
    clock.now = 299
    files.roll_due()
    assert _final_files(tmp_path) == []
    clock.now = 300
    files.roll_due()
    assert len(_final_files(tmp_path)) == 1
    files.roll_due()  # nothing open: nothing new
    assert len(_final_files(tmp_path)) == 1 and files.open_files == 0


def test_partitions_by_event_date_and_language(tmp_path):
    files = RollingFiles(
        str(tmp_path),
        "articles",
        JsonLinesFormat(),
        RollPolicy(partition_by=("date", "language")),
        CommitGate(),
    )
    records = _records(2, published_at="2026-03-02T08:15:00Z", language="en")
    records += _records(1, published_at=None, ingested_at="2026-03-04T10:00:00Z", language="de")
    records += _records(1, published_at="not a date", language="und")
    files.write(records)
    files.close_all()
    folders = sorted(str(f.parent.relative_to(tmp_path)) for f in _final_files(tmp_path))
    assert folders == [
        "dt=2026-03-02/language=en",
        "dt=2026-03-04/language=de",
        "dt=unknown/language=und",
    ]
    rows = duckdb.sql(
        f"SELECT dt, language, count(*) AS n FROM read_json_auto('{tmp_path}/**/*.jsonl', "
        "hive_partitioning = true) GROUP BY ALL ORDER BY dt"
    ).fetchall()
    assert [(str(r[0]), r[2]) for r in rows] == [
        ("2026-03-02", 2),
        ("2026-03-04", 1),
        ("unknown", 1),
    ]


def test_parquet_row_groups_fill_across_small_writes_and_refusals_are_immediate(tmp_path):
    file_format = ParquetFormat(ARTICLE_SCHEMA_FILE, row_group_bytes=10**9)
    files = RollingFiles(str(tmp_path), "articles", file_format, RollPolicy(), CommitGate())
    for _ in range(10):
        assert files.write(_records(3)) == []
    bad = {**article_record("bad"), "word_count": "many"}
    rejections = files.write([article_record("ok"), bad])
    assert [r.index for r in rejections] == [1]
    files.close_all()
    (final,) = _final_files(tmp_path, "articles-*.parquet")
    metadata = pq.ParquetFile(final).metadata
    assert metadata.num_rows == 31
    assert metadata.num_row_groups == 1


def test_an_in_progress_file_is_not_data_and_is_removed_on_restart(tmp_path):
    files = RollingFiles(
        str(tmp_path), "articles", ParquetFormat(ARTICLE_SCHEMA_FILE), RollPolicy(), CommitGate()
    )
    files.write(_records(4))
    # A crash now: the open file stays behind, hidden.
    assert _final_files(tmp_path, "articles-*.parquet") == []
    with pytest.raises(duckdb.IOException):
        duckdb.sql(f"SELECT count(*) FROM '{tmp_path}/*.parquet'").fetchall()
    assert remove_in_progress(str(tmp_path), "articles") == 1
    assert list(tmp_path.iterdir()) == []


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        RollPolicy(partition_by=("topic",))
    with pytest.raises(ValueError):
        RollPolicy(max_bytes=0)
