"""Acceptance on the project's sample articles (skipped when ../shared is absent)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from newsbeam.transforms.clean.rules import load_rules
from newsbeam.transforms.clean.text_cleaner import TextCleaner
from newsbeam.transforms.clean.text_normalizer import normalize_line


def _shared_dir() -> Path:
    override = os.environ.get("NEWSBEAM_SHARED")
    if override:
        return Path(override)
    # The repository sits at <parent>/<repo>/tests/this_file; shared/ is beside it.
    return Path(__file__).resolve().parents[2] / "shared"


SEEDS = _shared_dir() / "seeds"
pytestmark = pytest.mark.skipif(
    not (SEEDS / "gold.json").is_file(), reason=f"sample articles not found at {SEEDS}"
)


def _gold() -> dict:
    return json.loads((SEEDS / "gold.json").read_text(encoding="utf-8"))


def _cases() -> list[str]:
    return sorted(_gold()) if (SEEDS / "gold.json").is_file() else []


@pytest.fixture(scope="module")
def cleaner() -> TextCleaner:
    return TextCleaner(load_rules())


@pytest.mark.parametrize("name", _cases())
def test_keeps_every_gold_line_and_no_boilerplate(cleaner: TextCleaner, name: str) -> None:
    gold = _gold()[name]
    raw = (SEEDS / name).read_text(encoding="utf-8")
    lines = raw.split("\n")
    result = cleaner.clean(raw)
    kept = {normalize_line(p) for p in result.text.split("\n\n")}

    lost = [n for n in gold["body"] if normalize_line(lines[n - 1]) not in kept]
    leaked = [int(n) for n in gold["boilerplate"] if normalize_line(lines[int(n) - 1]) in kept]
    assert lost == [], f"gold body lines removed: {lost}"
    assert leaked == [], f"boilerplate lines kept: {leaked}"
    # Nothing but the gold body: the kept paragraphs are exactly the body lines, in order.
    assert result.text.split("\n\n") == [normalize_line(lines[n - 1]) for n in gold["body"]]
    assert sum(result.removed.values()) == len([d for d in result.decisions if not d.kept])


@pytest.mark.parametrize("name", _cases())
def test_title_and_byline(cleaner: TextCleaner, name: str) -> None:
    gold = _gold()[name]
    result = cleaner.clean((SEEDS / name).read_text(encoding="utf-8"))
    assert result.title == gold.get("title_text")
    if gold.get("byline_text"):
        byline = gold["byline_text"]
        assert result.authors and all(a in byline for a in result.authors)
    else:
        assert result.authors == []
