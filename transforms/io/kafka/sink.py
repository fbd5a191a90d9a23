"""Kafka sinks: article records (key = id) and dead letters (reason in a header).

Records are sent asynchronously as they arrive and the producer is flushed in
`finish_bundle`, so every record of a bundle is acknowledged by the broker before
the bundle completes -- and so before the source's bundle finalizer commits the
consumer offsets (see kafka_source). A send that fails for a retriable reason
(broker gone, leader moving) is re-sent with exponential backoff until it succeeds:
the bundle does not complete, offsets are not committed, and nothing is lost. An
article too large for the output topic is dead-lettered instead of stopping the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from kafka import KafkaProducer
from kafka.errors import KafkaError, MessageSizeTooLargeError

from newsbeam import PIPELINE_VERSION
from newsbeam.schemas.article import Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.kafka import latency
from newsbeam.transforms.io.kafka.message import (
    OutgoingMessage,
    article_message,
    dead_letter_message,
    source_uri,
)
from newsbeam.transforms.io.kafka.source import stop_requested

logger = logging.getLogger(__name__)

Encoder = Callable[[dict[str, Any]], OutgoingMessage]


@dataclass(frozen=True)
class KafkaSinkConfig:
    bootstrap_servers: str
    topic: str
    # Articles the topic refuses as too large go here as dead letters (None: fail).
    overflow_topic: str | None = None
    max_request_size: int = 8 * 1024 * 1024
    linger_ms: int = 5
    # One delivery attempt's budget; failed sends are then re-sent with backoff.
    delivery_timeout_ms: int = 30_000
    max_backoff_seconds: float = 30.0
    producer_options: tuple[tuple[str, Any], ...] = ()


class _WriteMessagesFn(beam.DoFn):
    def __init__(self, config: KafkaSinkConfig, encode: Encoder, label: str) -> None:
        self._config = config
        self._encode = encode
        self._written = Metrics.counter("newsbeam.write", f"kafka.{label}")
        self._retries = Metrics.counter("newsbeam.write", "kafka.retries")
        self._overflow = Metrics.counter("newsbeam.write", "dead_letter.record_too_large")
        self._latency_ms = Metrics.distribution(latency.NAMESPACE, latency.DISTRIBUTION)
        self._latency_buckets: dict[str, Any] = {}

    # Failed delivery rounds in one bundle after which the producer is replaced by a
    # new one: a kafka-python 3.0 producer can stay wedged after a broker outage (every
    # send timing out through a broker that a new client reaches at once; seen in the
    # outage test), and a sink that retries a wedged client waits forever.
    REPLACE_PRODUCER_AFTER = 3

    def setup(self) -> None:
        self._producer = self._new_producer()

    def _new_producer(self) -> KafkaProducer:
        config = self._config
        options: dict[str, Any] = {
            "bootstrap_servers": config.bootstrap_servers.split(","),
            "client_id": "newsbeam",
            "linger_ms": config.linger_ms,
            "max_request_size": config.max_request_size,
            "delivery_timeout_ms": config.delivery_timeout_ms,
            "request_timeout_ms": min(30_000, config.delivery_timeout_ms - config.linger_ms),
            "max_block_ms": 10_000,
        }
        options.update(dict(config.producer_options))
        return KafkaProducer(**options)

    def _replace_producer(self, failed_rounds: int) -> None:
        try:
            fresh = self._new_producer()
        except KafkaError as exc:  # the broker is still away: keep the old one for now
            logger.warning("Kafka producer not replaced (%s); retrying with the old one", exc)
            return
        logger.warning(
            "Kafka sends failed %d rounds in a row; replacing the producer", failed_rounds
        )
        old, self._producer = self._producer, fresh
        try:
            old.close(timeout=0)  # its unsent batches are sent again by the new one
        except Exception as exc:  # closing a wedged client must not fail the bundle
            logger.debug("closing the replaced Kafka producer: %s", exc)

    def start_bundle(self) -> None:
        # (topic, message, future or the exception send() raised)
        self._pending: list[tuple[str, OutgoingMessage, Any]] = []
        # id(message) -> its Kafka timestamp (epoch s), for the end-to-end latency
        self._born: dict[int, float] = {}

    # No return hint: the DoFn emits nothing, and Beam >= 2.78 rejects `-> None` as
    # "not iterable".
    def process(self, record: dict[str, Any]):
        message = self._encode(record)
        born = latency.record_epoch_seconds(record)
        if born is not None:
            self._born[id(message)] = born
        self._pending.append((self._config.topic, message, self._send(self._config.topic, message)))

    def finish_bundle(self) -> None:
        pending, self._pending = self._pending, []
        backoff = 0.5
        failed_rounds = 0
        while pending:
            try:
                self._producer.flush(timeout=self._config.delivery_timeout_ms / 1000 + 5)
            except KafkaError as exc:  # flush timed out: the futures say what failed
                logger.warning("Kafka producer flush did not complete: %s", exc)
            retry: list[tuple[str, OutgoingMessage]] = []
            for topic, message, outcome in pending:
                if _not_done(outcome):  # flush gave up on it: send again
                    retry.append((topic, message))
                    continue
                error = _failure(outcome)
                if error is None:
                    if topic == self._config.topic:
                        self._written.inc()
                        self._observe_latency(message)
                elif isinstance(error, MessageSizeTooLargeError) and self._can_overflow(topic):
                    retry.append(self._overflow_letter(message, error))
                elif getattr(error, "retriable", False):
                    retry.append((topic, message))
                else:
                    raise RuntimeError(f"writing to Kafka topic {topic!r} failed: {error}")
            if not retry:
                self._born.clear()
                return
            if stop_requested() and backoff >= self._config.max_backoff_seconds:
                # Shutting down with the broker still away: fail the bundle so the
                # offsets stay uncommitted and a restart re-delivers.
                raise RuntimeError(f"Kafka unavailable; {len(retry)} records not written")
            self._retries.inc(len(retry))
            logger.warning(
                "Kafka send failed for %d record(s); retrying in %.1fs", len(retry), backoff
            )
            time.sleep(backoff)
            backoff = min(backoff * 2, self._config.max_backoff_seconds)
            failed_rounds += 1
            if failed_rounds % self.REPLACE_PRODUCER_AFTER == 0:
                self._replace_producer(failed_rounds)
            pending = [(t, m, self._send(t, m)) for t, m in retry]

    def _observe_latency(self, message: OutgoingMessage) -> None:
        born = self._born.get(id(message))
        if born is None:
            return
        seconds = max(0.0, time.time() - born)
        self._latency_ms.update(int(seconds * 1000))
        name = latency.bucket_name(seconds)
        counter = self._latency_buckets.get(name)
        if counter is None:
            counter = self._latency_buckets[name] = Metrics.counter(latency.NAMESPACE, name)
        counter.inc()

    def teardown(self) -> None:
        producer = getattr(self, "_producer", None)
        if producer is not None:
            producer.close(timeout=10)

    def _send(self, topic: str, message: OutgoingMessage) -> Any:
        try:
            return self._producer.send(
                topic, key=message.key, value=message.value, headers=list(message.headers)
            )
        except KafkaError as exc:  # raised before queuing (no metadata, too large...)
            return exc

    def _can_overflow(self, topic: str) -> bool:
        return topic == self._config.topic and self._config.overflow_topic is not None

    def _overflow_letter(
        self, message: OutgoingMessage, error: Exception
    ) -> tuple[str, OutgoingMessage]:
        self._overflow.inc()
        key = message.key.decode("utf-8", "replace") if message.key else None
        topic = self._config.topic
        text = message.value.decode("utf-8", "replace")
        # The dead letter must fit where the record did not: keep a prefix.
        keep = self._config.max_request_size // 4
        letter = DeadLetter(
            stage="write",
            reason="record_too_large",
            error=f"{len(message.value)}-byte record refused by {topic!r}: {error}",
            source=Source(kind="kafka", uri=source_uri(topic), topic=topic),
            raw=text[:keep],
            id=key,
        )
        record = letter.to_record(pipeline_version=PIPELINE_VERSION)
        record["raw_truncated"] = len(text) > keep
        record["raw_length"] = len(text)
        return self._config.overflow_topic, dead_letter_message(record)


def _failure(outcome: Any) -> Exception | None:
    if isinstance(outcome, Exception):
        return outcome
    if outcome.is_done and outcome.failed():
        return outcome.exception
    return None


def _not_done(outcome: Any) -> bool:
    return not isinstance(outcome, Exception) and not outcome.is_done


class WriteArticlesToKafka(beam.PTransform):
    """Article records (dicts from Article.to_record) -> JSON messages keyed by id."""

    def __init__(self, config: KafkaSinkConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | "Send" >> beam.ParDo(
            _WriteMessagesFn(self._config, article_message, "articles")
        )


class WriteDeadLettersToKafka(beam.PTransform):
    """Dead-letter records (dicts from DeadLetter.to_record) -> their own topic, with the
    reason and stage in headers."""

    def __init__(self, config: KafkaSinkConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | "Send" >> beam.ParDo(
            _WriteMessagesFn(self._config, dead_letter_message, "dead_letters")
        )
