"""The streaming job: raw articles from Kafka, every stage, records back to Kafka.

    Kafka topic --ReadArticlesFromKafka--> Articles --ProcessArticles(streaming)-->
        records       -> WriteArticlesToKafka      (output topic, key = id)
        dead letters  -> WriteDeadLettersToKafka   (dead-letter topic, reason header)

Delivery is at-least-once: the source commits the consumer group's offsets from
the bundle finalizer, after the sinks have flushed the bundle's records. That is
only sound while the whole chain is ONE fused stage on the runner -- no
GroupByKey and no multi-input Flatten between the source and the sinks (either
materialises its input and lets offsets be committed before the records behind it
are written). So the read's own dead letters get their own sink instead of being
flattened into the chain's, and tests/test_kafka_stream.py checks the fusion.

The job runs on the local runner (FnApiRunner, what the DirectRunner uses here)
unless Beam options after `--` pick another; SIGINT/SIGTERM ask the Kafka reads
to finish, so the pipeline completes with the last bundle written and committed.
A second signal terminates at once (still safe: uncommitted records are re-read).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from kafka import KafkaConsumer
from kafka.errors import KafkaError

from newsbeam.pipelines.config import PipelineConfig
from newsbeam.pipelines.heartbeat import Heartbeat
from newsbeam.pipelines.local_runner import streaming_fn_api_runner
from newsbeam.pipelines.metrics_server import MetricsServer
from newsbeam.pipelines.progress import ReportProgress
from newsbeam.pipelines.report import counters_by_stage
from newsbeam.pipelines.stages import DeadLetterToRecordFn, ProcessArticles
from newsbeam.pipelines.stream_metrics import StreamMetrics, bundle_metrics
from newsbeam.schemas.dead_letter import utc_now
from newsbeam.transforms.io.files.jsonl import ARTICLES_PREFIX, DEAD_LETTERS_PREFIX
from newsbeam.transforms.io.files.rolling import RollPolicy, remove_in_progress
from newsbeam.transforms.io.kafka.changelog import (
    ChangelogConfig,
    ChangelogError,
    ensure_changelog_topic,
)
from newsbeam.transforms.io.kafka.diagnosis import (
    bootstrap_addresses,
    explain_client_log,
    probe_broker,
)
from newsbeam.transforms.io.kafka.offsets import consumer_config
from newsbeam.transforms.io.kafka.sink import (
    KafkaSinkConfig,
    WriteArticlesToKafka,
    WriteDeadLettersToKafka,
)
from newsbeam.transforms.io.kafka.source import (
    KafkaSourceConfig,
    ReadArticlesFromKafka,
    clear_stop,
    request_stop,
    stop_requested,
)
from newsbeam.transforms.io.sinks import (
    JsonLinesSink,
    ParquetSink,
    SinkSpec,
    WriteRecords,
)

logger = logging.getLogger(__name__)


class BrokerUnavailable(ConnectionError):
    """No Kafka broker answered at the bootstrap address."""


class TopicError(ValueError):
    """A topic the job needs is missing or misused."""


@dataclass(frozen=True)
class StreamRunConfig:
    """`newsbeam stream`: one input topic, an output topic and a dead-letter topic."""

    source: KafkaSourceConfig
    articles: KafkaSinkConfig
    dead_letters: KafkaSinkConfig
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    # Extra Beam pipeline options, e.g. ("--runner=PortableRunner", ...).
    beam_args: tuple[str, ...] = ()
    # How long the start-up check waits for a broker before giving up.
    connect_timeout_seconds: float = 10.0
    # Sinks besides the Kafka topics (--sink): files, Parquet, PostgreSQL.
    sinks: tuple[SinkSpec, ...] = ()
    # Touched while bundles complete, for liveness probes (--health-file).
    health_file: str | None = None
    # When the file sinks' open files are made final (--roll-*, --partition-by).
    roll_policy: RollPolicy = field(default_factory=RollPolicy)
    # Consumer settings for the output cluster, when it is not the input's
    # (--output-kafka-config); the start-up check looks for the output topics there.
    output_consumer_options: tuple[tuple[str, Any], ...] | None = None
    # The dedup window's changelog topic (--dedup-state changelog), on the input
    # cluster; None: the window lives in Beam state only (a runner that checkpoints
    # state, or no durability).
    dedup_changelog: ChangelogConfig | None = None
    # The stories' changelog topic (follows --dedup-state; None without stories).
    story_changelog: ChangelogConfig | None = None


class _KafkaClientLog(logging.Handler):
    """Keeps what kafka-python logs while the start-up check bootstraps: the SASL
    outcome is only visible there (see diagnosis.explain_client_log)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _captured_kafka_client_log() -> Iterator[_KafkaClientLog]:
    """kafka-python logs every failed connection attempt at ERROR; the start-up check
    reports one line of its own instead, from what was captured here."""
    client_logger = logging.getLogger("kafka")
    level, propagate = client_logger.level, client_logger.propagate
    handler = _KafkaClientLog()
    client_logger.setLevel(logging.WARNING)
    client_logger.propagate = False
    client_logger.addHandler(handler)
    try:
        yield handler
    finally:
        client_logger.removeHandler(handler)
        client_logger.setLevel(level)
        client_logger.propagate = propagate


