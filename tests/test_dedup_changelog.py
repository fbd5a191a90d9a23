"""The durable dedup window (changelog topic) against the real test broker (Tansu).

The job is killed (SIGKILL, planted by tests/crash_job.py) before, during and after a
batch of changelog writes and after an offset commit, four runs in a row, while the
copies of each story straddle the restarts; then: nothing lost, every redelivered
record identical, every copy labelled against its story's first-seen copy. Plus the
retention expiry across restarts and the topics the job must refuse or clean up.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
import uuid

import orjson
import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from test_kafka_stream import (
    TopicReader,
    assert_redeliveries_identical,
    new_topics,
    start_job,
    stop_job,
    stream_command,
)

from conftest import REPO_ROOT
from newsbeam.stream_cli import _dedup_state
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.entry_codec import encode_entry
from newsbeam.transforms.dedup.labels import parse_timestamp
from newsbeam.transforms.dedup.sketch import build_sketch
from newsbeam.transforms.dedup.stream_index import StreamIndex
from newsbeam.transforms.io.kafka.changelog import (
    ChangelogConfig,
    ChangelogError,
    changelog_config_problem,
)

if str(REPO_ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from corpus import article_body  # noqa: E402  (benchmarks/ is not a package)

pytestmark = pytest.mark.integration

CRASH_JOB = str(REPO_ROOT / "tests" / "crash_job.py")
COPIES = ("a", "b", "c")  # original, exact copy, near copy (a paragraph added)


def story_articles(stories: int, seed: int, published_at: str = "2026-03-02T08:15:00Z"):
    """{story: {copy: article}}: distinct bodies, each with an exact and a near copy."""
    rng = random.Random(seed)
    out: dict[int, dict[str, dict]] = {}
    for s in range(stories):
        body = article_body(rng, paragraphs=(4, 6))
        extra = article_body(rng, paragraphs=(1, 1))
        texts = {"a": body, "b": body, "c": f"{body}\n\n{extra}"}
        out[s] = {
            copy: {
                "id": f"s{seed}-{s}-{copy}",
                "title": f"Story {s}",
                "published_at": published_at,
                "text": text,
            }
            for copy, text in texts.items()
        }
    return out


def interleaved(stories: dict[int, dict[str, dict]], gap: int) -> list[dict]:
    """Copy a of story s at position ~s, b ~gap later, c ~2*gap later."""
    slots = []
    for s, copies in stories.items():
        for k, copy in enumerate(COPIES):
            slots.append((s + k * gap, k, copies[copy]))
    return [article for _, _, article in sorted(slots, key=lambda x: (x[0], x[1]))]


def messages(articles: list[dict]) -> list:
    return [(None, orjson.dumps(a), ()) for a in articles]


def job_args(bootstrap, raw, out, dlq, *extra) -> list[str]:
    return stream_command(bootstrap, raw, out, dlq, *extra)[4:]


def labels_by_id(messages_out) -> dict[str, dict]:
    return {m.key.decode(): orjson.loads(m.value)["duplicate"] for m in messages_out}


@pytest.mark.slow
def test_kill_at_every_point_of_the_write_path_keeps_labels_consistent(kafka_broker, tmp_path):
    raw, out, dlq = new_topics(kafka_broker, partitions=3)
    bootstrap = kafka_broker.bootstrap_servers
    group = f"durable-{uuid.uuid4().hex[:6]}"
    stories = story_articles(50, seed=15)
    feed = interleaved(stories, gap=25)
    expected = {a["id"] for a in feed}
    reader = TopicReader(bootstrap, out)
    health = tmp_path / "health"
    args = job_args(bootstrap, raw, out, dlq, "--group-id", group, "--health-file", str(health))
    # The feed runs only while a job is up (its health file exists), so that every job
    # sees a steady stream of small bundles and the planted point comes early in it.
    feeding = threading.Event()
    done = threading.Event()

    def produce():
        position = 0
        while position < len(feed) and not done.is_set():
            if not feeding.wait(timeout=0.2):
                continue
            kafka_broker.produce(raw, messages(feed[position : position + 3]), partitions=3)
            position += 3
            time.sleep(0.3)

    def run_job(command: list[str]) -> subprocess.Popen:
        health.unlink(missing_ok=True)
        job = start_job(command)
        deadline = time.monotonic() + 60
        while not health.exists() and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        feeding.set()
        return job

    feeder = threading.Thread(target=produce)
    written_at_kill: list[set[str]] = []
    crashes = [("before", 3), ("after_commit", 3), ("during", 3), ("after_flush", 3)]
    try:
        feeder.start()
        for point, n in crashes:
            job = run_job([sys.executable, CRASH_JOB, point, str(n), *args])
            _, stderr = job.communicate(timeout=90)
            feeding.clear()
            assert f"crash_job: SIGKILL {point} {n}" in stderr, stderr[-3000:]
            assert job.returncode == -9
            reader.wait_for(lambda: False, timeout=1)
            written_at_kill.append(set(reader.ids()))
        job = run_job([sys.executable, "-m", "newsbeam", "stream", *args])
        assert reader.wait_for(lambda: reader.ids() >= expected, timeout=150), job.stderr
        code, stdout, stderr = stop_job(job)
        assert code == 0, stderr
    finally:
        done.set()
        feeder.join(timeout=60)
        reader.wait_for(lambda: False, timeout=1)
        reader.close()

    # Zero lost, zero changed on redelivery.
    assert reader.ids() == expected
    assert_redeliveries_identical(reader.messages)
    # The restarts happened with stories half written: copies straddle them.
    straddling = [
        s
        for s, copies in stories.items()
        if any(
            copies["a"]["id"] in before and copies["c"]["id"] not in before
            for before in written_at_kill
        )
    ]
    assert len(straddling) >= 10, "the kills did not split stories; the test lost its teeth"
    # Every copy is labelled against its story's first-seen copy: one unique per story.
    labels = labels_by_id(reader.messages)
    first_position: dict[str, int] = {}
    for position, m in enumerate(reader.messages):
        first_position.setdefault(m.key.decode(), position)
    for s, copies in stories.items():
        ids = [copies[c]["id"] for c in COPIES]
        uniques = [i for i in ids if labels[i]["status"] == "unique"]
        assert len(uniques) == 1, (s, {i: labels[i] for i in ids})
        rep = uniques[0]
        assert first_position[rep] == min(first_position[i] for i in ids)
        for i in ids:
            if i != rep:
                assert labels[i]["of"] == rep, (s, i, labels[i])
                assert labels[i]["status"] in ("exact", "near")
        assert labels[copies["b"]["id"]]["status"] != "unique"
    # The story state went through the same kills (its changelog is written by the same
    # store): the copies, duplicates of the first, carry its story, across the restarts.
    story_of = {m.key.decode(): orjson.loads(m.value)["story"]["id"] for m in reader.messages}
    for s, copies in stories.items():
        assert len({story_of[copies[c]["id"]] for c in COPIES}) == 1, s
    # The last start restored the window (and said so).
    assert "restoring" in stderr and "entries from changelog topic" in stderr
    summary = json.loads(stdout)["dedup_window"]
    assert summary["state"] == "changelog"
    assert summary["changelog_topic"] == f"{group}-dedup-changelog"
    assert summary["restored"] > 0 and summary["restore_skipped"] == 0
    stories_summary = json.loads(stdout)["story_state"]
    assert stories_summary["restored"] > 0 and stories_summary["restore_skipped"] == 0


def run_until_end(bootstrap, raw, out, dlq, group, *extra) -> tuple[dict, str]:
    command = stream_command(bootstrap, raw, out, dlq, "--group-id", group, "--until-end", *extra)
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout), result.stderr


def latest_values(broker, topic: str) -> dict[str, bytes | None]:
    return {m.key.decode(): m.value for m in broker.read_all(topic)}


@pytest.mark.slow
def test_retention_expiry_across_restarts(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    bootstrap = kafka_broker.bootstrap_servers
    group = f"expiry-{uuid.uuid4().hex[:6]}"
    changelog = f"window-of-{group}"  # --dedup-changelog-topic: not the default name
    early = story_articles(2, seed=1, published_at="2026-03-02T08:00:00Z")
    mid = story_articles(1, seed=2, published_at="2026-03-02T09:20:00Z")
    late = story_articles(1, seed=3, published_at="2026-03-02T09:30:00Z")
    topic_option = ("--dedup-changelog-topic", changelog)

    # Run 1: the early stories (t0) and the mid one (t0 + 80 min) with a 1 h window.
    kafka_broker.produce(raw, messages([early[0]["a"], early[1]["a"], mid[0]["a"]]))
    summary, stderr = run_until_end(
        bootstrap, raw, out, dlq, group, "--dedup-retention", "1h", *topic_option
    )
    assert summary["dedup_window"]["restored"] == 0
    assert summary["dedup_window"]["changelog_topic"] == changelog
    # The missing changelog was created, compacted.
    assert f"dedup changelog topic {changelog!r}: created" in stderr
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, changelog)], config_filter="all"
        )
    finally:
        admin.close()
    assert described["topic"][changelog]["cleanup.policy"]["value"] == "compact"
    # The mid story moved the clock past t0 + 1 h: the early entries expired, deleted.
    values = latest_values(kafka_broker, changelog)
    assert values[early[0]["a"]["id"]] is None and values[early[1]["a"]["id"]] is None
    assert values[mid[0]["a"]["id"]] is not None

    # Run 2: copies of the mid story (restored: exact) and of an early one (expired:
    # unique; its entry is already out of the window and stays until the next article).
    kafka_broker.produce(raw, messages([mid[0]["b"], early[0]["b"]]))
    summary, stderr = run_until_end(
        bootstrap, raw, out, dlq, group, "--dedup-retention", "1h", *topic_option
    )
    assert summary["dedup_window"]["restored"] == 1
    assert "restoring 1 entries" in stderr
    labels = labels_by_id(kafka_broker.read_all(out))
    assert labels[early[0]["b"]["id"]]["status"] == "unique"
    assert labels[mid[0]["b"]["id"]] == {
        "status": "exact",
        "of": mid[0]["a"]["id"],
        "similarity": 1.0,
        "containment": 1.0,
    }

    # Run 3 with a 5-minute window: at the restored clock (t0 + 80 min, the newest entry)
    # the early copy expires on restore and is deleted from the topic.
    kafka_broker.produce(raw, messages([late[0]["a"]]))
    summary, stderr = run_until_end(
        bootstrap, raw, out, dlq, group, "--dedup-retention", "5m", *topic_option
    )
    window = summary["dedup_window"]
    # Live before run 3: mid a, mid b (t0 + 80), early[0] b (t0, expired at restore).
    assert (window["restored"], window["restore_expired"]) == (2, 1)
    values = latest_values(kafka_broker, changelog)
    assert values[early[0]["b"]["id"]] is None
    # The late story (t0 + 90 min) expires the mid ones in turn.
    assert values[mid[0]["a"]["id"]] is None and values[late[0]["a"]["id"]] is not None


def test_foreign_and_other_version_entries_are_skipped_counted_and_deleted(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    bootstrap = kafka_broker.bootstrap_servers
    group = f"foreign-{uuid.uuid4().hex[:6]}"
    changelog = f"{group}-dedup-changelog"
    stories = story_articles(2, seed=4)
    old, current = stories[0]["a"], stories[1]["a"]
    config = DedupConfig()
    index = StreamIndex(config)
    t = parse_timestamp(old["published_at"])
    entry_old = index.observe(build_sketch(old["id"], old["text"], None, config), t).entry
    entry_cur = index.observe(build_sketch(current["id"], current["text"], None, config), t)
    other_version = (99, *config.fingerprint_version[1:])
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(changelog, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send(changelog, key=old["id"].encode(), value=encode_entry(entry_old, other_version))
    producer.send(changelog, key=b"junk", value=b"not an entry")
    producer.send(
        changelog,
        key=current["id"].encode(),
        value=encode_entry(entry_cur.entry, config.fingerprint_version),
    )
    producer.flush()
    producer.close()

    # Copies of both: the other-version one is not in the window, the current one is.
    kafka_broker.produce(raw, messages([stories[0]["b"], stories[1]["b"]]))
    summary, stderr = run_until_end(bootstrap, raw, out, dlq, group)
    window = summary["dedup_window"]
    assert (window["restored"], window["restore_skipped"]) == (1, 2)
    assert "another fingerprint version" in stderr
    assert "Traceback" not in stderr
    labels = labels_by_id(kafka_broker.read_all(out))
    assert labels[stories[0]["b"]["id"]]["status"] == "unique"
    assert labels[stories[1]["b"]["id"]]["of"] == current["id"]
    values = latest_values(kafka_broker, changelog)
    assert values["junk"] is None and values[old["id"]] is None


@pytest.mark.parametrize(
    "configs, message",
    [
        ({"cleanup.policy": "delete"}, "has cleanup.policy=delete: it must be compact"),
        (
            {"cleanup.policy": "compact,delete", "retention.ms": "3600000"},
            "shorter than the 604800s dedup window",
        ),
    ],
    ids=["delete", "compact-delete-short"],
)
def test_changelog_that_would_lose_the_window_is_a_usage_error(kafka_broker, configs, message):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    topic = f"plain-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap_servers)
    admin.create_topics([NewTopic(topic, 1, 1, topic_configs=configs)])
    admin.close()
    command = stream_command(
        kafka_broker.bootstrap_servers, raw, out, dlq, "--dedup-changelog-topic", topic
    )
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def test_reading_a_missing_changelog_is_a_clear_error(kafka_broker):
    store = ChangelogConfig(kafka_broker.bootstrap_servers, "no-such-changelog", 3600.0).open()
    with pytest.raises(ChangelogError, match="'no-such-changelog' does not exist"):
        list(store.load())


def test_changelog_cannot_be_one_of_the_job_topics(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    command = stream_command(
        kafka_broker.bootstrap_servers, raw, out, dlq, "--dedup-changelog-topic", out
    )
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"the dedup changelog topic {out!r} cannot be the input, output" in result.stderr


def test_dedup_state_none_writes_no_changelog(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    group = f"none-{uuid.uuid4().hex[:6]}"
    kafka_broker.produce(raw, messages([story_articles(1, seed=6)[0]["a"]]))
    summary, _ = run_until_end(
        kafka_broker.bootstrap_servers, raw, out, dlq, group, "--dedup-state", "none"
    )
    assert summary["dedup_window"]["state"] == "none"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap_servers)
    try:
        assert f"{group}-dedup-changelog" not in admin.list_topics()
    finally:
        admin.close()


# -- pure parts of the option and topic checks ------------------------------------------


@pytest.mark.parametrize(
    "configs, problem",
    [
        ({"cleanup.policy": "compact"}, None),
        ({"cleanup.policy": "compact,delete", "retention.ms": "-1"}, None),
        ({"cleanup.policy": "compact, delete", "retention.ms": str(8 * 86_400_000)}, None),
        ({"cleanup.policy": "compact,delete", "retention.ms": "86400000"}, "shorter than"),
        ({"cleanup.policy": "delete"}, "must be compact"),
        ({}, None),  # a broker that does not say: warned, not refused
    ],
)
def test_changelog_config_problem(configs, problem):
    found = changelog_config_problem(configs, 7 * 86_400.0)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    "state, beam_args, expected",
    [
        ("auto", [], "changelog"),
        ("auto", ["--runner=DirectRunner"], "changelog"),
        ("auto", ["--runner", "FlinkRunner", "--flink_master=x:8081"], "none"),
        ("auto", ["--runner=DataflowRunner"], "none"),
        ("changelog", ["--runner=DataflowRunner"], "changelog"),
        ("none", [], "none"),
    ],
)
def test_dedup_state_by_runner(state, beam_args, expected):
    args = argparse.Namespace(dedup_state=state, beam_args=beam_args)
    assert _dedup_state(args) == expected


class _TailGapConsumer:
    """Position stuck below the end, empty fetches, a broker that answers."""

    def __init__(self, answers: bool) -> None:
        self.answers = answers

    def position(self, tp):
        return 5

    def poll(self, timeout_ms, max_records):
        return {}

    def highwater(self, tp):
        return 7

    def end_offsets(self, tps):
        if not self.answers:
            from kafka.errors import KafkaConnectionError

            raise KafkaConnectionError("broker away")
        return {tp: 7 for tp in tps}


@pytest.mark.parametrize("answers", [True, False])
def test_changelog_read_ends_at_a_compacted_tail_but_not_on_a_silent_broker(monkeypatch, answers):
    from kafka import TopicPartition

    from newsbeam.transforms.io.kafka import changelog as changelog_module

    clock = iter(range(0, 10_000, 3))  # each look at the clock: 3 s later
    monkeypatch.setattr(changelog_module.time, "monotonic", lambda: float(next(clock)))
    store = ChangelogConfig("unused:9092", "cl", 3600.0, read_stall_seconds=30).open()
    tp = TopicPartition("cl", 0)
    read = store._read_to(_TailGapConsumer(answers), {tp: 7})
    if answers:
        assert list(read) == []
    else:
        with pytest.raises(ChangelogError, match="made no progress for 30s"):
            list(read)
