"""The Kafka streaming job against the real test broker (Tansu).

Backfill, crash and restart, clean stop on SIGTERM, poison messages, broker loss, and
the structural property the at-least-once guarantee rests on (one fused stage).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid

import apache_beam as beam
import jsonschema
import orjson
import pytest
from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to
from kafka import KafkaConsumer, TopicPartition
from kafka_broker import free_port

from conftest import REPO_ROOT
from newsbeam.pipelines.stream import StreamRunConfig, build_stream_pipeline
from newsbeam.transforms.io.kafka.sink import KafkaSinkConfig
from newsbeam.transforms.io.kafka.source import KafkaSourceConfig, ReadFromKafka
from newsbeam.transforms.io.sink_specs import JsonLinesSink, ParquetSink

pytestmark = pytest.mark.integration

SCHEMA = orjson.loads((REPO_ROOT / "schemas" / "article.schema.json").read_bytes())
PLACES = ["Lyon", "Rotterdam", "Valencia", "Leipzig", "Porto", "Gdansk", "Turin", "Ghent"]
SUBJECTS = ["the harbour authority", "the city council", "the regional court", "dock workers"]


def article(i: int, prefix: str) -> dict:
    place, subject = PLACES[i % len(PLACES)], SUBJECTS[i % len(SUBJECTS)]
    return {
        "id": f"{prefix}-{i}",
        "url": f"https://news.example/{prefix}/{i}",
        "title": f"{subject.capitalize()} in {place} reaches agreement number {i}",
        "author": "By Ana Souza",
        "published_at": "2026-03-02T08:15:00Z",
        "text": (
            f"{subject.capitalize()} in {place} announced on Monday that talks over item {i} "
            f"had ended with an agreement. Officials said the deal covers wages, hours and "
            f"a review in {2026 + i % 5}.\n\nOpposition members criticised the timetable but "
            f"did not block the vote, which passed with {40 + i % 30} votes in favour."
        ),
    }


def article_messages(n: int, prefix: str, start: int = 0) -> list:
    return [(None, orjson.dumps(article(i, prefix)), ()) for i in range(start, start + n)]


def new_topics(broker, partitions: int = 3) -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:8]
    raw, out, dlq = f"raw-{tag}", f"articles-{tag}", f"dlq-{tag}"
    broker.create_topics(raw, partitions=partitions)
    broker.create_topics(out, dlq, partitions=1)
    return raw, out, dlq


def stream_command(bootstrap: str, raw: str, out: str, dlq: str, *extra: str) -> list[str]:
    if "--group-id" not in extra:
        # A group (and so a dedup changelog topic) of its own: the default group's
        # changelog would carry one test's window into the next (same texts, new ids).
        extra = (*extra, "--group-id", f"test-{uuid.uuid4().hex[:8]}")
    return [
        sys.executable,
        "-m",
        "newsbeam",
        "stream",
        "--bootstrap-servers",
        bootstrap,
        "--topic",
        raw,
        "--output-topic",
        out,
        "--dead-letter-topic",
        dlq,
        *extra,
    ]


def start_job(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


class TopicReader:
    """Reads a topic in the background; keeps every message (duplicates included)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.messages: list = []
        self._stop = threading.Event()
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        tp = TopicPartition(topic, 0)
        self._consumer.assign([tp])
        self._consumer.seek(tp, 0)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for records in self._consumer.poll(timeout_ms=200).values():
                self.messages.extend(records)

    def ids(self) -> set[str]:
        return {m.key.decode() for m in self.messages}

    def wait_for(self, predicate, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.1)
        return predicate()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._consumer.close()


def assert_redeliveries_identical(messages) -> None:
    by_id: dict[str, dict] = {}
    for m in messages:
        record = orjson.loads(m.value)
        assert m.key.decode() == record["id"]
        first = by_id.setdefault(record["id"], record)
        assert record == first, f"redelivered {record['id']} differs"


def committed(bootstrap: str, group: str, topic: str, partitions: int = 3) -> list[int | None]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    try:
        return [consumer.committed(TopicPartition(topic, p)) for p in range(partitions)]
    finally:
        consumer.close()


