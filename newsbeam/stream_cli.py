"""`newsbeam stream`: the long-running Kafka job (registered by newsbeam.cli)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

import orjson

from newsbeam.cli_options import (
    EXIT_OK,
    EXIT_UNAVAILABLE,
    UsageError,
    add_article_size_option,
    add_stage_options,
    byte_size,
    duration_seconds,
    port_number,
    positive_float,
    positive_int,
    stage_config,
)

logger = logging.getLogger("newsbeam")


def add_parser(subparsers: argparse._SubParsersAction, parents: list | None = None) -> None:
    from newsbeam.transforms.io.kafka.offsets import START_OFFSET_MODES

    stream = subparsers.add_parser(
        "stream",
        parents=parents or [],
        help="streaming job: Kafka topic to Kafka topics, until stopped",
        description=(
            "Consume raw articles (JSON, text or HTML message values) from a Kafka topic, "
            "run every stage and publish JSON records keyed by article id to --output-topic "
            "and dead letters (reason in a header) to --dead-letter-topic. Runs until "
            "SIGINT/SIGTERM (or, with --until-end, until the end offsets present at start). "
            "Offsets are committed for --group-id only after records are written: "
            "at-least-once. Arguments after a literal `--` are passed to Apache Beam."
        ),
    )
    stream.add_argument(
        "--bootstrap-servers",
        metavar="HOST:PORT[,HOST:PORT]",
        help="Kafka bootstrap servers (required unless --kafka-config sets bootstrap.servers)",
    )
    stream.add_argument("--topic", required=True, help="input topic of raw articles")
    stream.add_argument("--output-topic", required=True, help="topic for article records")
    stream.add_argument(
        "--dead-letter-topic", required=True, help="topic for dead letters (reason header)"
    )
    stream.add_argument(
        "--group-id",
        default="newsbeam",
        help="consumer group whose offsets are committed and resumed (default: newsbeam)",
    )
    stream.add_argument(
        "--start-offset",
        choices=START_OFFSET_MODES,
        default="committed",
        help="where to start: the group's committed offsets (earliest where none; default), "
        "the earliest retained, or the latest (only new messages)",
    )
    stream.add_argument(
        "--until-end",
        action="store_true",
        help="bounded backfill: read up to the end offsets present at start, then exit",
    )
    # The same cap as `run --max-article-bytes`: the raw bytes of one article.
    add_article_size_option(
        stream,
        "--max-message-bytes",
        "a message value larger than this is dead-lettered as message_too_large (a "
        "compressed batch that inflates past 64 MiB is too, whole)",
    )
    stream.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help=f"give up (exit {EXIT_UNAVAILABLE}) if no broker answers at start (default: 10)",
    )
    rolling = stream.add_argument_group(
        "file sinks (--sink DIR / parquet:DIR)",
        "Streaming files are rolled: one open file per partition, made final (renamed) "
        "when the first limit is reached; the Kafka offsets of its records are committed "
        "only after that.",
    )
    rolling.add_argument(
        "--roll-size",
        type=byte_size,
        default=None,
        metavar="SIZE",
        help="close a file at this size, e.g. 128MiB, 512M, 1G (default: 128MiB)",
    )
    rolling.add_argument(
        "--roll-interval",
        type=duration_seconds,
        default=None,
        metavar="DURATION",
        help="close a file this long after it was opened, e.g. 5m, 30s, 1h; also the most "
        "an offset commit waits (default: 5m)",
    )
    rolling.add_argument(
        "--roll-records",
        type=positive_int,
        default=None,
        metavar="N",
        help="close a file after N records (default: no limit)",
    )
    rolling.add_argument(
        "--partition-by",
        type=_partition_keys,
        default=(),
        metavar="KEYS",
        help="write files under Hive-style folders: date (dt=YYYY-MM-DD/, the event date) "
        "and/or language (language=xx/), e.g. date,language (default: none)",
    )
    stream.add_argument(
        "--health-file",
        metavar="PATH",
        help="touch this file while bundles complete, for liveness probes "
        "(`python -m newsbeam.pipelines.health PATH --max-age 60`)",
    )
    stream.add_argument(
        "--metrics-port",
        type=port_number,
        metavar="PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics and the probes /healthz "
        "and /readyz (a port in use is an error, exit 2)",
    )
    stream.add_argument(
        "--metrics-host",
        default="0.0.0.0",
        metavar="HOST",
        help="address the metrics port listens on (default: 0.0.0.0, every interface)",
    )
    stream.add_argument(
        "--dedup-retention",
        type=duration_seconds,
        default=None,
        metavar="DURATION",
        help="how long (event time) an article stays comparable for deduplication, e.g. 7d, "
        "36h, 90m; memory grows with articles in this window (default: 7d)",
    )
    _add_kafka_client_options(stream)
    stream.add_argument(
        "--dedup-state",
        choices=DEDUP_STATES,
        default="auto",
        help="where the dedup window survives a restart: `changelog` = a compacted Kafka "
        "topic, read back on start; `none` = in the job's memory only (a restart starts with "
        "an empty window); `auto` (default) = changelog on the built-in local runner, none "
        "with a --runner after `--` (Flink, Dataflow checkpoint Beam state themselves)",
    )
    stream.add_argument(
        "--dedup-changelog-topic",
        metavar="TOPIC",
        help="the changelog topic (default: GROUP_ID-dedup-changelog); created with "
        "cleanup.policy=compact when missing",
    )
    stream.add_argument(
        "--story-changelog-topic",
        metavar="TOPIC",
        help="the stories' changelog topic, kept when the dedup window is (--dedup-state) "
        "and stories run (default: GROUP_ID-story-changelog); created with "
        "cleanup.policy=compact when missing",
    )
    add_stage_options(stream)
    stream.set_defaults(func=_stream_command)


def _partition_keys(value: str) -> tuple[str, ...]:
    from newsbeam.transforms.io.files.rolling import PARTITION_KEYS

    keys = tuple(key.strip() for key in value.split(",") if key.strip())
    unknown = [key for key in keys if key not in PARTITION_KEYS]
    if unknown or len(set(keys)) != len(keys):
        raise argparse.ArgumentTypeError(f"{value!r}: expected date, language or date,language")
    return keys


def roll_policy(args: argparse.Namespace):
    """The streaming file sinks' RollPolicy from --roll-* and --partition-by."""
    from newsbeam.transforms.io.files.rolling import RollPolicy

    defaults = RollPolicy()
    return RollPolicy(
        max_bytes=args.roll_size or defaults.max_bytes,
        max_seconds=args.roll_interval or defaults.max_seconds,
        max_records=args.roll_records,
        partition_by=args.partition_by,
    )


