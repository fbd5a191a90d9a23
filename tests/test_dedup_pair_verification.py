"""verify_pairs (the batch dedup's verification of all candidate pairs at once)
gives, pair for pair, what similarity.verify gives: the same tests of sizes,
openings and overlap, on real-looking copies, rewrites and same-event reports."""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from dedup_fixtures import (
    BASE_ARTICLES,
    MUST_CONTAIN_EDITS,
    MUST_MATCH_EDITS,
    must_not_match_pairs,
    read,
)

from newsbeam.transforms.dedup import pair_verification
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.pair_verification import verify_pairs
from newsbeam.transforms.dedup.similarity import verify
from newsbeam.transforms.dedup.sketch import ArticleSketch, build_sketch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

CONFIG = DedupConfig()


def _fixture_texts() -> list[str]:
    texts = [read(name) for name in BASE_ARTICLES]
    for edit in (*MUST_MATCH_EDITS.values(), *MUST_CONTAIN_EDITS.values()):
        texts += edit(read("flood_barrier"))
    for first, second in must_not_match_pairs().values():
        texts += [first, second]
    # Too short for near matching, one word, nothing: the eligibility checks.
    texts += ["Council approves barrier.", "Barrier", ""]
    return texts


def _sketches(texts: list[str]) -> list[ArticleSketch]:
    return [build_sketch(f"a{n}", text, None, CONFIG) for n, text in enumerate(texts)]


def _verified(pairs: list[tuple[int, int]], load) -> list[bool]:
    firsts = np.array([a for a, _ in pairs], np.int64)
    seconds = np.array([b for _, b in pairs], np.int64)
    return verify_pairs(firsts, seconds, load, CONFIG).tolist()


def _expected(sketches: list[ArticleSketch], pairs: list[tuple[int, int]]) -> list[bool]:
    return [verify(sketches[a], sketches[b], CONFIG) is not None for a, b in pairs]


def test_every_pair_of_copies_rewrites_and_short_texts_as_verify_answers() -> None:
    sketches = _sketches(_fixture_texts())
    pairs = list(itertools.permutations(range(len(sketches)), 2))
    expected = _expected(sketches, pairs)
    # Both answers occur, each way round, or the comparison says little.
    assert 100 < sum(expected) < len(pairs) - 100
    assert _verified(pairs, sketches.__getitem__) == expected


@pytest.mark.parametrize("chunk_values", [1, 700, 1 << 21])
def test_same_answers_whatever_the_chunk_of_sets_searched_at_once(
    monkeypatch: pytest.MonkeyPatch, chunk_values: int
) -> None:
    monkeypatch.setattr(pair_verification, "CHUNK_VALUES", chunk_values)
    sketches = _sketches(_fixture_texts())
    rng = random.Random(5)
    pairs = [tuple(rng.sample(range(len(sketches)), 2)) for _ in range(1500)]
    assert _verified(pairs, sketches.__getitem__) == _expected(sketches, pairs)


def test_same_event_reports_and_planted_copies_of_the_generated_corpus() -> None:
    # The generator's copies (exact, near, shortened) among same-event reports that
    # share their openings' phrases: many pairs reach the full overlap.
    from synthetic_news import NewsGenerator

    articles = NewsGenerator(7).generate(400)
    sketches = [build_sketch(a.id, a.text, a.published_at, CONFIG) for a in articles]
    rng = random.Random(11)
    pairs = list(itertools.combinations(range(len(sketches)), 2))
    pairs = rng.sample(pairs, 20_000)
    expected = _expected(sketches, pairs)
    assert sum(expected) > 20
    assert _verified(pairs, sketches.__getitem__) == expected


def test_an_empty_lead_or_set_shares_nothing() -> None:
    whole = build_sketch("whole", read("flood_barrier"), None, CONFIG)
    no_lead = ArticleSketch(
        "no-lead", "h1", whole.order, whole.words, whole.shingles, b"", (), True
    )
    no_set = ArticleSketch("no-set", "h2", whole.order, whole.words, b"", whole.lead, (), True)
    sketches = [whole, no_lead, no_set]
    pairs = list(itertools.permutations(range(3), 2))
    assert _verified(pairs, sketches.__getitem__) == _expected(sketches, pairs)


def test_sketches_are_read_front_to_back_before_the_overlaps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The batch driver loads sketches from spill files: two forward sweeps (facts
    # and leads, then sets), not a random read per pair; only the pairs that reach
    # the full overlap load theirs again.
    sketches = _sketches(_fixture_texts())
    rng = random.Random(3)
    pairs = [tuple(rng.sample(range(len(sketches)), 2)) for _ in range(300)]
    events: list[int | str] = []
    measured = pair_verification.verify_measured

    def counted(*args):
        events.append("overlap")
        return measured(*args)

    def load(number: int) -> ArticleSketch:
        events.append(number)
        return sketches[number]

    monkeypatch.setattr(pair_verification, "verify_measured", counted)
    _verified(pairs, load)
    involved = sorted({n for pair in pairs for n in pair})
    assert events[: len(involved)] == involved
    overlaps = events.count("overlap")
    assert 0 < overlaps < len(pairs)
    # Before the first overlap: the two sweeps and that pair's loads, so at most two
    # steps back (to the second sweep's start, to the pair's first article).
    before = events[: events.index("overlap")]
    assert sum(b < a for a, b in itertools.pairwise(before)) <= 2
    assert len(before) > len(involved) + 10
    # After: at most the two sketches of each pair measured.
    assert len(events) - len(before) <= 3 * overlaps


def test_no_pairs() -> None:
    assert _verified([], lambda number: pytest.fail("nothing to load")) == []