def check_kafka(config: StreamRunConfig) -> None:
    """Fail fast, before any pipeline starts: a broker answers and the topics exist.

    Raises BrokerUnavailable with one actionable line (exit 69) when the cluster
    cannot be reached or refuses the connection settings, TopicError otherwise.
    """
    source = config.source
    wanted = {
        "input": source.topic,
        "output": config.articles.topic,
        "dead-letter": config.dead_letters.topic,
    }
    if source.topic in (config.articles.topic, config.dead_letters.topic) and (
        config.output_consumer_options is None
        and config.articles.bootstrap_servers == source.bootstrap_servers
    ):
        raise TopicError(f"the input topic {source.topic!r} cannot also be an output topic")
    clusters = [(source.bootstrap_servers, source.consumer_options, ["input"])]
    if config.output_consumer_options is None:
        clusters[0][2].extend(["output", "dead-letter"])
    else:
        clusters.append(
            (
                config.articles.bootstrap_servers,
                config.output_consumer_options,
                ["output", "dead-letter"],
            )
        )
    for servers, options, roles in clusters:
        topics = _cluster_topics(servers, dict(options), config.connect_timeout_seconds)
        missing = [f"{role} topic {wanted[role]!r}" for role in roles if wanted[role] not in topics]
        if missing:
            raise TopicError(f"Kafka at {servers} has no {', '.join(missing)}; create it first")

    others = {source.topic, config.articles.topic, config.dead_letters.topic}
    for changelog in (config.dedup_changelog, config.story_changelog):
        if changelog is None:
            continue
        if changelog.topic in others:
            raise TopicError(
                f"the {changelog.what} changelog topic {changelog.topic!r} cannot be the input, "
                "output, dead-letter or another changelog topic"
            )
        # The two stores' keys and values differ: one topic each (docs/stages/story.md).
        others.add(changelog.topic)
        try:
            outcome = ensure_changelog_topic(changelog)
        except ChangelogError as exc:
            raise TopicError(str(exc)) from exc
        logger.info("%s changelog topic %r: %s", changelog.what, changelog.topic, outcome)


