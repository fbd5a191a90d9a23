"""Rebuild the topic models shipped in the package, byte for byte.

    python scripts/train_default_model.py [--model NAME]            # writes the shipped file
    python scripts/train_default_model.py [--model NAME] --check    # retrains, compares
    python scripts/train_default_model.py [--model NAME] --holdout  # 80% / 20% figures

NAME: iptc-wikinews (the default model; data shared/data/wikinews_topics.jsonl)
or ag-news-en (shared/data/ag_news_train.jsonl), both beside the repository
(or under $NEWSBEAM_SHARED). Same data + same seed + same library versions
give the same file (the SVM solver and BLAS sums are deterministic on one
platform).
"""

from __future__ import annotations

import argparse
import filecmp
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

from newsbeam.transforms.classify.default_model import (
    AG_NEWS_LICENCE,
    DEFAULT_TRAINING_CONFIG,
    WIKINEWS_CELL_CAP,
    WIKINEWS_LABEL_BALANCE,
    WIKINEWS_LANGUAGES,
    WIKINEWS_LICENCE,
    WIKINEWS_TRAINING_CONFIG,
    ag_news_path,
    file_sha256,
    holdout_mask,
    load_ag_news,
    load_wikinews,
    wikinews_holdout_mask,
    wikinews_path,
    wikinews_training_examples,
    wikinews_training_weights,
)
from newsbeam.transforms.classify.evaluation import evaluate_model
from newsbeam.transforms.classify.model import BUILTIN_MODELS, DEFAULT_MODEL, TopicModel
from newsbeam.transforms.classify.training import LabelledExample, train_topic_model

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "transforms" / "classify"


def shipped(name: str) -> Path:
    return PACKAGE / BUILTIN_MODELS[name]


def data_path(name: str) -> Path:
    return wikinews_path(REPO) if name == "iptc-wikinews" else ag_news_path(REPO)


def build_model(name: str, data: Path) -> TopicModel:
    """The shipped model `name`, trained from `data` by its recipe."""
    if name == "iptc-wikinews":
        prepared = load_wikinews(data)
        return train_topic_model(
            wikinews_training_examples(prepared.items),
            WIKINEWS_TRAINING_CONFIG,
            provenance={
                "data": data.name,
                "data_sha256": file_sha256(data),
                "labels_from": "Wikinews categories mapped to IPTC Media Topics (MewsC-16)",
                "cleaning": {
                    "dropped": dict(sorted(prepared.dropped.items())),
                    "weighted_cap_per_language_label": WIKINEWS_CELL_CAP,
                    "label_balance": WIKINEWS_LABEL_BALANCE,
                },
                "licence": WIKINEWS_LICENCE,
            },
            languages=WIKINEWS_LANGUAGES,
            sample_weights=wikinews_training_weights(prepared.items),
        )
    return train_topic_model(
        load_ag_news(data),
        DEFAULT_TRAINING_CONFIG,
        provenance={
            "data": data.name,
            "data_sha256": file_sha256(data),
            "labels_from": "AG News classes renamed to IPTC Media Topics",
            "licence": AG_NEWS_LICENCE,
        },
        languages=("en",),
    )


def holdout_split(
    name: str, data: Path
) -> tuple[list[LabelledExample], np.ndarray | None, list[LabelledExample]]:
    """The recipe's training part (examples and weights) and held-out part of the data."""
    if name == "iptc-wikinews":
        items = load_wikinews(data).items
        held = wikinews_holdout_mask(items)
        train_items = [i for i, h in zip(items, held, strict=True) if not h]
        train = wikinews_training_examples(train_items)
        weights = wikinews_training_weights(train_items)
        return train, weights, [i.example() for i, h in zip(items, held, strict=True) if h]
    examples = load_ag_news(data)
    held = holdout_mask(examples)
    train = [e for e, h in zip(examples, held, strict=True) if not h]
    return train, None, [e for e, h in zip(examples, held, strict=True) if h]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(BUILTIN_MODELS), default=DEFAULT_MODEL)
    parser.add_argument("--data", type=Path, help="training data (default: the recipe's)")
    parser.add_argument("--out", type=Path, help="model file (default: the shipped one)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="retrain and compare with --out")
    mode.add_argument("--holdout", action="store_true", help="report held-out figures")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = args.data or data_path(args.model)
    out = args.out or shipped(args.model)
    if not data.is_file():
        print(f"error: training data not found: {data}", file=sys.stderr)
        return 2
    if args.holdout:
        train, weights, test = holdout_split(args.model, data)
        config = WIKINEWS_TRAINING_CONFIG if args.model == "iptc-wikinews" else None
        model = train_topic_model(train, config or DEFAULT_TRAINING_CONFIG, sample_weights=weights)
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / "model.npz")  # score the stored (float16) weights
            model = TopicModel.load(Path(tmp) / "model.npz")
        print(f"trained on {len(train)}, held out {len(test)}")
        print(evaluate_model(model, test).format_text())
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            rebuilt = Path(tmp) / "model.npz"
            build_model(args.model, data).save(rebuilt)
            same = filecmp.cmp(rebuilt, out, shallow=False)
            print(f"{'identical' if same else 'DIFFERENT'}: {file_sha256(rebuilt)} vs {out}")
            return 0 if same else 1
    build_model(args.model, data).save(out)
    print(f"wrote {out} ({out.stat().st_size} bytes, sha256 {file_sha256(out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
