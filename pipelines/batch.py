"""The batch job: files in, JSON Lines + dead letters + run report out."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import apache_beam as beam
import orjson
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from newsbeam.pipelines.config import BatchRunConfig
from newsbeam.pipelines.html_report import HTML_REPORT_NAME, write_html_report
from newsbeam.pipelines.local_batch import run_two_passes
from newsbeam.pipelines.progress import ReportProgress
from newsbeam.pipelines.provenance import run_options, run_versions
from newsbeam.pipelines.report import build_report, counters_by_stage
from newsbeam.pipelines.stages import ProcessArticles
from newsbeam.pipelines.timeline import CountOverTime
from newsbeam.schemas.dead_letter import utc_now
from newsbeam.transforms.io.files.jsonl import ARTICLES_PREFIX, DEAD_LETTERS_PREFIX
from newsbeam.transforms.io.files.source import DEAD_LETTER, ReadArticleFiles
from newsbeam.transforms.io.sinks import JsonLinesSink, SinkUnavailable, WriteRecords, check_sink

logger = logging.getLogger(__name__)

REPORT_NAME = "run-report.json"
# Files a previous run left behind are removed so shards never mix runs.
OUTPUT_PATTERNS = (
    f"{ARTICLES_PREFIX}-*.jsonl",
    f"{DEAD_LETTERS_PREFIX}-*.jsonl",
    REPORT_NAME,
    HTML_REPORT_NAME,
)


class OutputError(OSError):
    """The output folder cannot be used."""


def prepare_output_dir(directory: str) -> None:
    """Check the folder can be written (local or any Beam file system) and remove
    the outputs of a previous run, so shards of two runs never mix."""
    try:
        check_sink(JsonLinesSink(directory))
    except SinkUnavailable as exc:
        raise OutputError(f"output folder is not writable: {directory} ({exc})") from exc
    patterns = [FileSystems.join(directory, pattern) for pattern in OUTPUT_PATTERNS]
    stale = [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]
    if stale:
        FileSystems.delete(stale)


def build_batch_pipeline(
    pipeline: beam.Pipeline,
    paths: list[str],
    config: BatchRunConfig,
    *,
    ingested_at: str,
    started_epoch: float | None = None,
) -> None:
    """The one-graph job: every stage in one pipeline (any runner)."""
    origin = time.time() if started_epoch is None else started_epoch
    read = pipeline | "ReadFiles" >> ReadArticleFiles(
        paths, ingested_at=ingested_at, limits=config.limits
    )
    parsed = read.main | "TimelineParsed" >> CountOverTime("parsed", origin)
    outputs = parsed | "Process" >> ProcessArticles(
        config.pipeline, streaming=False, dead_letters_in=read[DEAD_LETTER]
    )
    write_outputs(outputs, config, origin)


def write_outputs(
    outputs: dict[str, beam.PCollection], config: BatchRunConfig, origin: float
) -> None:
    """ProcessArticles' outputs -> the JSON Lines files and every other sink."""
    articles = (
        outputs["articles"]
        | "Progress" >> ReportProgress()
        | "TimelineWritten" >> CountOverTime("written", origin)
    )
    sinks = [JsonLinesSink(config.output_dir), *config.sinks]
    rejected = {"articles": articles, "dead_letters": outputs["dead_letters"]} | "Write" >> (
        WriteRecords(sinks, streaming=False, pipeline_version=config.pipeline.pipeline_version)
    )
    for index, refused in enumerate(rejected):
        refused | f"CountRejected{index}" >> beam.Map(_count_rejected)


def _count_rejected(letter) -> None:
    Metrics.counter("newsbeam.sink", f"dead_letter.{letter.reason}").inc()


def is_local_runner(beam_args: tuple[str, ...]) -> bool:
    """True when the job runs on the in-process DirectRunner (no other --runner given)."""
    runner = PipelineOptions(list(beam_args)).view_as(StandardOptions).runner
    return runner in (None, "DirectRunner", "direct")


def local_worker_args(config: BatchRunConfig) -> list[str]:
    """Beam's options, plus the local runner's worker processes for `workers` > 1
    (unless the Beam options already say how many), which log newsbeam's messages at
    the level the command line chose (-v, -q) and Beam's own at WARNING (INFO with -v)."""
    args = list(config.beam_args)
    if (
        config.workers > 1
        and is_local_runner(config.beam_args)
        and not any(arg.startswith("--direct_num_workers") for arg in args)
    ):
        args += [f"--direct_num_workers={config.workers}", "--direct_running_mode=multi_processing"]
        if not any("sdk_harness_log_level" in arg for arg in args):
            args += _worker_log_levels(logging.getLogger("newsbeam").getEffectiveLevel())
    return args


def _worker_log_levels(level: int) -> list[str]:
    # A worker process logs at INFO by default: every Beam harness message (channels,
    # the whole pipeline options) of every worker of both passes reached the terminal.
    beam_level = "INFO" if level <= logging.DEBUG else "WARNING"
    overrides = orjson.dumps({"newsbeam": logging.getLevelName(level)}).decode()
    return [
        f"--default_sdk_harness_log_level={beam_level}",
        f"--sdk_harness_log_level_overrides={overrides}",
    ]


def run_batch(config: BatchRunConfig, paths: list[str]) -> dict[str, Any]:
    """Runs the job to completion, writes run-report.json and run-report.html; returns
    the report."""
    prepare_output_dir(config.output_dir)
    started_at = utc_now()
    started_epoch = time.time()
    started = time.monotonic()
    options = PipelineOptions(local_worker_args(config))
    if config.two_passes and is_local_runner(config.beam_args):
        # Bounded memory and every core on the local runner (pipelines/local_batch.py).
        stages = run_two_passes(
            config, paths, options, ingested_at=started_at, origin=started_epoch
        )
    else:
        pipeline = beam.Pipeline(options=options)
        build_batch_pipeline(
            pipeline, paths, config, ingested_at=started_at, started_epoch=started_epoch
        )
        result = pipeline.run()
        result.wait_until_finish()
        stages = counters_by_stage(result)
    wall = time.monotonic() - started
    report = build_report(
        stages,
        wall_seconds=wall,
        inputs=list(config.inputs),
        output_dir=config.output_dir
        if "://" in config.output_dir
        else os.path.abspath(config.output_dir),
        pipeline_version=config.pipeline.pipeline_version,
        started_at=started_at,
        options=run_options(config),
        versions=run_versions(config.pipeline),
    )
    with FileSystems.create(FileSystems.join(config.output_dir, REPORT_NAME)) as handle:
        handle.write(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    try:
        write_html_report(config.output_dir, report)
    except Exception as exc:  # the run itself succeeded: its outputs and JSON report stand
        logger.warning(
            "%s not written (%s: %s); rebuild it with `newsbeam report %s`",
            HTML_REPORT_NAME,
            type(exc).__name__,
            exc,
            config.output_dir,
        )
    return report
