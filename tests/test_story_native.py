"""The story core's C kernels (transforms/story/_native.c) against their Python twins
(kernels.PythonKernels): the same terms, vectors, centroids, candidates and labels,
float for float and in the same order, so a stream may restart on a machine without
the C module and batch and stream keep giving the same stories."""

from __future__ import annotations

import math
import os
import random
import shutil
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import story_fixtures
from test_story_bulk_weights import CONFIGS, _stream

from newsbeam.transforms.story import features, kernels
from newsbeam.transforms.story.batch_core import StoryCounts
from newsbeam.transforms.story.clusterer import Story, StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.features import term_weights
from newsbeam.transforms.story.order import order_key

NATIVE = kernels.NATIVE
PYTHON = kernels.PYTHON
needs_native = pytest.mark.skipif(NATIVE is None, reason="the C kernels are not built here")
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_the_c_kernels_are_built_where_a_compiler_is():
    # setup.py builds them with `optional=True`: a broken build would pass silently,
    # and the stage would run at Python's speed.
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    has_compiler = shutil.which(compiler) is not None
    if not has_compiler:
        pytest.skip("no C compiler on this machine: the Python kernels run")
    assert NATIVE is not None
    if os.environ.get("NEWSBEAM_STORY_KERNELS") != "python":
        assert kernels.ACTIVE is NATIVE


def _texts() -> list[tuple[str, str | None]]:
    """Real-looking articles in many scripts, and the odd inputs a feed sends."""
    texts = [(article.text or "", article.title) for article in story_fixtures.week_of_news()]
    for name in dir(story_fixtures):
        value = getattr(story_fixtures, name)
        if name.isupper() and isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            texts.append((value[-1], value[0]))
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from bench_pipeline import corpus_rows
    finally:
        sys.path.remove(str(BENCHMARKS))
    texts += [(row["text"], row.get("title")) for row in corpus_rows("bench", 300)]
    texts += [
        ("", None),
        ("   \n\t ", ""),
        ("a b c de fg", "Xy"),
        ("Der Bürgermeister von Münster, Herr Müller, sagte 2024: STRASSE straße ß.", "Ärger"),
        ("２０２４年１月１日、石川県能登地方でマグニチュード７．６の地震。", "能登半島地震"),
        ("٢٠٢٤ زلزال بقوة ٧ درجات يضرب المغرب والرباط", None),
        ("Ünïcödé\u00a0spaces\u2003and\u3000ideographic spaces, ﬁnance ﬂows", "Ｆｕｌｌ"),
        ("lone surrogate \ud800 inside", "and \udfff"),
        ("The The The the THE Thé thé 1 1 11 11 11 111", "The 11"),
    ]
    return texts


@needs_native
def test_features_are_the_same_with_both_kernels(monkeypatch):
    config = StoryConfig()
    texts = _texts()
    monkeypatch.setattr(kernels, "ACTIVE", NATIVE)
    with_c = [term_weights(text, title, config) for text, title in texts]
    monkeypatch.setattr(kernels, "ACTIVE", PYTHON)
    with_python = [term_weights(text, title, config) for text, title in texts]
    for c_terms, python_terms in zip(with_c, with_python, strict=True):
        assert list(c_terms.items()) == list(python_terms.items())  # order and floats
    assert sum(map(len, with_c)) > 20_000


# Characters where the three patterns of features.py disagree most easily: letters of
# many scripts, combining and spacing marks (Devanagari, Thai, Arabic), titlecase and
# uppercase that is not a letter (Roman numerals, circled letters), digits of other
# scripts, every sentence break of `_NAME`, spaces and joiners, and characters past
# the C table (Chinese, kana, emoji, surrogates) that send a text to the patterns.
_TRICKY = (
    list("aAzZ éÉüÜßſ.!?:;\n\"“”«»—–|•-,()'’ 0123456789٠١٢३४")
    + ["\u0300", "\u0301", "\u0903", "\u093f", "\u0915", "\u0627", "\u0644", "\u05d0"]
    + ["\u0391", "\u03b1", "\u0416", "\u0436", "\u01c5", "\u01c8", "\u2160", "\u24b6"]
    + ["\u00a0", "\u2009", "\u200d", "\u0e01", "\u0e31", "\u1f00", "\u10a0", "\u2c00"]
    + ["\u2e80", "\u2fff", "\u3000", "\u6771", "\u3042", "\u30fc", "\U0001f600", "\ud800"]
)