def _add_kafka_client_options(stream: argparse.ArgumentParser) -> None:
    group = stream.add_argument_group(
        "Kafka client settings (TLS, SASL, ...)",
        "Java/librdkafka property names, e.g. security.protocol=SASL_SSL, "
        "sasl.mechanism=SCRAM-SHA-512, sasl.username, sasl.password, ssl.ca.location; values "
        "may be ${ENV:NAME} or ${FILE:/path} so secrets stay off the command line. "
        "Unknown keys are an error.",
    )
    group.add_argument(
        "--kafka-config",
        metavar="FILE",
        help="client settings for the cluster (a client.properties file: key=value lines)",
    )
    group.add_argument(
        "--kafka-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one client setting, added to or overriding --kafka-config (repeatable)",
    )
    group.add_argument(
        "--output-bootstrap-servers",
        metavar="HOST:PORT[,HOST:PORT]",
        help="write to this cluster instead (default: the input cluster)",
    )
    group.add_argument(
        "--output-kafka-config",
        metavar="FILE",
        help="client settings for the output cluster (default: the input's settings)",
    )
    group.add_argument(
        "--output-kafka-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one client setting for the output cluster (repeatable)",
    )


def _client_settings(args: argparse.Namespace, prefix: str):
    """(bootstrap servers, KafkaClientSettings) for the input (prefix "") or output cluster."""
    from newsbeam.transforms.io.kafka.client_settings import (
        SettingsError,
        is_secret_key,
        load_settings,
        parse_option,
    )

    config_file = getattr(args, f"{prefix}kafka_config")
    options = getattr(args, f"{prefix}kafka_option")
    flag = f"--{prefix.replace('_', '-')}"
    for option in options:
        try:
            key, value = parse_option(option)
        except SettingsError:
            continue  # reported by load_settings below
        if is_secret_key(key) and "${" not in value:
            logger.warning(
                "%skafka-option %s: a secret on the command line is visible in the process "
                "list; use %s=${ENV:NAME} or ${FILE:/path}",
                flag,
                key,
                key,
            )
    try:
        settings = load_settings(config_file, options)
    except SettingsError as exc:
        where = f"{flag}kafka-config {config_file}" if config_file else f"{flag}kafka-option"
        raise UsageError(f"{where}: {exc}") from None
    servers = getattr(args, f"{prefix}bootstrap_servers") or settings.bootstrap_servers
    return servers, settings


DEDUP_STATES = ("auto", "changelog", "none")
# Runners that keep Beam state in the process's memory only (lost on restart).
_IN_MEMORY_RUNNERS = ("directrunner", "fnapirunner", "bundlebaseddirectrunner")


def _beam_runner(beam_args: list[str]) -> str | None:
    for i, arg in enumerate(beam_args):
        if arg.startswith("--runner="):
            return arg.split("=", 1)[1]
        if arg == "--runner" and i + 1 < len(beam_args):
            return beam_args[i + 1]
    return None


def _dedup_state(args: argparse.Namespace) -> str:
    runner = _beam_runner(list(getattr(args, "beam_args", ())))
    local = runner is None or runner.lower() in _IN_MEMORY_RUNNERS
    if args.dedup_state == "auto":
        return "changelog" if local else "none"
    if args.dedup_state == "changelog" and not local:
        logger.warning(
            "--dedup-state changelog with --runner=%s: the runner checkpoints Beam state; the "
            "changelog is written as well and read only when the job starts without state",
            runner,
        )
    return args.dedup_state


