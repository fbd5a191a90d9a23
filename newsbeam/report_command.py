"""`newsbeam report OUTPUT_DIR`: (re)build run-report.html from a finished batch run's
outputs (run-report.json, articles-*.jsonl, dead-letter-*.jsonl)."""

from __future__ import annotations

import argparse
import logging
import sys

import orjson

from newsbeam.cli_options import EXIT_OK, UsageError

logger = logging.getLogger("newsbeam")


def add_parser(subparsers: argparse._SubParsersAction, parents: list) -> None:
    report = subparsers.add_parser(
        "report",
        parents=parents,
        help="rebuild run-report.html from a finished batch run's output folder",
        description="Read run-report.json and the JSON Lines outputs of a finished "
        "`newsbeam run` and write run-report.html beside them: one self-contained page "
        "(no network needed to view it) with the stage funnel, dead letters, languages, "
        "topics, duplicates, throughput and the run's options and versions.",
    )
    report.add_argument("output_dir", metavar="OUTPUT_DIR", help="the --output folder of a run")
    report.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    from apache_beam.io.filesystems import FileSystems

    from newsbeam.pipelines.batch import REPORT_NAME
    from newsbeam.pipelines.html_report import write_html_report

    path = FileSystems.join(args.output_dir, REPORT_NAME)
    try:
        with FileSystems.open(path) as handle:
            report = orjson.loads(handle.read())
    except (OSError, ValueError) as exc:
        # Beam's FileSystems raise plain OSError-derived errors for a missing file.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(
            f"{path}: not a finished run's report ({message}); "
            "give the --output folder of a `newsbeam run`"
        ) from exc
    if not isinstance(report, dict) or "stages" not in report:
        raise UsageError(f"{path}: not a newsbeam run report (no `stages`)")
    try:
        written = write_html_report(args.output_dir, report)
    except OSError as exc:
        raise UsageError(f"cannot write the HTML report into {args.output_dir}: {exc}") from exc
    logger.info("wrote %s", written)
    sys.stdout.write(written + "\n")
    return EXIT_OK
