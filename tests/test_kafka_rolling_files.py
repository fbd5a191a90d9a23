"""Streaming into rolling Parquet files against the real test broker: at-least-once kept.

The property: an offset is committed only when every record before it is in a *final*
file. Checked at the moment of a SIGKILL mid-file (the group's committed offsets against
the records in final files), then after a restart (every record in a final file, none only
in a leftover in-progress file) and a clean stop (everything committed, no open files).
"""

from __future__ import annotations

import json
import time
import uuid

import duckdb
import pyarrow.parquet as pq
import pytest
from test_kafka_stream import (
    article_messages,
    committed,
    new_topics,
    start_job,
    stop_job,
    stream_command,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def final_records(folder) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("**/articles-*.parquet")):
        rows += pq.read_table(path, columns=["id", "source"]).to_pylist()
    return rows


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_sigkill_mid_file_then_restart_loses_nothing_and_commits_only_final_files(
    kafka_broker, tmp_path
):
    raw, out, dlq = new_topics(kafka_broker)
    bootstrap = kafka_broker.bootstrap_servers
    group = f"roll-{uuid.uuid4().hex[:6]}"
    lake = tmp_path / "lake"
    first, second = 600, 300
    total = first + second
    command = stream_command(
        bootstrap,
        raw,
        out,
        dlq,
        "--group-id",
        group,
        "--sink",
        f"parquet:{lake}",
        "--roll-interval",
        "8s",
        "--partition-by",
        "date",
    )
    job = start_job(command)
    try:
        # First part: read, rolled by age, committed behind the roll.
        kafka_broker.produce(raw, article_messages(first, "r"), partitions=3)
        assert wait_for(lambda: len(final_records(lake)) >= first, 90), "no file rolled"
        assert wait_for(lambda: sum(o or 0 for o in committed(bootstrap, group, raw)) >= first, 30)
        # Second part: read and sitting in an open file when the job is killed. Without
        # the gate its offsets would be committed within a second of the read.
        kafka_broker.produce(raw, article_messages(second, "r", first), partitions=3)
        assert wait_for(lambda: list(lake.glob("**/.articles-*.inprogress")), 30)
        time.sleep(3)
        job.kill()  # mid-file: SIGKILL, no clean shutdown
        job.wait(timeout=10)

        offsets = committed(bootstrap, group, raw)
        durable = {(r["source"]["partition"], r["source"]["offset"]) for r in final_records(lake)}
        for partition, next_offset in enumerate(offsets):
            missing = [
                offset for offset in range(next_offset or 0) if (partition, offset) not in durable
            ]
            assert missing == [], f"committed past records not in a final file: {missing[:5]}"
        assert first <= sum(o or 0 for o in offsets) < total, offsets

        job = start_job(command)
        # The restart removes the dead run's in-progress file and reads its records again.
        expected = {f"r-{i}" for i in range(total)}
        assert wait_for(lambda: {r["id"] for r in final_records(lake)} >= expected, 120)
        code, stdout, stderr = stop_job(job)
        assert code == 0, stderr
        assert json.loads(stdout)["stopped_by"] == "SIGTERM"
    finally:
        if job.poll() is None:
            job.kill()

    # The clean stop made every file final and committed everything behind them.
    assert list(lake.glob("**/.*inprogress")) == []
    assert sum(committed(bootstrap, group, raw)) == total
    rows = final_records(lake)
    assert {r["id"] for r in rows} == expected
    # Only records that were in the killed run's open file were written twice.
    assert len(rows) - total <= second
    # Query engines read the lake with its partition column and see no partial file.
    distinct, day = duckdb.sql(
        f"SELECT count(DISTINCT id), min(dt) FROM read_parquet('{lake}/**/*.parquet', "
        "hive_partitioning = true)"
    ).fetchall()[0]
    assert distinct == total and str(day) == "2026-03-02"
    # A handful of files (rolled by age), not one per bundle.
    assert len(list(lake.glob("**/articles-*.parquet"))) <= 8


def test_backfill_until_end_publishes_every_open_file(kafka_broker, tmp_path):
    """--until-end stops by itself: the files open at the end must still be made final."""
    raw, out, dlq = new_topics(kafka_broker)
    kafka_broker.produce(raw, article_messages(150, "b"), partitions=3)
    lake = tmp_path / "files"
    command = stream_command(
        kafka_broker.bootstrap_servers,
        raw,
        out,
        dlq,
        "--until-end",
        "--sink",
        str(lake),
        "--partition-by",
        "date,language",
    )
    job = start_job(command)
    stdout, stderr = job.communicate(timeout=120)
    assert job.returncode == 0, stderr
    assert list(lake.glob("**/.*inprogress")) == []
    ids = set()
    for path in lake.glob("dt=2026-03-02/language=en/articles-*.jsonl"):
        ids |= {json.loads(line)["id"] for line in path.read_text().splitlines()}
    assert ids == {f"b-{i}" for i in range(150)}