def _stream_command(args: argparse.Namespace) -> int:
    from newsbeam.pipelines.stream import (
        BrokerUnavailable,
        StreamRunConfig,
        TopicError,
        check_kafka,
        run_stream,
    )
    from newsbeam.transforms.io.kafka.changelog import (
        ChangelogConfig,
        changelog_topic_name,
        story_changelog_topic_name,
    )
    from newsbeam.transforms.io.kafka.sink import KafkaSinkConfig
    from newsbeam.transforms.io.kafka.source import KafkaSourceConfig

    servers, settings = _client_settings(args, "")
    if not servers:
        raise UsageError("--bootstrap-servers is required (or bootstrap.servers in --kafka-config)")
    separate_output = bool(
        args.output_bootstrap_servers or args.output_kafka_config or args.output_kafka_option
    )
    if separate_output:
        output_servers, output_settings = _client_settings(args, "output_")
        output_servers = output_servers or servers
    else:
        output_servers, output_settings = servers, settings
    pipeline = stage_config(args)
    if args.dedup_retention is not None:
        dedup = dataclasses.replace(pipeline.dedup, retention_seconds=args.dedup_retention)
        pipeline = dataclasses.replace(pipeline, dedup=dedup)
    changelog = None
    if args.dedup_changelog_topic is not None and not args.dedup_changelog_topic.strip():
        raise UsageError("--dedup-changelog-topic must not be empty")
    story_changelog = None
    for option in ("dedup_changelog_topic", "story_changelog_topic"):
        value = getattr(args, option)
        if value is not None and not value.strip():
            raise UsageError(f"--{option.replace('_', '-')} must not be empty")
    if args.story_changelog_topic is not None and pipeline.story is None:
        raise UsageError("--story-changelog-topic has no effect with --no-stories")
    if _dedup_state(args) == "changelog" and pipeline.story is not None:
        # The same durability as the dedup window, on a topic of its own.
        story_changelog = ChangelogConfig(
            bootstrap_servers=servers,
            topic=args.story_changelog_topic or story_changelog_topic_name(args.group_id),
            window_seconds=pipeline.story.window_seconds,
            producer_options=settings.producer,
            consumer_options=settings.consumer,
            admin_options=settings.admin,
            what="story",
        )
    if _dedup_state(args) == "changelog":
        changelog = ChangelogConfig(
            bootstrap_servers=servers,
            topic=args.dedup_changelog_topic or changelog_topic_name(args.group_id),
            window_seconds=pipeline.dedup.retention_seconds,
            # On the input cluster, next to the consumer group whose offsets it covers.
            producer_options=settings.producer,
            consumer_options=settings.consumer,
            admin_options=settings.admin,
        )
    config = StreamRunConfig(
        source=KafkaSourceConfig(
            bootstrap_servers=servers,
            topic=args.topic,
            group_id=args.group_id,
            start_offset=args.start_offset,
            until_end=args.until_end,
            max_message_bytes=args.max_message_bytes,
            consumer_options=settings.consumer,
        ),
        articles=KafkaSinkConfig(
            bootstrap_servers=output_servers,
            topic=args.output_topic,
            overflow_topic=args.dead_letter_topic,
            producer_options=output_settings.producer,
        ),
        dead_letters=KafkaSinkConfig(
            bootstrap_servers=output_servers,
            topic=args.dead_letter_topic,
            producer_options=output_settings.producer,
        ),
        output_consumer_options=output_settings.consumer if separate_output else None,
        pipeline=pipeline,
        sinks=tuple(args.sink),
        roll_policy=roll_policy(args),
        health_file=args.health_file,
        dedup_changelog=changelog,
        story_changelog=story_changelog,
        beam_args=tuple(getattr(args, "beam_args", ())),
        connect_timeout_seconds=args.connect_timeout,
    )
    metrics_server = None
    if args.metrics_port is not None:
        from newsbeam.pipelines.metrics_server import MetricsPortError, MetricsServer
        from newsbeam.transforms.io.kafka.source import stop_requested

        try:  # bound now: a port in use is a usage error before anything starts
            metrics_server = MetricsServer(
                args.metrics_port, args.metrics_host, stopping=stop_requested
            )
        except MetricsPortError as exc:
            raise UsageError(str(exc)) from exc
    try:
        check_kafka(config)
    except (BrokerUnavailable, TopicError) as exc:
        if metrics_server is not None:
            metrics_server.close()
        if isinstance(exc, TopicError):
            raise UsageError(str(exc)) from exc
        sys.stderr.write(f"newsbeam: error: {exc}\n")
        return EXIT_UNAVAILABLE
    # After the check, so that a failure stays one line; secrets show as ***.
    logger.info("Kafka input %s: %s", servers, settings.describe())
    if separate_output:
        logger.info("Kafka output %s: %s", output_servers, output_settings.describe())
    if metrics_server is None:
        summary = run_stream(config)
    else:
        summary = run_stream(config, metrics_server=metrics_server)
    summary.pop("stages")
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return EXIT_OK