def _cluster_topics(servers: str, options: dict[str, Any], timeout: float) -> set[str]:
    """The cluster's topics; BrokerUnavailable with the reason when it cannot say."""
    try:
        addresses = bootstrap_addresses(servers)
    except ValueError as exc:
        raise BrokerUnavailable(f"bootstrap servers {servers}: {exc}") from None
    # One direct probe per server first: a certificate, protocol or client-file
    # problem cannot heal, so it is reported now instead of after the timeout.
    problems = []
    for host, port in addresses:
        problem = probe_broker(host, port, options, timeout=min(timeout, 5.0))
        if problem is None:
            problems = []
            break
        problems.append(problem)
    lasting = [p for p in problems if not p.can_heal]
    if lasting:
        raise BrokerUnavailable(lasting[0].message)
    with _captured_kafka_client_log() as client_log:
        try:
            consumer = KafkaConsumer(
                **consumer_config(servers, options, bootstrap_timeout_ms=int(timeout * 1000))
            )
            try:
                return set(consumer.topics())
            finally:
                consumer.close(autocommit=False)
        except KafkaError as exc:
            explained = explain_client_log(client_log.records, options, servers)
            if explained is not None:
                raise BrokerUnavailable(explained.message) from exc
            if problems:  # unreachable all along: say why, after waiting for it
                reason = problems[0].message.rsplit(": ", 1)[-1]
                raise BrokerUnavailable(
                    f"cannot reach Kafka at {servers} within {timeout:g}s ({reason})"
                ) from exc
            mechanism = options.get("sasl_mechanism")
            if mechanism:
                raise BrokerUnavailable(
                    f"Kafka at {servers} answered but closed every connection during SASL "
                    f"{mechanism} login for {timeout:g}s: the broker may not enable {mechanism} "
                    "(check sasl.mechanism), or the credentials are refused"
                ) from exc
            raise BrokerUnavailable(
                f"Kafka at {servers} answered but the client could not use it within "
                f"{timeout:g}s ({exc}); if the cluster requires authentication, set "
                "security.protocol=SASL_SSL and the sasl.* settings"
            ) from exc


def build_stream_pipeline(pipeline: beam.Pipeline, config: StreamRunConfig) -> None:
    read = pipeline | "ReadKafka" >> ReadArticlesFromKafka(config.source)
    articles = read.main
    if config.health_file:
        articles = articles | "Heartbeat" >> Heartbeat(config.health_file)
    outputs = articles | "Process" >> ProcessArticles(
        config.pipeline,
        streaming=True,
        dedup_store=config.dedup_changelog,
        story_store=config.story_changelog,
    )
    if config.sinks:
        # Same fused stage as the read (see the module docstring and the fusion test).
        outputs | "WriteSinks" >> WriteRecords(
            config.sinks,
            streaming=True,
            pipeline_version=config.pipeline.pipeline_version,
            roll_policy=config.roll_policy,
        )
    (
        outputs["articles"]
        | "Progress" >> ReportProgress()
        | "WriteArticles" >> WriteArticlesToKafka(config.articles)
    )
    outputs["dead_letters"] | "WriteDeadLetters" >> WriteDeadLettersToKafka(config.dead_letters)
    # The per-record guards' dead letters (dedup, classify): each written by its own
    # sink step, since a Flatten would split the fused stage.
    for name in sorted(key for key in outputs if key.endswith("_dead_letters")):
        outputs[name] | f"Write_{name}" >> WriteDeadLettersToKafka(config.dead_letters)
    (
        read.dead_letter
        | "ReadDeadLetterToRecord"
        >> beam.ParDo(DeadLetterToRecordFn(config.pipeline.pipeline_version))
        | "WriteReadDeadLetters" >> WriteDeadLettersToKafka(config.dead_letters)
    )


def pipeline_options(config: StreamRunConfig) -> PipelineOptions:
    options = PipelineOptions(list(config.beam_args))
    options.view_as(StandardOptions).streaming = not config.source.until_end
    return options


