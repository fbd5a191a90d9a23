"""ReadFromKafka: a native Python Kafka source for Beam (splittable DoFn on kafka-python).

Beam's own ReadFromKafka is a cross-language transform that needs a Java expansion
service; this one is pure Python. Shape (measured on the local runner, see
shared/notes):

- A planning step lists the topic's partitions and resolves where each read starts
  (`earliest | latest | committed`) and, for `until_end`, where it stops (the end
  offsets present at start). One element -- one restriction (`OffsetRange`) -- per
  partition; restrictions are never split up front.
- The reading DoFn keeps one consumer per partition, assigned and seeked (no group
  membership, so no rebalancing), claims each record's offset, stamps the element
  with the record timestamp and advances a `ManualWatermarkEstimator` from those
  timestamps. Each call reads for at most `max_seconds_per_call` /
  `max_records_per_call`, then checkpoints with `tracker.defer_remainder(...)`.
- Consumer offsets are committed for the group from the bundle finalizer, i.e. after
  the runner has committed the bundle -- after every fused downstream DoFn (the
  sinks, which flush in finish_bundle) has written the bundle's records. A crash
  before that re-delivers; nothing is skipped (at-least-once). This holds only while
  everything from this source to the sinks is fused into one stage: a GroupByKey
  or a multi-input Flatten in between would let offsets be committed before the
  records behind it are written.

Stopping: the local runner has no drain, so a process-wide stop request
(`request_stop()`, used by the stream command's SIGINT/SIGTERM handler) makes every
partition read finish its restriction at the next call; the pipeline then completes
normally, the last bundle's offsets included.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider, WatermarkEstimatorProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from newsbeam.schemas.article import Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.commit_gate import commit_gate
from newsbeam.transforms.io.kafka.inflation import (
    DEFAULT_MAX_INFLATED_BATCH_BYTES,
    BatchTooLarge,
    install_inflation_cap,
)
from newsbeam.transforms.io.kafka.message import (
    DEFAULT_MAX_MESSAGE_BYTES,
    KafkaMessage,
    decode_message,
    source_uri,
)
from newsbeam.transforms.io.kafka.offsets import (
    START_OFFSET_MODES,
    OffsetCommitter,
    consumer_config,
    resolve_start_offsets,
    true_end_offsets,
)

logger = logging.getLogger(__name__)

DEAD_LETTER = "dead_letter"
# Stop of an unbounded partition restriction: "no end".
UNBOUNDED_STOP = sys.maxsize
# When a partition is caught up, its watermark may move to wall time minus this:
# a record produced later is unlikely to carry an older timestamp than that.
IDLE_WATERMARK_LAG_SECONDS = 2.0

_STOP = threading.Event()


def request_stop() -> None:
    """Ask every running Kafka read in this process to finish (clean shutdown)."""
    _STOP.set()


def clear_stop() -> None:
    _STOP.clear()


def stop_requested() -> bool:
    return _STOP.is_set()


@dataclass(frozen=True)
class KafkaSourceConfig:
    bootstrap_servers: str  # "host:port[,host:port...]"
    topic: str
    group_id: str | None = "newsbeam"
    start_offset: str = "committed"  # earliest | latest | committed
    # Bounded (backfill) mode: stop at the end offsets present at start.
    until_end: bool = False
    # Commit the group's offsets once records are written (needs group_id).
    commit_offsets: bool = True
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # A gzip-compressed record batch may inflate to at most this much (inflation.py);
    # past it the whole batch is one message_too_large dead letter.
    max_inflated_batch_bytes: int = DEFAULT_MAX_INFLATED_BATCH_BYTES
    # One process() call per partition reads at most this much before checkpointing;
    # small calls keep bundles (and so latency and offset commits) short.
    max_records_per_call: int = 1000
    max_seconds_per_call: float = 0.5
    poll_timeout_ms: int = 100
    # Extra kafka-python consumer settings (security, timeouts...).
    consumer_options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.start_offset not in START_OFFSET_MODES:
            raise ValueError(f"start_offset must be one of {START_OFFSET_MODES}")
        if self.start_offset == "committed" and not self.group_id:
            raise ValueError("start_offset='committed' needs a group_id")
        if self.commit_offsets and not self.group_id:
            raise ValueError("commit_offsets needs a group_id")


@dataclass(frozen=True)
class PartitionRead:
    """One partition's share of the read: offsets [start, stop), stop None = no end."""

    topic: str
    partition: int
    start: int
    stop: int | None


