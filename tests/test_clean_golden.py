"""TextCleaner's output is exactly the recorded one (tests/fixtures/clean/golden.json).

Guards refactorings of the cleaner (speed work above all): any change of text,
removed counts, title, authors or a single line decision on ~900 documents
fails here. When a change of output is intended, regenerate the file with
`.venv/bin/python tests/clean_golden.py --write` and say why in the commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from clean_golden import (
    GOLDEN_PATH,
    SEEDS,
    GoldenDoc,
    corpus_docs,
    digest,
    fixture_docs,
    html_docs,
    mutant_docs,
    result_json,
    seed_docs,
)

from newsbeam.transforms.clean.rules import load_rules
from newsbeam.transforms.clean.text_cleaner import TextCleaner


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cleaner() -> TextCleaner:
    return TextCleaner(load_rules())


def _mismatches(cleaner: TextCleaner, golden: dict, docs: Iterator[GoldenDoc]) -> list[str]:
    wrong = []
    seen = 0
    for doc in docs:
        seen += 1
        assert doc.key in golden["digests"], f"{doc.key} is not in the golden file"
        if doc.input_digest is not None and doc.input_digest != golden["html_input_digests"].get(
            doc.key
        ):
            pytest.skip(
                f"{doc.key}: the HTML extractor's text changed (not the cleaner's doing); "
                "regenerate the golden file"
            )
        if (
            digest(result_json(cleaner.clean(doc.text, title=doc.title)))
            != golden["digests"][doc.key]
        ):
            wrong.append(doc.key)
    assert seen > 0
    return wrong


@pytest.mark.parametrize(
    "docs",
    [fixture_docs, html_docs, corpus_docs, mutant_docs],
    ids=["text-fixtures", "html-fixtures", "corpus", "mutants"],
)
def test_output_unchanged(
    cleaner: TextCleaner, golden: dict, docs: Callable[[], Iterator[GoldenDoc]]
) -> None:
    assert _mismatches(cleaner, golden, docs()) == []


@pytest.mark.skipif(not (SEEDS / "gold.json").is_file(), reason=f"no sample articles at {SEEDS}")
def test_output_unchanged_on_sample_articles(cleaner: TextCleaner, golden: dict) -> None:
    assert _mismatches(cleaner, golden, seed_docs()) == []


def test_full_examples_unchanged(cleaner: TextCleaner, golden: dict) -> None:
    """A few results compared in full: on failure the diff shows what moved."""
    docs = {doc.key: doc for gen in (fixture_docs, corpus_docs, mutant_docs) for doc in gen()}
    assert golden["full"], "the golden file stores no full example"
    for key, expected in golden["full"].items():
        doc = docs[key]
        assert json.loads(result_json(cleaner.clean(doc.text, title=doc.title))) == expected, key


def test_golden_covers_every_document(golden: dict) -> None:
    keys = {doc.key for gen in (fixture_docs, corpus_docs, mutant_docs) for doc in gen()}
    stored = {key for key in golden["digests"] if key.split("/")[0] in {"text", "corpus", "mutant"}}
    assert keys == stored


def test_without_decisions_the_rest_is_the_same(cleaner: TextCleaner) -> None:
    """`decisions=False` (the Beam stage) only leaves the line decisions out."""
    for doc in list(fixture_docs()) + list(mutant_docs())[::4]:
        full = cleaner.clean(doc.text, title=doc.title)
        lean = cleaner.clean(doc.text, title=doc.title, decisions=False)
        assert lean.decisions == ()
        assert (lean.text, lean.removed, lean.title, lean.authors) == (
            full.text,
            full.removed,
            full.title,
            full.authors,
        ), doc.key
