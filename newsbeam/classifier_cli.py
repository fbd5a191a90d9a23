"""`newsbeam train-classifier` and `newsbeam eval-classifier`.

`add_parsers(subparsers)` registers both subcommands on the main CLI; each
parser's ``func`` returns an exit code. Bad input (missing or malformed
labelled data, an unreadable model file) prints one message on stderr and
returns 2. Also runnable alone: ``python -m newsbeam.classifier_cli ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from newsbeam.transforms.classify.default_model import DEFAULT_TRAINING_CONFIG, file_sha256
from newsbeam.transforms.classify.evaluation import evaluate_model
from newsbeam.transforms.classify.model import ModelFormatError, TopicModel
from newsbeam.transforms.classify.training import (
    TrainingDataError,
    read_labelled_jsonl,
    train_topic_model,
)
from newsbeam.transforms.language.codes import parse_languages

log = logging.getLogger(__name__)

USAGE_ERROR = 2


def add_parsers(subparsers: argparse._SubParsersAction, parents: list | None = None) -> None:
    train = subparsers.add_parser(
        "train-classifier",
        parents=parents or [],
        help="train a topic model from labelled JSONL",
        description=(
            "Train a topic model from JSONL lines with 'text' (optionally 'title') and "
            "'label' (one string) or 'labels' (a list: multi-label). Uses the training "
            "recipe of builtin:ag-news-en (the default model's features plus capitalised words)."
        ),
    )
    train.add_argument("--data", required=True, type=Path, metavar="LABELLED.jsonl")
    train.add_argument("--out", required=True, type=Path, metavar="MODEL")
    train.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_TRAINING_CONFIG.seed,
        help="seed of the solver and calibration folds (default: %(default)s)",
    )
    train.add_argument(
        "--languages",
        metavar="CODES",
        help="languages the model is for (e.g. en,de), recorded in the file: by default the "
        "classify stage then labels only articles in these languages (default: not recorded, "
        "every language is classified)",
    )
    train.set_defaults(func=train_command)

    evaluate = subparsers.add_parser(
        "eval-classifier",
        parents=parents or [],
        help="score a topic model on labelled JSONL",
        description="Accuracy, macro-F1, per-label precision/recall and confusion matrix.",
    )
    evaluate.add_argument("--model", required=True, type=Path, metavar="MODEL")
    evaluate.add_argument("--data", required=True, type=Path, metavar="LABELLED.jsonl")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.set_defaults(func=eval_command)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return USAGE_ERROR


def train_command(args: argparse.Namespace) -> int:
    config = dataclasses.replace(DEFAULT_TRAINING_CONFIG, seed=args.seed)
    languages = None
    if args.languages is not None:
        try:
            languages = sorted(parse_languages(args.languages))
        except ValueError as exc:
            return _fail(f"--languages: {exc}")
    try:
        examples = read_labelled_jsonl(args.data)
        model = train_topic_model(
            examples,
            config,
            provenance={"data": args.data.name, "data_sha256": file_sha256(args.data)},
            languages=languages,
        )
    except TrainingDataError as exc:
        return _fail(f"cannot train: {exc}")
    try:
        model.save(args.out)
    except OSError as exc:
        return _fail(f"cannot write model to {args.out}: {exc.strerror or exc}")
    counts = ", ".join(f"{k}: {v}" for k, v in model.training["label_counts"].items())
    print(f"trained on {len(examples)} examples ({model.output}); labels {counts}")
    print(f"wrote {args.out}")
    return 0


def eval_command(args: argparse.Namespace) -> int:
    try:
        model = TopicModel.load(args.model)
    except ModelFormatError as exc:
        return _fail(f"cannot load model: {exc}")
    try:
        examples = read_labelled_jsonl(args.data)
    except TrainingDataError as exc:
        return _fail(f"cannot evaluate: {exc}")
    report = evaluate_model(model, examples)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsbeam")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
