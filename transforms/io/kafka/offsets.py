"""Kafka offsets: where a read starts, where a partition truly ends, and group commits.

Beam-free (kafka-python only) so it can be tested against a broker directly. The
source (`kafka_source`) uses it to plan one read per partition and, from the bundle
finalizer, to commit the group's progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

log = logging.getLogger(__name__)

START_OFFSET_MODES = ("earliest", "latest", "committed")


def true_end_offsets(
    consumer: KafkaConsumer, partitions: Iterable[TopicPartition], *, timeout: float = 10.0
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition.

    Some brokers (Tansu) answer ListOffsets(LATEST) with the first offset of the last
    record batch + 1 instead of the high watermark. The high watermark a fetch
    response carries is right, so fetch once from just before the reported end and
    take the larger of the two. `consumer` must not be subscribed to a group; its
    assignment and positions are replaced.
    """
    tps = list(partitions)
    if not tps:
        return {}
    reported = consumer.end_offsets(tps)
    beginning = consumer.beginning_offsets(tps)
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, max(beginning[tp], reported[tp] - 1))
    deadline = time.monotonic() + timeout
    while any(consumer.highwater(tp) is None for tp in tps):
        if time.monotonic() > deadline:
            missing = [tp.partition for tp in tps if consumer.highwater(tp) is None]
            raise KafkaError(f"no fetch response for partitions {missing} within {timeout}s")
        consumer.poll(timeout_ms=200, max_records=1, update_offsets=False)
    return {tp: max(reported[tp], consumer.highwater(tp)) for tp in tps}


def resolve_start_offsets(
    consumer: KafkaConsumer,
    partitions: Iterable[TopicPartition],
    mode: str,
    end_offsets: Mapping[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """First offset to read per partition for `mode` (earliest | latest | committed).

    `committed` uses the consumer's group; a partition the group never committed
    starts at the earliest offset (Kafka's auto.offset.reset=earliest), and a
    committed offset outside [earliest, end] (deleted by retention, or a recreated
    topic) is clamped into it.
    """
    if mode not in START_OFFSET_MODES:
        raise ValueError(f"start offset must be one of {START_OFFSET_MODES}, not {mode!r}")
    tps = list(partitions)
    beginning = consumer.beginning_offsets(tps)
    if mode == "earliest":
        return dict(beginning)
    if mode == "latest":
        return {tp: end_offsets[tp] for tp in tps}
    starts: dict[TopicPartition, int] = {}
    for tp in tps:
        committed = consumer.committed(tp)
        if committed is None:
            log.info("group has no committed offset for %s; starting at earliest", tp)
            starts[tp] = beginning[tp]
        else:
            starts[tp] = min(max(committed, beginning[tp]), end_offsets[tp])
    return starts


class OffsetCommitter:
    """Commits a consumer group's next offsets without joining the group.

    Called from bundle finalizers, which may run on another thread than the reads,
    so it owns its consumer and a lock. Commits only move forward; a failed commit
    (broker away) is kept and retried with the next one: losing a commit only means
    more redelivery after a restart, never a skipped record.
    """

    def __init__(self, consumer_factory: Callable[[], KafkaConsumer]) -> None:
        self._consumer_factory = consumer_factory
        self._consumer: KafkaConsumer | None = None
        self._lock = threading.Lock()
        self._committed: dict[TopicPartition, int] = {}
        self._pending: dict[TopicPartition, int] = {}

    def commit(self, tp: TopicPartition, next_offset: int) -> bool:
        """Record that everything before `next_offset` is written; True if committed."""
        with self._lock:
            if next_offset <= max(self._committed.get(tp, -1), self._pending.get(tp, -1)):
                return True
            self._pending[tp] = next_offset
            return self._flush_locked()

    def flush(self) -> bool:
        with self._lock:
            return self._flush_locked()

    @property
    def committed(self) -> dict[TopicPartition, int]:
        with self._lock:
            return dict(self._committed)

    def _flush_locked(self) -> bool:
        if not self._pending:
            return True
        offsets = {tp: OffsetAndMetadata(o, "", -1) for tp, o in self._pending.items()}
        try:
            if self._consumer is None:
                self._consumer = self._consumer_factory()
            self._consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("offset commit failed, will retry with the next one: %s", exc)
            self._drop_consumer_locked()
            return False
        self._committed.update(self._pending)
        self._pending.clear()
        return True

    def _drop_consumer_locked(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close(autocommit=False)
            except Exception:  # closing a broken client must not mask the commit error
                log.debug("closing the committer consumer failed", exc_info=True)
            self._consumer = None

    def close(self) -> None:
        with self._lock:
            self._flush_locked()
            self._drop_consumer_locked()


def consumer_config(
    bootstrap_servers: str, extra: Iterable[tuple[str, Any]] = (), **overrides: Any
) -> dict[str, Any]:
    """kafka-python consumer settings shared by every consumer the source opens."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers.split(","),
        "enable_auto_commit": False,
        "client_id": "newsbeam",
    }
    config.update(dict(extra))
    config.update(overrides)
    return config
