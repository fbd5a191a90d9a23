"""Paths and small helpers shared by the classify tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsbeam.transforms.classify.default_model import ag_news_path, shared_dir, wikinews_path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
TRAIN_FILE = DATA / "classify_train.jsonl"
EVAL_FILE = DATA / "classify_eval.jsonl"
AG_NEWS = ag_news_path(REPO)
WIKINEWS = wikinews_path(REPO)
GOLD = shared_dir(REPO) / "seeds" / "gold.json"

needs_ag_news = pytest.mark.skipif(not AG_NEWS.is_file(), reason=f"{AG_NEWS} not present")
needs_wikinews = pytest.mark.skipif(not WIKINEWS.is_file(), reason=f"{WIKINEWS} not present")
needs_seeds = pytest.mark.skipif(not GOLD.is_file(), reason=f"{GOLD} not present")


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