class _PlanPartitionReadsFn(beam.DoFn):
    """Config -> one PartitionRead per partition (start/end resolved now, at run time)."""

    def process(self, config: KafkaSourceConfig) -> Iterator[PartitionRead]:
        group_consumer = KafkaConsumer(
            **consumer_config(
                config.bootstrap_servers, config.consumer_options, group_id=config.group_id
            )
        )
        probe = KafkaConsumer(**consumer_config(config.bootstrap_servers, config.consumer_options))
        try:
            partitions = group_consumer.partitions_for_topic(config.topic)
            if not partitions:
                raise ValueError(f"Kafka topic {config.topic!r} does not exist")
            tps = [TopicPartition(config.topic, p) for p in sorted(partitions)]
            ends = true_end_offsets(probe, tps)
            starts = resolve_start_offsets(group_consumer, tps, config.start_offset, ends)
        finally:
            group_consumer.close(autocommit=False)
            probe.close(autocommit=False)
        for tp in tps:
            stop = max(ends[tp], starts[tp]) if config.until_end else None
            logger.info(
                "reading %s[%d] from offset %d%s",
                tp.topic,
                tp.partition,
                starts[tp],
                "" if stop is None else f" to {stop}",
            )
            yield PartitionRead(tp.topic, tp.partition, starts[tp], stop)


class _PartitionRestrictions(RestrictionProvider):
    def initial_restriction(self, element: PartitionRead) -> OffsetRange:
        stop = UNBOUNDED_STOP if element.stop is None else element.stop
        return OffsetRange(element.start, stop)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def split(self, element: PartitionRead, restriction: OffsetRange) -> Iterator[OffsetRange]:
        # One restriction per partition: a partition is read in order by one consumer.
        yield restriction

    def restriction_size(self, element: PartitionRead, restriction: OffsetRange) -> int:
        return restriction.size()


class _RecordTimeWatermarks(WatermarkEstimatorProvider):
    def initial_estimator_state(self, element: PartitionRead, restriction: OffsetRange) -> None:
        return None

    def create_watermark_estimator(self, state: Timestamp | None) -> ManualWatermarkEstimator:
        return ManualWatermarkEstimator(state)


_TRACKER = beam.DoFn.RestrictionParam(_PartitionRestrictions())
_WATERMARK = beam.DoFn.WatermarkEstimatorParam(_RecordTimeWatermarks())


