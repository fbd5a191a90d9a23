"""Quality gates: pairs that must be labelled duplicates and pairs that must not."""

from __future__ import annotations

import difflib
import itertools

import pytest
from dedup_fixtures import (
    BASE_ARTICLES,
    MUST_CONTAIN_EDITS,
    MUST_MATCH_EDITS,
    character_noise,
    must_not_match_pairs,
    read,
    roundup_pair,
    seed_gold_texts,
    shortened,
    statement_pair,
)

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.labels import CONTAINED
from newsbeam.transforms.dedup.similarity import (
    is_contained,
    label_from_overlap,
    overlap,
    similarity,
    verified_similarity,
    verify,
)
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


def _shares_a_candidate_key(sa, sb) -> bool:
    """What batch and stream need to compare a pair: one band or opening key, or two anchors."""
    shared = set(sa.bands) & set(sb.bands)
    anchors = [k for k in shared if k[:1] == b"a" and len(k) == 9]
    return len(shared) > len(anchors) or len(anchors) >= CONFIG.min_shared_anchors


@pytest.mark.parametrize("article", BASE_ARTICLES)
@pytest.mark.parametrize("edit", sorted(MUST_CONTAIN_EDITS))
def test_shortened_versions_are_contained(article: str, edit: str) -> None:
    original, copy = MUST_CONTAIN_EDITS[edit](read(article))
    so, sc = _sketches(original, copy)
    value = verify(sc, so, CONFIG)
    assert value is not None, overlap(sc, so)
    # Jaccard alone would not have found them: this is the containment relation.
    assert value.jaccard < CONFIG.threshold
    label = label_from_overlap("orig", overlap(sc, so), CONFIG)
    assert label["status"] == CONTAINED and label["containment"] >= 0.6
    assert _shares_a_candidate_key(sc, so)
    # The original measured against a shorter representative is the longer version: near.
    assert label_from_overlap("copy", overlap(so, sc), CONFIG)["status"] == "near"


@pytest.mark.parametrize("edit", sorted(MUST_MATCH_EDITS))
def test_edited_copies_share_a_candidate_key(edit: str) -> None:
    a, b = MUST_MATCH_EDITS[edit](read("flood_barrier"))
    sa, sb = _sketches(a, b)
    assert sa.content_hash == sb.content_hash or _shares_a_candidate_key(sa, sb)


def test_character_noise_is_light_and_breaks_whole_word_shingles() -> None:
    """The noisy fixture changes ~1 % of characters; robust tokens keep the
    containment of a shortened noisy copy far above what whole words give."""
    text = read("flood_barrier")
    noisy = character_noise(text)
    assert noisy != text and difflib.SequenceMatcher(None, text, noisy).ratio() > 0.97
    whole_words = DedupConfig(token_prefix=0)
    original = shortened(text, 3)
    copy = character_noise(original)
    robust = overlap(*_sketches(copy, original)).containment
    words = overlap(
        build_sketch("a", copy, None, whole_words), build_sketch("b", original, None, whole_words)
    ).containment
    assert robust >= 0.8 and robust - words >= 0.05, (robust, words)


def test_statement_and_roundup_pairs_are_kept_apart_by_the_right_check() -> None:
    """Not toothless: the statement pair passes the containment threshold and is
    stopped by the opening check; the round-up pair holds the brief word for word
    and is stopped by the length ratio."""
    report, brief = statement_pair()
    sr, sb = _sketches(report, brief)
    value = overlap(sb, sr)
    assert value.containment >= CONFIG.containment_threshold and is_contained(value, CONFIG)
    assert verify(sb, sr, CONFIG) is None
    roundup, parking = roundup_pair()
    sr, sp = _sketches(roundup, parking)
    value = overlap(sp, sr)
    assert value.containment >= 0.9 and not is_contained(value, CONFIG)
    assert verify(sp, sr, CONFIG) is None
