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
from apache_beam.options.pipeline_options import PipelineOptions

from newsbeam.pipelines.config import BatchRunConfig
from newsbeam.pipelines.html_report import HTML_REPORT_NAME, write_html_report
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
    origin = time.time() if started_epoch is None else started_epoch
    read = pipeline | "ReadFiles" >> ReadArticleFiles(
        paths, ingested_at=ingested_at, limits=config.limits
    )
    parsed = read.main | "TimelineParsed" >> CountOverTime("parsed", origin)
    outputs = parsed | "Process" >> ProcessArticles(
        config.pipeline, streaming=False, dead_letters_in=read[DEAD_LETTER]
    )
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


def run_batch(config: BatchRunConfig, paths: list[str]) -> dict[str, Any]:
    """Runs the job to completion, writes run-report.json and run-report.html; returns
    the report."""
    prepare_output_dir(config.output_dir)
    started_at = utc_now()
    started_epoch = time.time()
    started = time.monotonic()
    options = PipelineOptions(list(config.beam_args))
    pipeline = beam.Pipeline(options=options)
    build_batch_pipeline(
        pipeline, paths, config, ingested_at=started_at, started_epoch=started_epoch
    )
    result = pipeline.run()
    result.wait_until_finish()
    wall = time.monotonic() - started
    report = build_report(
        counters_by_stage(result),
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