@needs_native
def test_one_scan_finds_what_the_three_patterns_find():
    # The C kernels find words, numbers and names in one pass (`scan_part`); the
    # reference is the patterns (`_words`, `_NUMBER`, `_NAME`), which the Python
    # kernels run. Below U+3000 the scan must find exactly what they find; past it,
    # it leaves the text to them.
    rng = random.Random(17)
    texts = [text for pair in _texts() for text in pair if text]
    below = [character for character in _TRICKY if ord(character) < 0x3000]
    for pool in (below, _TRICKY):
        texts += ["".join(rng.choices(pool, k=rng.randint(0, 40))) for _ in range(10_000)]
    texts += ["".join(chr(rng.randrange(0x3000)) for _ in range(40)) for _ in range(2_000)]
    scanned = 0
    for text in texts:
        found = NATIVE.scan_part(text, features._CHARACTER_CLASSES)
        if any(ord(character) >= 0x3000 for character in text):
            assert found is None, text
            continue
        expected = (features._words(text), features._NUMBER.findall(text))
        assert found == (*expected, features._NAME.findall(text)), text
        scanned += 1
    assert scanned > 12_000


def _run(articles, config: StoryConfig, *, packed: bool = False) -> tuple[list, dict]:
    """Every assignment of the one-by-one core and its whole state at the end;
    `packed`: each article's terms as the batch driver loads them (kernels.Terms)."""
    index = StoryIndex(config)
    ordered = sorted(
        (order_key(article_id, time), place)
        for place, (article_id, time, _, _) in enumerate(articles)
    )
    assignments = []
    for _, place in ordered:
        article_id, time, terms, representative = articles[place]
        if packed:
            terms = (list(terms), np.fromiter(terms.values(), np.float64, len(terms)))
        assignments.append(index.assign(article_id, time, terms, representative))
    state = {
        "stories": [
            (s.id, list(s.centroid.items()), s.norm, s.size, s.last_time, s.members)
            for s in index.stories.values()
        ],
        "postings": [(term, sorted(ids)) for term, ids in index.postings.items()],
        "frequencies": (index.frequencies.documents, list(index.frequencies.counts.items())),
        "expired": (index.expired, index.evicted),
    }
    return assignments, state


@needs_native
@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_core_gives_the_same_labels_and_state_with_both_kernels(monkeypatch, name, seed):
    # Few distinct weights (ties everywhere), replays, duplicates, undated articles,
    # expiries, vocabulary prunes and the cap on open stories (CONFIGS).
    articles = _stream(seed, 700)
    monkeypatch.setattr(kernels, "ACTIVE", NATIVE)
    with_c = _run(articles, CONFIGS[name])
    assert _run(articles, CONFIGS[name], packed=True) == with_c
    monkeypatch.setattr(kernels, "ACTIVE", PYTHON)
    assert _run(articles, CONFIGS[name]) == with_c
    assert _run(articles, CONFIGS[name], packed=True) == with_c
    counts = StoryCounts()
    for assignment in with_c[0]:
        counts.count(assignment)
    assert counts.joined > 50 and counts.founded > 20