class _ReadPartitionFn(beam.DoFn):
    """Reads one partition's offset range; bounded (until a stop offset) variant."""

    def __init__(self, config: KafkaSourceConfig) -> None:
        self._config = config
        self._messages = Metrics.counter("newsbeam.read", "messages")
        self._poll_errors = Metrics.counter("newsbeam.read", "poll_errors")
        self._commit_ms = Metrics.distribution("newsbeam.read", "commit_ms")
        self._commit_failures = Metrics.counter("newsbeam.read", "commit_failures")

    def setup(self) -> None:
        install_inflation_cap(self._config.max_inflated_batch_bytes)
        # Offset commits run in bundle finalizers, outside any bundle's metrics: their
        # timings wait here and are counted by the next read (seconds, committed?).
        self._commit_timings: list[tuple[float, bool]] = []
        self._timings_lock = threading.Lock()
        self._lag_gauges: dict[int, Any] = {}
        self._consumers: dict[TopicPartition, KafkaConsumer] = {}
        # Next offset each cached consumer will return: a restriction starting
        # elsewhere (a retried bundle) makes us seek.
        self._next: dict[TopicPartition, int] = {}
        self._committer: OffsetCommitter | None = None
        if self._config.commit_offsets:
            self._committer = OffsetCommitter(
                functools.partial(
                    KafkaConsumer,
                    **consumer_config(
                        self._config.bootstrap_servers,
                        self._config.consumer_options,
                        group_id=self._config.group_id,
                    ),
                )
            )

    def teardown(self) -> None:
        for consumer in getattr(self, "_consumers", {}).values():
            consumer.close(autocommit=False)
        self._consumers = {}
        if getattr(self, "_committer", None) is not None:
            self._committer.close()

    def process(
        self,
        element: PartitionRead,
        bundle_finalizer=beam.DoFn.BundleFinalizerParam,
        tracker=_TRACKER,
        watermark=_WATERMARK,
    ) -> Iterator[KafkaMessage]:  # each wrapped in a TimestampedValue (its Kafka time)
        yield from self._read(element, bundle_finalizer, tracker, watermark)

    def _consumer(self, tp: TopicPartition, offset: int) -> KafkaConsumer:
        consumer = self._consumers.get(tp)
        if consumer is None:
            consumer = KafkaConsumer(
                **consumer_config(
                    self._config.bootstrap_servers,
                    self._config.consumer_options,
                    auto_offset_reset="earliest",
                    # The broker answers an empty fetch after this long; short, so a
                    # record produced meanwhile is not held back (latency).
                    fetch_max_wait_ms=100,
                )
            )
            consumer.assign([tp])
            self._consumers[tp] = consumer
            self._next.pop(tp, None)
        if self._next.get(tp) != offset:
            consumer.seek(tp, offset)
            self._next[tp] = offset
        return consumer

    def _drop_consumer(self, tp: TopicPartition) -> None:
        consumer = self._consumers.pop(tp, None)
        self._next.pop(tp, None)
        if consumer is not None:
            try:
                consumer.close(autocommit=False)
            except Exception:  # a broken client must not stop the read
                logger.debug("closing consumer for %s failed", tp, exc_info=True)

    def _read(self, element, bundle_finalizer, tracker, watermark) -> Iterator[TimestampedValue]:
        self._count_commit_timings()
        restriction = tracker.current_restriction()
        if restriction.start >= restriction.stop:
            return  # an empty range (nothing to read) is already done
        if stop_requested():
            # Finish the restriction: claiming its end makes it done, and the
            # group's committed offsets (the real progress) stay where they are.
            tracker.try_claim(restriction.stop)
            return
        tp = TopicPartition(element.topic, element.partition)
        config = self._config
        consumer = self._consumer(tp, restriction.start)
        deadline = time.monotonic() + config.max_seconds_per_call
        emitted = 0
        next_offset = restriction.start
        finished = False
        while not finished:
            try:
                batch = consumer.poll(
                    timeout_ms=config.poll_timeout_ms,
                    max_records=config.max_records_per_call - emitted,
                )
            except BatchTooLarge as exc:
                # A gzip bomb: one dead letter at the batch's first offset, and the
                # read goes on after its last one (claimed, so never fetched again).
                logger.warning("partition %s: %s", tp, exc)
                self._drop_consumer(tp)
                if not tracker.try_claim(exc.base_offset):
                    finished = True
                    break
                timestamp = _record_time(exc.timestamp_ms)
                yield TimestampedValue(
                    KafkaMessage(
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=exc.base_offset,
                        timestamp_ms=exc.timestamp_ms,
                        key=None,
                        value=exc.head,
                        value_size=exc.cap + 1,
                        last_offset=exc.last_offset,
                    ),
                    timestamp,
                )
                emitted += 1
                next_offset = exc.last_offset + 1
                if exc.last_offset > exc.base_offset and not tracker.try_claim(exc.last_offset):
                    finished = True
                self._next[tp] = next_offset
                break
            except KafkaError as exc:
                # The client reconnects by itself; a failed poll is retried from
                # the last claimed offset with a fresh consumer.
                self._poll_errors.inc()
                logger.warning("poll of %s failed, retrying: %s", tp, exc)
                self._drop_consumer(tp)
                time.sleep(min(1.0, config.max_seconds_per_call))
                break
            records = batch.get(tp, [])
            for record in records:
                if not tracker.try_claim(record.offset):
                    finished = True  # reached the stop offset (bounded mode)
                    break
                timestamp = _record_time(record.timestamp)
                yield TimestampedValue(
                    KafkaMessage(
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        timestamp_ms=record.timestamp if record.timestamp is not None else -1,
                        key=record.key,
                        value=record.value,
                        headers=tuple((k, v) for k, v in (record.headers or ())),
                    ),
                    timestamp,
                )
                _advance(watermark, timestamp)
                next_offset = record.offset + 1
                emitted += 1
            self._next[tp] = next_offset
            if finished:
                break
            if element.stop is not None and self._at_or_past(consumer, tp, element.stop):
                # Every offset up to stop has been seen (the last ones may have been
                # transaction markers that are never returned as records).
                tracker.try_claim(restriction.stop)
                finished = True
                break
            if not records:
                self._advance_when_idle(consumer, tp, next_offset, watermark)
                break
            if emitted >= config.max_records_per_call or time.monotonic() >= deadline:
                break
            if _caught_up(consumer, tp, next_offset):
                # Keeping up: hand over to the other partitions and finish the bundle
                # now (short bundles = low latency and prompt commits); a backlog
                # instead gets the full call.
                break
        if emitted and self._committer is not None:
            commit_to = element.stop if finished and element.stop is not None else next_offset
            # Through the gate: a rolling file sink may still hold these records in an
            # open file; the commit then waits for its rename (io/commit_gate.py).
            commit = functools.partial(self._timed_commit, tp, commit_to)
            bundle_finalizer.register(functools.partial(commit_gate().commit, commit))
        self._messages.inc(emitted)
        self._report_lag(tp, next_offset)
        if not finished:
            tracker.defer_remainder(Duration(0))

    def _timed_commit(self, tp: TopicPartition, next_offset: int) -> None:
        assert self._committer is not None
        started = time.monotonic()
        committed = self._committer.commit(tp, next_offset)
        with self._timings_lock:
            self._commit_timings.append((time.monotonic() - started, committed))

    def _count_commit_timings(self) -> None:
        with self._timings_lock:
            timings, self._commit_timings = self._commit_timings, []
        for seconds, committed in timings:
            self._commit_ms.update(int(seconds * 1000))
            if not committed:
                self._commit_failures.inc()

    def _report_lag(self, tp: TopicPartition, next_offset: int) -> None:
        """Consumer lag of the partition: the high watermark of the last fetch minus the
        next offset to read (a gauge `lag.<partition>`, messages)."""
        consumer = self._consumers.get(tp)
        highwater = consumer.highwater(tp) if consumer is not None else None
        if highwater is None:
            return
        gauge = self._lag_gauges.get(tp.partition)
        if gauge is None:
            gauge = self._lag_gauges[tp.partition] = Metrics.gauge(
                "newsbeam.read", f"lag.{tp.partition}"
            )
        gauge.set(max(0, highwater - next_offset))

    @staticmethod
    def _at_or_past(consumer: KafkaConsumer, tp: TopicPartition, stop: int) -> bool:
        try:
            return consumer.position(tp, timeout_ms=1000) >= stop
        except KafkaError:
            return False

    @staticmethod
    def _advance_when_idle(
        consumer: KafkaConsumer, tp: TopicPartition, next_offset: int, watermark
    ) -> None:
        if _caught_up(consumer, tp, next_offset):
            _advance(watermark, Timestamp.now() - IDLE_WATERMARK_LAG_SECONDS)