def stop_job(job: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    job.send_signal(sig)
    out, err = job.communicate(timeout=60)
    return job.returncode, out, err


# -- structure ---------------------------------------------------------------------------


@pytest.mark.parametrize("extra_sinks", [False, True], ids=["kafka-only", "with-file-sinks"])
def test_stream_chain_is_one_fused_stage(extra_sinks, tmp_path):
    """At-least-once rests on this: offsets are committed when the read's bundle is
    done, which covers the sinks only if they run in the read's fused stage (a
    GroupByKey or multi-input Flatten in between would split it)."""
    sinks = (JsonLinesSink(str(tmp_path / "j")), ParquetSink(str(tmp_path / "p")))
    config = StreamRunConfig(
        source=KafkaSourceConfig("127.0.0.1:9", "raw"),
        articles=KafkaSinkConfig("127.0.0.1:9", "out"),
        dead_letters=KafkaSinkConfig("127.0.0.1:9", "dlq"),
        sinks=sinks if extra_sinks else (),
        health_file=str(tmp_path / "health") if extra_sinks else None,
    )
    pipeline = beam.Pipeline(runner=FnApiRunner())
    build_stream_pipeline(pipeline, config)
    proto = pipeline.to_runner_api()
    _, stages = FnApiRunner().create_stages(proto)
    stage_of = {t.unique_name: stage.name for stage in stages for t in stage.transforms}
    read_stage = stage_of["ReadKafka/Read/ReadPartitions/Process"]
    # Every primitive transform fed, directly or not, by the Kafka read.
    transforms = proto.components.transforms
    primitives = {tid: t for tid, t in transforms.items() if not t.subtransforms}
    consumers: dict[str, list[str]] = {}
    for tid, transform in primitives.items():
        for pcoll in transform.inputs.values():
            consumers.setdefault(pcoll, []).append(tid)
    start = next(
        tid for tid, t in primitives.items() if t.unique_name == "ReadKafka/Read/ReadPartitions"
    )
    downstream, todo = set(), [start]
    while todo:
        for pcoll in primitives[todo.pop()].outputs.values():
            for tid in consumers.get(pcoll, []):
                if tid not in downstream:
                    downstream.add(tid)
                    todo.append(tid)
    leaves = {primitives[t].unique_name for t in downstream}
    assert any("WriteArticles" in n for n in leaves)
    assert any("WriteReadDeadLetters" in n for n in leaves)
    if extra_sinks:
        assert any("WriteSinks" in n for n in leaves)
    split = sorted(n for n in leaves if stage_of.get(n) != read_stage)
    assert split == [], f"not fused with the Kafka read: {split}"


# -- in-process source -------------------------------------------------------------------


def test_read_from_kafka_until_end_yields_each_message_once(kafka_broker):
    raw, _, _ = new_topics(kafka_broker)
    kafka_broker.produce(raw, article_messages(60, "r"), partitions=3)
    config = KafkaSourceConfig(
        kafka_broker.bootstrap_servers,
        raw,
        start_offset="earliest",
        until_end=True,
        commit_offsets=False,
        group_id=None,
    )
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        messages = pipeline | ReadFromKafka(config)
        coordinates = messages | beam.Map(
            lambda m: (m.partition, m.offset, orjson.loads(m.value)["id"])
        )
        assert_that(coordinates | beam.Map(lambda c: c[2]), equal_to([f"r-{i}" for i in range(60)]))
        # Round-robin production: message i is partition i % 3, offset i // 3.
        assert_that(
            coordinates | "Check" >> beam.Map(lambda c: int(c[2][2:]) == c[1] * 3 + c[0]),
            equal_to([True] * 60),
            label="positions",
        )


# -- the stream command ------------------------------------------------------------------


@pytest.mark.slow
def test_backfill_writes_every_article_and_dead_letters_poison(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker)
    messages = article_messages(150, "bf")
    poison = [
        (b"bad-utf8", b"\xff\xfe\xfa not text", ()),
        (b"broken-json", b'{"title": "cut', ()),
        (b"empty", b"", ()),
        (b"huge", b"<p>" + b"x" * (10 * 1024 * 1024) + b"</p>", ()),
        (b"no-body", b'{"title": "headline only"}', ()),
    ]
    kafka_broker.produce(raw, messages + poison, partitions=3)
    group = f"backfill-{uuid.uuid4().hex[:6]}"
    command = stream_command(
        kafka_broker.bootstrap_servers, raw, out, dlq, "--group-id", group, "--until-end"
    )
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["messages_read"] == 155
    assert summary["articles_written"] == 150
    assert summary["dead_letters_written"] == 5

    written = kafka_broker.read_all(out)
    assert {m.key.decode() for m in written} == {f"bf-{i}" for i in range(150)}
    for m in written:
        record = orjson.loads(m.value)
        jsonschema.validate(record, SCHEMA)
        assert record["source"]["kind"] == "kafka" and record["source"]["topic"] == raw
    letters = {m.key.decode(): m for m in kafka_broker.read_all(dlq)}
    reasons = {k: dict(m.headers)["reason"].decode() for k, m in letters.items()}
    assert reasons == {
        "bad-utf8": "invalid_utf8",
        "broken-json": "malformed_json",
        "empty": "empty_message",
        "huge": "message_too_large",
        "no-body": "no_text",
    }
    huge = orjson.loads(letters["huge"].value)
    assert huge["raw_truncated"] and huge["raw_length"] > 10 * 1024 * 1024
    assert orjson.loads(letters["broken-json"].value)["raw"] == '{"title": "cut'

    # Offsets were committed for the group: a second backfill finds nothing new.
    assert sum(committed(kafka_broker.bootstrap_servers, group, raw)) == 155
    again = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["messages_read"] == 0


@pytest.mark.slow
def test_killed_job_restarts_without_losing_or_changing_records(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker)
    bootstrap = kafka_broker.bootstrap_servers
    group = f"crash-{uuid.uuid4().hex[:6]}"
    reader = TopicReader(bootstrap, out)
    total = 1200

    killed = threading.Event()

    def feed():  # a steady stream while the job runs, is killed and comes back
        for start in range(0, total, 100):
            # The second half waits for the kill, so however fast the job is on this
            # machine, the kill always lands with messages still to come.
            if start == total // 2:
                killed.wait(timeout=120)
            kafka_broker.produce(raw, article_messages(100, "k", start), partitions=3)
            time.sleep(0.25)

    feeder = threading.Thread(target=feed)
    command = stream_command(bootstrap, raw, out, dlq, "--group-id", group)
    try:
        job = start_job(command)
        feeder.start()
        assert reader.wait_for(lambda: len(reader.ids()) >= 200), job.stderr
        job.kill()  # SIGKILL: no clean shutdown, no last commit
        job.wait(timeout=10)
        killed.set()
        written_before_restart = len(reader.ids())
        assert written_before_restart < total, "killed too late to test a restart"

        job = start_job(command)
        feeder.join()
        expected = {f"k-{i}" for i in range(total)}
        assert reader.wait_for(lambda: reader.ids() >= expected, timeout=90)
        code, stdout, stderr = stop_job(job)
        assert code == 0, stderr
        assert json.loads(stdout)["stopped_by"] == "SIGTERM"
    finally:
        killed.set()
        feeder.join(timeout=30)
        reader.wait_for(lambda: False, timeout=1)  # let in-flight reads land
        reader.close()
    assert reader.ids() == expected
    assert_redeliveries_identical(reader.messages)
    # The clean stop committed everything that was written.
    assert sum(committed(bootstrap, group, raw)) == total


@pytest.mark.slow
def test_broker_lost_while_running_then_back_loses_nothing(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker, partitions=2)
    proxy = kafka_broker.proxy()  # the job talks to "the broker" through this hop
    reader = TopicReader(kafka_broker.bootstrap_servers, out)
    group = f"lost-{uuid.uuid4().hex[:6]}"
    job = start_job(stream_command(proxy.bootstrap_servers, raw, out, dlq, "--group-id", group))
    try:
        kafka_broker.produce(raw, article_messages(100, "l"), partitions=2)
        assert reader.wait_for(lambda: len(reader.ids()) == 100), job.stderr
        proxy.stop()
        # Produced while the job cannot reach the broker.
        kafka_broker.produce(raw, article_messages(100, "l", 100), partitions=2)
        time.sleep(3)
        assert job.poll() is None, "the job must survive losing the broker"
        proxy.start()
        assert reader.wait_for(lambda: len(reader.ids()) == 200, timeout=90)
        code, _, stderr = stop_job(job)
        assert code == 0, stderr
    finally:
        if job.poll() is None:
            job.kill()
        proxy.stop()
        reader.close()
    assert reader.ids() == {f"l-{i}" for i in range(200)}
    assert_redeliveries_identical(reader.messages)


def test_unreachable_broker_at_start_is_one_clear_error():
    port = free_port()
    command = stream_command(f"127.0.0.1:{port}", "raw", "out", "dlq", "--connect-timeout", "1")
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 69
    assert result.stderr.strip().splitlines() == [
        f"newsbeam: error: cannot reach Kafka at 127.0.0.1:{port} within 1s (Connection refused)"
    ]


def test_missing_topic_is_a_usage_error(kafka_broker):
    command = stream_command(kafka_broker.bootstrap_servers, "no-such-topic", "o", "d")
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no input topic 'no-such-topic'" in result.stderr
    assert "Traceback" not in result.stderr
