"""Rebuild the default topic model shipped in the package, byte for byte.

    python scripts/train_default_model.py            # writes the shipped model file
    python scripts/train_default_model.py --check    # retrains and compares with the shipped file
    python scripts/train_default_model.py --holdout  # trains on 80%, reports on the held-out 20%

Data: shared/data/ag_news_train.jsonl beside the repository (or under
$NEWSBEAM_SHARED). Same data + same seed + same library versions give the
same file (the SVM solver and BLAS sums are deterministic on one platform).
"""

from __future__ import annotations

import argparse
import filecmp
import logging
import sys
import tempfile
from pathlib import Path

from newsbeam.transforms.classify.default_model import (
    DEFAULT_TRAINING_CONFIG,
    LICENCE_NOTE,
    ag_news_path,
    file_sha256,
    holdout_mask,
    load_ag_news,
)
from newsbeam.transforms.classify.evaluation import evaluate_model
from newsbeam.transforms.classify.model import DEFAULT_MODEL_RESOURCE, TopicModel
from newsbeam.transforms.classify.training import train_topic_model

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "transforms" / "classify" / DEFAULT_MODEL_RESOURCE


def build(data: Path, out: Path) -> None:
    examples = load_ag_news(data)
    model = train_topic_model(
        examples,
        DEFAULT_TRAINING_CONFIG,
        provenance={
            "data": data.name,
            "data_sha256": file_sha256(data),
            "labels_from": "AG News classes renamed to IPTC Media Topics",
            "licence": LICENCE_NOTE,
        },
    )
    model.save(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ag_news_path(REPO))
    parser.add_argument("--out", type=Path, default=SHIPPED)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="retrain and compare with --out")
    mode.add_argument("--holdout", action="store_true", help="report held-out figures")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.data.is_file():
        print(f"error: training data not found: {args.data}", file=sys.stderr)
        return 2
    if args.holdout:
        examples = load_ag_news(args.data)
        held = holdout_mask(examples)
        train = [e for e, h in zip(examples, held, strict=True) if not h]
        test = [e for e, h in zip(examples, held, strict=True) if h]
        model = train_topic_model(train, DEFAULT_TRAINING_CONFIG)
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / "model.npz")  # score the stored (float16) weights
            model = TopicModel.load(Path(tmp) / "model.npz")
        print(f"trained on {len(train)}, held out {len(test)}")
        print(evaluate_model(model, test).format_text())
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            rebuilt = Path(tmp) / "model.npz"
            build(args.data, rebuilt)
            same = filecmp.cmp(rebuilt, args.out, shallow=False)
            print(f"{'identical' if same else 'DIFFERENT'}: {file_sha256(rebuilt)} vs {args.out}")
            return 0 if same else 1
    build(args.data, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {file_sha256(args.out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
