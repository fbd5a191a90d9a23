"""Quality gates: pairs that must be labelled duplicates and pairs that must not."""

from __future__ import annotations

import itertools

import pytest
from dedup_fixtures import (
    BASE_ARTICLES,
    MUST_MATCH_EDITS,
    must_not_match_pairs,
    read,
    seed_gold_texts,
)

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.similarity import similarity, verified_similarity
from newsbeam.transforms.dedup.sketch import build_sketch

CONFIG = DedupConfig()


def _sketches(a: str, b: str):
    return build_sketch("a", a, None, CONFIG), build_sketch("b", b, None, CONFIG)


def _is_duplicate(a: str, b: str) -> bool:
    sa, sb = _sketches(a, b)
    return sa.content_hash == sb.content_hash or verified_similarity(sa, sb, CONFIG) is not None


@pytest.mark.parametrize("article", BASE_ARTICLES)
@pytest.mark.parametrize("edit", sorted(MUST_MATCH_EDITS))
def test_edited_copies_are_duplicates(article: str, edit: str) -> None:
    a, b = MUST_MATCH_EDITS[edit](read(article))
    assert a != b
    sa, sb = _sketches(a, b)
    if sa.content_hash == sb.content_hash:
        return  # exact after normalisation (e.g. whitespace and Unicode changes)
    assert verified_similarity(sa, sb, CONFIG) is not None, similarity(sa, sb)
    # LSH must also propose the pair: at least one band in common.
    assert set(sa.bands) & set(sb.bands)


def test_whitespace_and_unicode_changes_are_exact_duplicates() -> None:
    a, b = MUST_MATCH_EDITS["whitespace and unicode"](read("flood_barrier"))
    sa, sb = _sketches(a, b)
    assert sa.content_hash == sb.content_hash


@pytest.mark.parametrize("case", sorted(must_not_match_pairs()))
def test_distinct_articles_are_not_duplicates(case: str) -> None:
    a, b = must_not_match_pairs()[case]
    assert not _is_duplicate(a, b)


def test_shared_footer_pair_is_rejected_by_the_opening_check_not_by_luck() -> None:
    """The footer pair passes the Jaccard threshold on its own: the test would
    be toothless if the two releases were simply too different."""
    a, b = must_not_match_pairs()["short releases sharing a long footer"]
    sa, sb = _sketches(a, b)
    assert similarity(sa, sb) >= CONFIG.threshold
    assert verified_similarity(sa, sb, CONFIG) is None


def test_seed_articles_about_one_event_are_pairwise_distinct() -> None:
    texts = seed_gold_texts()
    if texts is None:
        pytest.skip("../shared/seeds not present")
    assert len(texts) == 5
    for (name_a, a), (name_b, b) in itertools.combinations(sorted(texts.items()), 2):
        assert not _is_duplicate(a, b), (name_a, name_b)
