"""Offset planning and group commits against the real test broker."""

import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition

from newsbeam.transforms.io.kafka.offsets import (
    OffsetCommitter,
    resolve_start_offsets,
    true_end_offsets,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(kafka_broker):
    name = f"offsets-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topics(name, partitions=2)
    # 3 producer batches into partition 0 (one send+flush each), nothing in partition 1.
    for batch in range(3):
        kafka_broker.produce(
            name, [(None, f"b{batch}-m{i}".encode(), ()) for i in range(7)], partitions=1
        )
    return name


def _consumer(broker, **extra):
    return KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, **extra)


def test_true_end_offsets_is_the_offset_after_the_last_record(kafka_broker, topic):
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    consumer = _consumer(kafka_broker)
    try:
        # The broker's own answer may point into the last batch (Tansu quirk);
        # ours must not.
        assert true_end_offsets(consumer, tps) == {tps[0]: 21, tps[1]: 0}
    finally:
        consumer.close()


def test_start_offsets_for_each_mode(kafka_broker, topic):
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    group = f"g-{uuid.uuid4().hex[:6]}"
    consumer = _consumer(kafka_broker, group_id=group, enable_auto_commit=False)
    ends = {tps[0]: 21, tps[1]: 0}
    try:
        assert resolve_start_offsets(consumer, tps, "earliest", ends) == {tps[0]: 0, tps[1]: 0}
        assert resolve_start_offsets(consumer, tps, "latest", ends) == {tps[0]: 21, tps[1]: 0}
        # No commit yet: committed falls back to earliest.
        assert resolve_start_offsets(consumer, tps, "committed", ends) == {tps[0]: 0, tps[1]: 0}
        committer = OffsetCommitter(
            lambda: _consumer(kafka_broker, group_id=group, enable_auto_commit=False)
        )
        assert committer.commit(tps[0], 9)
        assert resolve_start_offsets(consumer, tps, "committed", ends)[tps[0]] == 9
        # A committed offset past the end (a recreated topic) is clamped to the end.
        assert committer.commit(tps[0], 500)
        assert resolve_start_offsets(consumer, tps, "committed", ends)[tps[0]] == 21
        committer.close()
        with pytest.raises(ValueError):
            resolve_start_offsets(consumer, tps, "middle", ends)
    finally:
        consumer.close()


def test_commits_only_move_forward(kafka_broker, topic):
    tp = TopicPartition(topic, 0)
    group = f"g-{uuid.uuid4().hex[:6]}"
    committer = OffsetCommitter(
        lambda: _consumer(kafka_broker, group_id=group, enable_auto_commit=False)
    )
    assert committer.commit(tp, 12)
    # A late finalizer of an older bundle must not move the group back.
    assert committer.commit(tp, 5)
    committer.close()
    reader = _consumer(kafka_broker, group_id=group, enable_auto_commit=False)
    try:
        assert reader.committed(tp) == 12
    finally:
        reader.close()


def test_failed_commit_is_kept_and_retried(kafka_broker, topic):
    tp = TopicPartition(topic, 0)
    group = f"g-{uuid.uuid4().hex[:6]}"
    proxy = kafka_broker.proxy()
    committer = OffsetCommitter(
        lambda: KafkaConsumer(
            bootstrap_servers=proxy.bootstrap_servers,
            group_id=group,
            enable_auto_commit=False,
            request_timeout_ms=3000,
            bootstrap_timeout_ms=2000,
        )
    )
    try:
        assert committer.commit(tp, 3)
        proxy.stop()
        assert not committer.commit(tp, 8)  # broker away: kept, not lost
        proxy.start()
        assert committer.flush()
        assert committer.committed[tp] == 8
    finally:
        committer.close()
        proxy.stop()
