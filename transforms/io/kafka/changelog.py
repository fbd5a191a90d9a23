"""The stream dedup window's (and stories') changelog topic: a compacted Kafka topic as a
`WindowStore`.

The Kafka Streams pattern for durable state: one compacted topic per job (by default
`<group id>-dedup-changelog`), key = article id, value = the encoded window entry
(`transforms/dedup/entry_codec.py`), a tombstone (null value) when the entry expires.
The story state uses the same store on a topic of its own (`<group id>-story-changelog`,
keys and values in `transforms/story/state_codec.py`; `what="story"`).
Compaction keeps the last value per key, so the topic holds about the live window
plus recent tombstones, however long the job runs.

Why `cleanup.policy=compact` alone, without time retention: the window expires by
*event time* (the stream clock), Kafka's time retention by record timestamp and wall
clock. A job stopped for a week, or a backfill of last month's articles, would have
live entries deleted under it. The job deletes what expires itself (tombstones), and
refuses a topic whose policy does not compact.

Writes are asynchronous; `flush()` waits for every acknowledgement (acks=all) and
re-sends the whole pending batch in order on a retriable failure, so the last value
per key is always the one written last. One partition: the window is one key's state
and the changelog has one writer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError

from newsbeam.transforms.dedup.window_store import StoreRecord
from newsbeam.transforms.io.kafka.offsets import consumer_config, true_end_offsets
from newsbeam.transforms.io.kafka.source import stop_requested

logger = logging.getLogger(__name__)

CHANGELOG_SUFFIX = "-dedup-changelog"
STORY_CHANGELOG_SUFFIX = "-story-changelog"
# A read that gets no records for this long while the broker answers has reached the
# end: the records before the end offset were compacted away.
TAIL_GAP_SECONDS = 10.0


def changelog_topic_name(group_id: str) -> str:
    """Default changelog topic of a job: one per consumer group, like Kafka Streams'
    `<application.id>-<store>-changelog`."""
    return f"{group_id}{CHANGELOG_SUFFIX}"


def story_changelog_topic_name(group_id: str) -> str:
    """Default story changelog topic of a job (a sibling of the dedup one)."""
    return f"{group_id}{STORY_CHANGELOG_SUFFIX}"


class ChangelogError(ValueError):
    """The changelog topic cannot be used (one line, for the operator)."""


@dataclass(frozen=True)
class ChangelogConfig:
    bootstrap_servers: str
    topic: str
    # The dedup window (event time): a topic with time retention shorter than this
    # would delete live entries.
    window_seconds: float
    # A restore that sees no progress for this long gives up (broker away).
    read_stall_seconds: float = 30.0
    delivery_timeout_ms: int = 30_000
    max_backoff_seconds: float = 30.0
    # The input cluster's client settings (TLS, SASL...: --kafka-config/--kafka-option).
    producer_options: tuple[tuple[str, Any], ...] = ()
    consumer_options: tuple[tuple[str, Any], ...] = ()
    admin_options: tuple[tuple[str, Any], ...] = ()
    # Whose state it holds ("dedup", "story"): in messages and the client id.
    what: str = "dedup"

    def open(self) -> KafkaChangelog:
        return KafkaChangelog(self)


def topic_configs() -> dict[str, str]:
    return {"cleanup.policy": "compact"}


def ensure_changelog_topic(config: ChangelogConfig) -> str:
    """Create the topic (compacted) or check the existing one; 'created' or 'exists'.

    Raises ChangelogError for a topic that would not keep the window (not compacted,
    or time retention shorter than the window) and when it cannot be created.
    """
    admin = KafkaAdminClient(
        **{"bootstrap_servers": config.bootstrap_servers.split(","), **dict(config.admin_options)}
    )
    try:
        if config.topic not in admin.list_topics():
            try:
                admin.create_topics([NewTopic(config.topic, 1, -1, topic_configs=topic_configs())])
                return "created"
            except TopicAlreadyExistsError:
                pass  # created meanwhile by someone else: check it like any other
            except KafkaError as exc:
                raise ChangelogError(
                    f"cannot create the {config.what} changelog topic {config.topic!r} ({exc}); "
                    "create it with cleanup.policy=compact, or run with --dedup-state none"
                ) from exc
        resource = ConfigResource(ConfigResourceType.TOPIC, config.topic)
        try:
            described = admin.describe_configs([resource], config_filter="all")
        except KafkaError as exc:
            raise ChangelogError(
                f"cannot read the configuration of the {config.what} changelog topic "
                f"{config.topic!r} ({exc})"
            ) from exc
        problem = changelog_config_problem(
            _config_values(described, config.topic), config.window_seconds, config.what
        )
        if problem:
            raise ChangelogError(f"{config.what} changelog topic {config.topic!r} {problem}")
        return "exists"
    finally:
        admin.close()


def _config_values(described: Any, topic: str) -> dict[str, str | None]:
    entries = described.get("topic", {}).get(topic, {}) if isinstance(described, dict) else {}
    return {name: (e.get("value") if isinstance(e, dict) else e) for name, e in entries.items()}


def changelog_config_problem(
    configs: dict[str, str | None], window_seconds: float, what: str = "dedup"
) -> str | None:
    """Why a topic with these configs cannot hold the window, or None."""
    policy = configs.get("cleanup.policy")
    if policy is None:
        logger.warning("the broker does not report cleanup.policy: compaction not verified")
        return None
    policies = {p.strip() for p in policy.split(",")}
    if "compact" not in policies:
        return (
            f"has cleanup.policy={policy}: it must be compact (every window entry is kept "
            "until its tombstone); set cleanup.policy=compact, or delete the topic and let "
            "newsbeam create it (the window then starts empty)"
        )
    retention = configs.get("retention.ms")
    if (
        "delete" in policies
        and retention not in (None, "-1")
        and int(retention) < window_seconds * 1000
    ):
        return (
            f"has cleanup.policy={policy} with retention.ms={retention}, shorter than the "
            f"{window_seconds:g}s {what} window: live entries would be deleted; use "
            "cleanup.policy=compact"
        )
    return None


class KafkaChangelog:
    """`WindowStore` on a compacted topic (see the module docstring)."""

    def __init__(self, config: ChangelogConfig) -> None:
        self._config = config
        self._producer: KafkaProducer | None = None
        # (key, value) sent since the last flush, in order, with their futures.
        self._pending: list[tuple[bytes, bytes | None, Any]] = []
        self.writes = 0

    def describe(self) -> str:
        return f"changelog topic {self._config.topic!r}"

    def load(self) -> Iterator[StoreRecord]:
        config = self._config
        consumer = KafkaConsumer(
            **consumer_config(
                config.bootstrap_servers,
                config.consumer_options,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=8 * 1024 * 1024,
            )
        )
        try:
            partitions = consumer.partitions_for_topic(config.topic)
            if not partitions:
                raise ChangelogError(
                    f"{config.what} changelog topic {config.topic!r} does not exist"
                )
            tps = [TopicPartition(config.topic, p) for p in sorted(partitions)]
            ends = true_end_offsets(consumer, tps)
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            yield from self._read_to(consumer, ends)
        except KafkaError as exc:
            raise ChangelogError(
                f"cannot read the {config.what} changelog topic {config.topic!r}: {exc}"
            ) from exc
        finally:
            consumer.close(autocommit=False)

    def _read_to(
        self, consumer: KafkaConsumer, ends: dict[TopicPartition, int]
    ) -> Iterator[StoreRecord]:
        remaining = {tp for tp, end in ends.items() if consumer.position(tp) < end}
        last_progress = time.monotonic()
        while remaining:
            batch = consumer.poll(timeout_ms=500, max_records=10_000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield record.key, record.value
            for tp in list(remaining):
                if consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if batch:
                last_progress = time.monotonic()
                continue
            idle = time.monotonic() - last_progress
            if remaining and idle > TAIL_GAP_SECONDS and self._broker_answers(consumer, remaining):
                # The broker is there but has nothing from here to the end: the last
                # records were removed by compaction (an old tombstone at the tail).
                logger.info(
                    "%s changelog %r: no records left before the end offsets of %s",
                    self._config.what,
                    self._config.topic,
                    sorted(tp.partition for tp in remaining),
                )
                return
            if idle > self._config.read_stall_seconds:
                raise ChangelogError(
                    f"reading the {self._config.what} changelog topic {self._config.topic!r} "
                    f"made no progress for {self._config.read_stall_seconds:g}s"
                )

    @staticmethod
    def _broker_answers(consumer: KafkaConsumer, partitions: set[TopicPartition]) -> bool:
        if any(consumer.highwater(tp) is None for tp in partitions):
            return False  # no fetch response seen for a partition yet
        try:
            consumer.end_offsets(list(partitions))
        except KafkaError:
            return False
        return True

    def put(self, key: str, value: bytes) -> None:
        self._send(key.encode(), value)

    def delete(self, key: str) -> None:
        self._send(key.encode(), None)

    def _send(self, key: bytes, value: bytes | None) -> None:
        self._pending.append((key, value, self._send_one(key, value)))

    def _send_one(self, key: bytes, value: bytes | None) -> Any:
        if self._producer is None:
            self._producer = self._new_producer()
        try:
            return self._producer.send(self._config.topic, key=key, value=value)
        except KafkaError as exc:
            return exc

    def _new_producer(self) -> KafkaProducer:
        config = self._config
        options: dict[str, Any] = {
            "bootstrap_servers": config.bootstrap_servers.split(","),
            "client_id": f"newsbeam-{config.what}-changelog",
            "acks": "all",
            # In order per key even when the client retries: the last write must win.
            "max_in_flight_requests_per_connection": 1,
            "linger_ms": 5,
            "max_request_size": 8 * 1024 * 1024,
            "delivery_timeout_ms": config.delivery_timeout_ms,
            "request_timeout_ms": min(30_000, config.delivery_timeout_ms - 5),
            "max_block_ms": 10_000,
        }
        options.update(dict(config.producer_options))
        return KafkaProducer(**options)

    def flush(self) -> None:
        backoff = 0.5
        while self._pending:
            assert self._producer is not None
            try:
                self._producer.flush(timeout=self._config.delivery_timeout_ms / 1000 + 5)
            except KafkaError as exc:
                logger.warning("%s changelog flush did not complete: %s", self._config.what, exc)
            errors = [_failure(outcome) for _, _, outcome in self._pending]
            failed = [e for e in errors if e is not None]
            if not failed:
                self.writes += len(self._pending)
                self._pending = []
                return
            fatal = [e for e in failed if e is not _UNFINISHED and not _retriable(e)]
            if fatal:
                raise RuntimeError(
                    f"writing to the {self._config.what} changelog topic "
                    f"{self._config.topic!r} failed: {fatal[0]}"
                )
            if stop_requested() and backoff >= self._config.max_backoff_seconds:
                raise RuntimeError(
                    f"Kafka unavailable; {len(failed)} {self._config.what} changelog records "
                    "not written"
                )
            logger.warning(
                "%s changelog: %d of %d writes failed; re-sending the batch in %.1fs",
                self._config.what,
                len(failed),
                len(self._pending),
                backoff,
            )
            time.sleep(backoff)
            backoff = min(backoff * 2, self._config.max_backoff_seconds)
            # The whole batch again, in order: a later value of a key must stay later.
            batch = [(key, value) for key, value, _ in self._pending]
            self._pending = [(k, v, self._send_one(k, v)) for k, v in batch]

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None


_UNFINISHED = KafkaError("not acknowledged within the flush timeout")


def _failure(outcome: Any) -> Exception | None:
    if isinstance(outcome, Exception):
        return outcome
    if not outcome.is_done:
        return _UNFINISHED
    if outcome.failed():
        return outcome.exception
    return None


def _retriable(error: Exception) -> bool:
    # Errors raised before queuing that are not KafkaErrors (bad value type) are bugs.
    return bool(getattr(error, "retriable", False)) or isinstance(error, _TRANSIENT)


_TRANSIENT = (KafkaTimeoutError,)
