"""The `newsbeam` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import orjson

from newsbeam import __version__, stream_cli
from newsbeam.cli_options import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_article_size_option,
    add_stage_options,
    add_verbosity,
    byte_size,
    stage_config,
    verbosity_options,
)

logger = logging.getLogger("newsbeam")


def _add_run_parser(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        parents=[verbosity_options()],
        help="batch job: article files/folders/globs to JSON Lines",
        description=(
            "Read articles from files, folders (recursive) or globs (.txt, .html, .htm, .json, "
            ".jsonl, each optionally .gz), run every stage and write articles-*.jsonl, "
            "dead-letter-*.jsonl, run-report.json and run-report.html under --output. "
            "Arguments after a literal `--` are passed to Apache Beam "
            "(e.g. -- --runner=PortableRunner ...)."
        ),
    )
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="file, folder or glob")
    run.add_argument("--output", required=True, metavar="DIR", help="output folder")
    from newsbeam.transforms.io.files.limits import DEFAULT_MAX_FILE_BYTES

    run.add_argument(
        "--max-file-bytes",
        type=byte_size,
        default=DEFAULT_MAX_FILE_BYTES,
        metavar="BYTES",
        help="read at most this many (decompressed) bytes of one file; the rest becomes a "
        f"file_too_large dead letter (default: {DEFAULT_MAX_FILE_BYTES}; suffixes K, M, G)",
    )
    add_article_size_option(
        run,
        "--max-article-bytes",
        "an article (.txt/.html file, .jsonl line, .json object) larger than this becomes an "
        "article_too_large dead letter",
    )
    run.add_argument(
        "--workers",
        type=_worker_count,
        default=None,
        metavar="N",
        help="worker processes on the local runner (default: the cores this process may use, "
        "or 1 when the inputs hold less than 32 MB, where starting worker processes costs "
        "more than it saves); ignored with another runner (-- --runner=...), which sizes "
        "itself",
    )
    add_stage_options(run)
    run.set_defaults(func=_run_command)


def _usable_cores() -> int:
    # The cores this process may run on (a container's CPU set), not the host's count.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _worker_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return count


def _run_command(args: argparse.Namespace) -> int:
    from newsbeam.pipelines.batch import OutputError, run_batch
    from newsbeam.pipelines.config import BatchRunConfig
    from newsbeam.pipelines.local_batch import default_workers
    from newsbeam.transforms.io.files.limits import ReadLimits
    from newsbeam.transforms.io.files.reading import InputError, discover_inputs

    try:
        paths = discover_inputs(args.inputs)
    except InputError as exc:
        raise UsageError(str(exc)) from exc
    config = BatchRunConfig(
        inputs=tuple(args.inputs),
        output_dir=args.output,
        sinks=tuple(args.sink),
        pipeline=stage_config(args),
        beam_args=tuple(args.beam_args),
        workers=args.workers or default_workers(paths, _usable_cores()),
        limits=ReadLimits(
            max_file_bytes=args.max_file_bytes, max_article_bytes=args.max_article_bytes
        ),
    )
    logger.info("reading %d file(s)", len(paths))
    logger.debug("%d worker process(es) on the local runner", config.workers)
    try:
        report = run_batch(config, paths)
    except OutputError as exc:
        raise UsageError(str(exc)) from exc
    summary = {
        key: report[key]
        for key in (
            "files_read",
            "articles_parsed",
            "articles_written",
            "dead_letters_written",
            "filtered",
            "wall_seconds",
        )
    }
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbeam",
        description="News ingestion pipeline on Apache Beam: read, clean, detect language, "
        "deduplicate, classify and write articles.",
    )
    parser.add_argument("--version", action="version", version=f"newsbeam {__version__}")
    add_verbosity(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run_parser(subparsers)
    from newsbeam.inspect_command import add_parser as add_inspect_parser

    add_inspect_parser(subparsers, parents=[verbosity_options()])
    from newsbeam.migrate_command import add_parser as add_migrate_parser

    add_migrate_parser(subparsers, parents=[verbosity_options()])
    from newsbeam import report_command

    report_command.add_parser(subparsers, parents=[verbosity_options()])
    from newsbeam import classifier_cli

    classifier_cli.add_parsers(subparsers, parents=[verbosity_options()])
    stream_cli.add_parser(subparsers, parents=[verbosity_options()])
    return parser


class _OwnMessagesFilter(logging.Filter):
    """Beam logs option and import chatter (some on the root logger) at INFO and
    WARNING; users see our messages and other libraries' errors only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.startswith("newsbeam") or record.levelno >= logging.ERROR


class _StderrHandler(logging.StreamHandler):
    """Writes to `sys.stderr` as it is when a message is logged, not as it was when
    the handler was made: a host application (or a test) that swaps or closes the
    stream after `main` returned must not make later messages fail."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 (the base class's attribute)
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass  # StreamHandler.__init__ sets it; the current sys.stderr is always used


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("newsbeam: %(message)s"))
    if not verbose:
        handler.addFilter(_OwnMessagesFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after a literal `--` belongs to Apache Beam's own options.
    beam_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, beam_args = argv[:split], argv[split + 1 :]
    # Parsing may import Beam, which logs on the root logger: filter from the start.
    _configure_logging(verbose="-v" in argv or "--verbose" in argv, quiet=False)
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage message on bad options
    args.beam_args = beam_args
    _configure_logging(args.verbose, args.quiet)
    try:
        return args.func(args)
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"newsbeam: error: {exc}\n")
    except KeyboardInterrupt:
        sys.stderr.write("newsbeam: interrupted\n")
        return 130
    except Exception as exc:  # the user gets one line; --verbose shows the traceback
        logger.debug("unexpected failure", exc_info=True)
        sys.stderr.write(
            f"newsbeam: error: {type(exc).__name__}: {exc} (run with --verbose for details)\n"
        )
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