@needs_native
def test_the_core_gives_the_same_labels_on_generated_news(monkeypatch):
    # Articles of one vocabulary: every story is a candidate, the ranking path runs.
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from bench_pipeline import corpus_rows
    finally:
        sys.path.remove(str(BENCHMARKS))
    config = StoryConfig()
    articles = [
        (row["id"], float(index * 600), term_weights(row["text"], row.get("title"), config), None)
        for index, row in enumerate(corpus_rows("duplicates", 1500))
    ]
    monkeypatch.setattr(kernels, "ACTIVE", NATIVE)
    with_c = _run(articles, config)
    monkeypatch.setattr(kernels, "ACTIVE", PYTHON)
    assert _run(articles, config) == with_c


@needs_native
def test_fsum_is_math_fsum_bit_for_bit():
    # The cosine's dot product is summed exactly in C (Shewchuk's partials, rounded
    # half-even as CPython does): hard cases for the final rounding, then random ones.
    rng = random.Random(7)
    hard = [
        [1e-16, 1.0, 1e16],
        [1.0, 1e100, 1.0, -1e100],
        [0.1] * 10,
        [1e308, 1e308, -1e308],  # an infinite partial: math.fsum itself decides
        [2.0**53, 1.0, -(2.0**-53)],
        [],
    ]
    cases = hard + [
        [rng.uniform(0, 1) * 10 ** rng.randint(-20, 20) for _ in range(rng.randint(1, 60))]
        for _ in range(3000)
    ]
    for values in cases:
        centroid = {f"t{i}": 1.0 for i in range(len(values))}
        vector = {f"t{i}": value for i, value in enumerate(values)}
        story = Story("s", centroid, 1, 0.0, norm=1.0)
        try:
            expected = math.fsum(values)
        except OverflowError:
            with pytest.raises(OverflowError):
                NATIVE.most_similar(vector, {"s"}, {"s": story})
            continue
        best, similarity = NATIVE.most_similar(vector, {"s"}, {"s": story})
        assert similarity == expected or (similarity <= 0 and best is None)


@needs_native
def test_ties_are_broken_alike():
    vector = {"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}
    for implementation in (NATIVE, PYTHON):
        # Equal weights keep the order of the terms; equal shares go to the smaller id.
        assert list(implementation.weigh(vector, {}, 10, 2)) == ["a", "b"]
        postings = {"a": {"s3", "s1"}, "b": {"s2", "s4"}, "c": {"s5"}}
        assert implementation.candidates(vector, postings, 4, 2) == {"s1", "s2"}
        heavier_b = {**vector, "b": 0.7}
        assert implementation.candidates(heavier_b, postings, 4, 2) == {"s2", "s4"}
        assert implementation.candidates(heavier_b, postings, 1, 2) == {"s1", "s3"}
        stories = {name: Story(name, {"a": 1.0}, 1, 0.0, norm=1.0) for name in ("s9", "s2", "s5")}
        best, _ = implementation.most_similar(vector, ["s9", "s5", "s2"], stories)
        assert best.id == "s2"
        merged = implementation.merged_centroid({"x": 1.0, "y": 0.5}, {"z": 0.5, "y": 0.5}, 2)
        assert list(merged.items()) == [("x", 1.0), ("y", 1.0)]
        merged = implementation.merged_centroid({"x": 1.0, "y": 0.25}, {"z": 0.5, "w": 0.5}, 2)
        assert list(merged.items()) == [("x", 1.0), ("z", 0.5)]


@needs_native
def test_c_kernels_reject_what_they_cannot_weigh():
    with pytest.raises(TypeError):
        NATIVE.weigh({"a": "heavy"}, {}, 1, 10)
    for implementation in (NATIVE, PYTHON):
        for terms in (
            (["a"], np.array([1.0, 2.0])),  # more weights than terms
            (["a"], np.array([1], dtype=np.int64)),  # not float64
            (["a"], b"8 bytes!"),
            ("a", np.array([1.0])),
            ["a", 1.0],
        ):
            with pytest.raises(TypeError):
                implementation.count_and_weigh(terms, {}, 1, 10, 100)
    with pytest.raises(TypeError):
        NATIVE.boosted_counts([(["a"], "not a list", set(), 1.0)], 2.0, 2.5)