class _ReadPartitionUnboundedFn(_ReadPartitionFn):
    """The streaming variant: the same read, marked unbounded so the runner treats the
    output as an unbounded PCollection."""

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        element: PartitionRead,
        bundle_finalizer=beam.DoFn.BundleFinalizerParam,
        tracker=_TRACKER,
        watermark=_WATERMARK,
    ) -> Iterator[KafkaMessage]:  # each wrapped in a TimestampedValue (its Kafka time)
        yield from self._read(element, bundle_finalizer, tracker, watermark)


def _caught_up(consumer: KafkaConsumer, tp: TopicPartition, next_offset: int) -> bool:
    highwater = consumer.highwater(tp)  # from the last fetch response
    return highwater is not None and next_offset >= highwater


def _record_time(timestamp_ms: int | None) -> Timestamp:
    if timestamp_ms is None or timestamp_ms < 0:
        return Timestamp.now()
    return Timestamp(micros=timestamp_ms * 1000)


def _advance(watermark: ManualWatermarkEstimator, timestamp: Timestamp) -> None:
    current = watermark.current_watermark()
    if current is None or timestamp > current:
        watermark.set_watermark(timestamp)


class ReadFromKafka(beam.PTransform):
    """PBegin -> PCollection[KafkaMessage], timestamped with the record timestamps."""

    def __init__(self, config: KafkaSourceConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, pbegin: pvalue.PBegin) -> beam.PCollection:
        read_fn = (_ReadPartitionFn if self._config.until_end else _ReadPartitionUnboundedFn)(
            self._config
        )
        return (
            pbegin
            | "Config" >> beam.Create([self._config])
            | "PlanPartitionReads" >> beam.ParDo(_PlanPartitionReadsFn())
            | "ReadPartitions" >> beam.ParDo(read_fn)
        )


class _DecodeMessagesFn(beam.DoFn):
    def __init__(self, max_message_bytes: int) -> None:
        self._max_message_bytes = max_message_bytes
        self._parsed = Metrics.counter("newsbeam.parse", "articles")

    def process(self, message: KafkaMessage) -> Iterator[Any]:
        try:
            result = decode_message(message, max_message_bytes=self._max_message_bytes)
        except Exception as exc:  # a bug must not stop the stream: dead-letter it
            logger.exception("unexpected error decoding %s", message)
            result = DeadLetter(
                stage="read",
                reason="internal_error",
                error=f"{type(exc).__name__}: {exc}",
                source=Source(
                    kind="kafka",
                    uri=source_uri(message.topic),
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                ),
                raw=(message.value or b"").decode("utf-8", "replace"),
            )
        if isinstance(result, DeadLetter):
            Metrics.counter(f"newsbeam.{result.stage}", f"dead_letter.{result.reason}").inc()
            yield pvalue.TaggedOutput(DEAD_LETTER, result)
        else:
            self._parsed.inc()
            yield result


class ReadArticlesFromKafka(beam.PTransform):
    """Kafka messages to Articles: `.main` Articles, `.dead_letter` DeadLetters."""

    def __init__(self, config: KafkaSourceConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, pbegin: pvalue.PBegin) -> pvalue.DoOutputsTuple:
        return (
            pbegin
            | "Read" >> ReadFromKafka(self._config)
            | "Decode"
            >> beam.ParDo(_DecodeMessagesFn(self._config.max_message_bytes)).with_outputs(
                DEAD_LETTER, main="main"
            )
        )
