"""Command-line pieces shared by `newsbeam run`, `stream` and `inspect`: exit codes,
the usage error, option types and the stage options both jobs take.

Kept apart from the commands so that they import it and never each other.
"""

from __future__ import annotations

import argparse
import logging
import re
from dataclasses import replace

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit 2."""


log = logging.getLogger(__name__)


def language_list(value: str) -> frozenset[str]:
    from newsbeam.transforms.language.codes import parse_languages

    try:
        return parse_languages(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{exc} (expected a comma-separated list such as en,de)"
        ) from exc


def add_stage_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `stream`: what to keep, the topic model, extra sinks."""
    parser.add_argument(
        "--languages",
        type=language_list,
        metavar="CODES",
        help="keep only these detected languages (e.g. en,de); others are counted, not written",
    )
    parser.add_argument(
        "--drop-duplicates",
        action="store_true",
        help="write only representatives; exact/near duplicates are counted, not written",
    )
    parser.add_argument(
        "--classifier-model",
        metavar="MODEL",
        help="topic model file from `newsbeam train-classifier`, or a shipped one: "
        "builtin:iptc-wikinews (the default; 11 IPTC topics, 13 languages, trained on "
        "Wikinews, CC BY 2.5) or builtin:ag-news-en (4 topics, English; trained on AG News: "
        "research and non-commercial use only)",
    )
    parser.add_argument(
        "--classifier-languages",
        metavar="CODES",
        help="classify only articles detected in these languages, or `all` (default: the "
        "languages the model was trained for); others get no topics",
    )
    parser.add_argument(
        "--no-stories",
        action="store_true",
        help="skip the story stage: records carry no `story` (docs/stages/story.md)",
    )
    parser.add_argument(
        "--story-window",
        type=duration_seconds,
        metavar="DURATION",
        help="an article joins only stories with a member this recent in event time, "
        "e.g. 3d, 36h; stream state grows with the stories in this window (default: 3d)",
    )
    parser.add_argument(
        "--story-max-active",
        type=positive_int,
        metavar="N",
        help="at most N stories open at once; past it the one whose newest member is "
        "oldest closes early (bounds state and cost when event times do not spread, e.g. "
        "a batch of undated files; default: 10000)",
    )
    parser.add_argument(
        "--sink",
        action="append",
        default=[],
        type=sink_option,
        metavar="URI",
        help="also write to this sink (repeatable): DIR or jsonl:DIR, parquet:DIR, "
        "postgresql://user@host:5432/db?table=articles",
    )


def stage_config(args: argparse.Namespace):
    """PipelineConfig from the shared options; checks the model and the sinks first."""
    from newsbeam.pipelines.config import PipelineConfig
    from newsbeam.transforms.story.config import DAY_SECONDS, StoryConfig

    _check_sinks(args.sink)
    story: StoryConfig | None = None
    if args.no_stories:
        for given, option in (
            (args.story_window, "--story-window"),
            (args.story_max_active, "--story-max-active"),
        ):
            if given is not None:
                raise UsageError(f"{option} has no effect with --no-stories")
    else:
        story = StoryConfig()
        if args.story_window is not None:
            story = replace(story, window_days=args.story_window / DAY_SECONDS)
        if args.story_max_active is not None:
            story = replace(story, max_active_stories=args.story_max_active)
    return PipelineConfig(
        languages=args.languages,
        drop_duplicates=args.drop_duplicates,
        classify=_classify_config(args.classifier_model, args.classifier_languages),
        story=story,
    )


# The broker could not be reached at start (sysexits.h EX_UNAVAILABLE): a supervisor
# can tell "retry later" apart from bad options (2) and failures (1).
EXIT_UNAVAILABLE = 69


def positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return number


def positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return number


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
_SIZE_UNITS |= {"k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3, "gib": 1024**3}


def byte_size(value: str) -> int:
    """'128MiB', '128M', '100MB', '1G', '65536' -> bytes (> 0). K/M/G are binary."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
    unit = _SIZE_UNITS.get(match.group(2).lower()) if match else None
    if unit is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a size (e.g. 128MiB, 64M, 1G)")
    size = int(float(match.group(1)) * unit)
    if size <= 0:
        raise argparse.ArgumentTypeError("must be a positive size")
    return size


def port_number(value: str) -> int:
    """A TCP port to listen on: 1-65535."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{number} is out of range (1-65535)")
    return number


def add_article_size_option(parser: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """The per-article cap: `--max-article-bytes` (run) and `--max-message-bytes`
    (stream) are one limit with one default: the raw bytes of one article."""
    from newsbeam.transforms.io.files.limits import DEFAULT_MAX_ARTICLE_BYTES

    parser.add_argument(
        flag,
        type=byte_size,
        default=DEFAULT_MAX_ARTICLE_BYTES,
        metavar="BYTES",
        help=f"{help_text} (default: {DEFAULT_MAX_ARTICLE_BYTES}; suffixes K, M, G allowed)",
    )


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: str) -> float:
    """'7d', '36h', '90m', '3600s' (or plain seconds) -> seconds, > 0."""
    text = value.strip().lower()
    unit = _DURATION_UNITS.get(text[-1:]) if text else None
    try:
        number = float(text[:-1] if unit else text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a duration (e.g. 7d, 36h, 90m, 3600s)"
        ) from None
    seconds = number * (unit or 1)
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive duration")
    return seconds


def sink_option(value: str):
    from newsbeam.transforms.io.sinks import parse_sink_option

    return parse_sink_option(value)


def _classify_config(model_path: str | None, languages: str | None):
    """Load the model once up front so a bad file is one clear error, not a worker crash."""
    from newsbeam.transforms.classify import ClassifyConfig, ModelFormatError, load_model
    from newsbeam.transforms.classify.config import MODEL_LANGUAGES
    from newsbeam.transforms.language.codes import parse_languages

    codes: frozenset[str] | None | str = MODEL_LANGUAGES
    if languages is not None:
        try:
            codes = None if languages.strip().lower() == "all" else parse_languages(languages)
        except ValueError as exc:
            raise UsageError(f"--classifier-languages: {exc}") from exc
    config = ClassifyConfig(model_path=model_path, languages=codes)  # type: ignore[arg-type]
    if model_path is not None:
        try:
            model = load_model(model_path)
        except (ModelFormatError, OSError) as exc:
            raise UsageError(f"--classifier-model {model_path}: {exc}") from exc
        licence = model.training.get("licence")
        if licence:
            log.warning("--classifier-model %s: %s", model_path, licence)
    return config


def _check_sinks(specs) -> None:
    """Fail before the pipeline starts when a sink cannot be written to."""
    from newsbeam.transforms.io.sinks import SinkUnavailable, check_sink

    for spec in specs:
        try:
            check_sink(spec)
        except SinkUnavailable as exc:
            raise UsageError(str(exc)) from exc


def add_verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="debug logging"
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="warnings and errors only"
    )


def verbosity_options() -> argparse.ArgumentParser:
    """-v/-q accepted after the command too (`newsbeam run ... -q`); subcommands
    take it as a parent. SUPPRESS keeps a global -v from being reset."""
    parent = argparse.ArgumentParser(add_help=False)
    add_verbosity(parent, default=argparse.SUPPRESS)
    return parent