def make_pipeline(config: StreamRunConfig, metrics: StreamMetrics | None = None) -> beam.Pipeline:
    options = pipeline_options(config)
    if options.view_as(StandardOptions).runner is None:
        # What the DirectRunner hands these pipelines to, minus its attempt to
        # download and start Prism first (which fails on machines without network),
        # and with its per-bundle metrics leak fixed (see local_runner).
        observer = None
        if metrics is not None:

            def observer(infos, seconds: float) -> None:
                metrics.observe(bundle_metrics(infos), seconds)

        return beam.Pipeline(runner=streaming_fn_api_runner(observer), options=options)
    if metrics is not None:
        logger.warning(
            "--metrics-port: the job runs on %s, whose workers report Beam metrics to the "
            "runner (Flink's metric reporters, Dataflow's monitoring), not to this "
            "process; the port serves /healthz and /readyz only",
            options.view_as(StandardOptions).runner,
        )
    return beam.Pipeline(options=options)


class _StopOnSignals:
    """SIGINT/SIGTERM -> request_stop(); a second one terminates at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> _StopOnSignals:
        self._previous: dict[int, Any] = {}
        self.signalled: str | None = None
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if stop_requested():
            logger.warning("second %s: terminating now", signal.Signals(signum).name)
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        self.signalled = signal.Signals(signum).name
        logger.info("%s: finishing the current bundles, then stopping", self.signalled)
        request_stop()

    def __exit__(self, *exc_info: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        clear_stop()


def run_stream(
    config: StreamRunConfig, metrics_server: MetricsServer | None = None
) -> dict[str, Any]:
    """Runs until stopped (or, with until_end, until the end offsets); returns a summary.

    `metrics_server` (already bound) serves the job's metrics and probes while it runs.
    """
    started_at = utc_now()
    started = time.monotonic()
    clear_stop()
    for spec in config.sinks:
        if isinstance(spec, (JsonLinesSink, ParquetSink)):
            # Files a crashed run left open: their records were never committed.
            for prefix in (ARTICLES_PREFIX, DEAD_LETTERS_PREFIX):
                remove_in_progress(spec.directory, prefix)
    pipeline = make_pipeline(config, metrics_server.metrics if metrics_server else None)
    build_stream_pipeline(pipeline, config)
    logger.info(
        "streaming %s from %s (group %s, start %s%s) to %s / %s",
        config.source.topic,
        config.source.bootstrap_servers,
        config.source.group_id,
        config.source.start_offset,
        ", until the current end" if config.source.until_end else "",
        config.articles.topic,
        config.dead_letters.topic,
    )
    with _StopOnSignals() as signals, metrics_server or contextlib.nullcontext():
        result = pipeline.run()
        result.wait_until_finish()
    stages = counters_by_stage(result)
    return {
        "started_at": started_at,
        "wall_seconds": round(time.monotonic() - started, 3),
        "stopped_by": signals.signalled or ("end_offsets" if config.source.until_end else "end"),
        "messages_read": stages.get("read", {}).get("messages", 0),
        "articles_written": stages.get("write", {}).get("kafka.articles", 0),
        "dead_letters_written": stages.get("write", {}).get("kafka.dead_letters", 0),
        "dedup_window": _dedup_window_summary(config, stages.get("dedup", {})),
        "story_state": _story_state_summary(config, stages.get("story", {})),
        "stages": stages,
    }


def _story_state_summary(config: StreamRunConfig, story: dict[str, int]) -> dict[str, Any]:
    """Where the stories were kept and what was restored from there at start."""
    changelog = config.story_changelog
    return {
        "state": "changelog" if changelog is not None else "none",
        "changelog_topic": changelog.topic if changelog is not None else None,
        "restored": story.get("restored", 0),
        "restore_expired": story.get("restore_expired", 0),
        "restore_skipped": story.get("restore_skipped", 0),
    }


def _dedup_window_summary(config: StreamRunConfig, dedup: dict[str, int]) -> dict[str, Any]:
    """Where the window was kept and what was restored from it at start."""
    changelog = config.dedup_changelog
    return {
        "state": "changelog" if changelog is not None else "none",
        "changelog_topic": changelog.topic if changelog is not None else None,
        "restored": dedup.get("restored", 0),
        "restore_expired": dedup.get("restore_expired", 0),
        "restore_skipped": dedup.get("restore_skipped", 0),
    }
