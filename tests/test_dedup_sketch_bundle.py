"""Bundled sketches (issue #21): `build_sketches` gives, for every article, exactly
the sketch main's `build_sketch` gave (golden digests, fixtures/dedup/sketch_golden.json),
whatever the bundle; one failing article fails only itself."""

from __future__ import annotations

import json
import random

import pytest
import rensa
from sketch_cases import CONFIGS, GOLDEN, cases, digest

from newsbeam.transforms.dedup import fingerprint
from newsbeam.transforms.dedup import sketch as sketch_module
from newsbeam.transforms.dedup.fingerprint import ocr_folded, robust_tokens
from newsbeam.transforms.dedup.sketch import (
    ArticleSketch,
    build_sketch,
    build_sketches,
    build_sketches_or_errors,
)
from newsbeam.transforms.dedup.token_hash import matches_rensa, token_hashes

CASES = cases()
GOLDEN_DIGESTS = json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_the_golden_digests_cover_every_case_and_configuration():
    assert set(GOLDEN_DIGESTS) == set(CONFIGS)
    for digests in GOLDEN_DIGESTS.values():
        assert set(digests) == set(CASES)


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_one_article_at_a_time_gives_mains_sketches(config_name):
    config, golden = CONFIGS[config_name], GOLDEN_DIGESTS[config_name]
    wrong = [
        name for name, case in CASES.items() if digest(build_sketch(*case, config)) != golden[name]
    ]
    assert wrong == []


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
@pytest.mark.parametrize("bundle", [2, 3, 7, 16, 64, 1000])
def test_bundles_of_any_size_and_order_give_mains_sketches(config_name, bundle):
    config, golden = CONFIGS[config_name], GOLDEN_DIGESTS[config_name]
    names = list(CASES)
    random.Random(bundle).shuffle(names)  # every case next to different neighbours
    names += names[:5]  # the same article twice in a bundle
    sketches: list[ArticleSketch] = []
    for start in range(0, len(names), bundle):
        chunk = names[start : start + bundle]
        sketches += build_sketches([CASES[name] for name in chunk], config)
    assert len(sketches) == len(names)
    wrong = [
        name for name, sketch in zip(names, sketches, strict=True) if digest(sketch) != golden[name]
    ]
    assert wrong == []


def test_bundles_of_only_empty_or_only_short_texts():
    config = CONFIGS["default"]
    golden = GOLDEN_DIGESTS["default"]
    for group in (["empty", "blank", "punctuation only"], ["one word", "2 words", "empty"]):
        sketches = build_sketches([CASES[name] for name in group], config)
        assert [digest(s) for s in sketches] == [golden[name] for name in group]
    assert build_sketches([], config) == []


def test_one_failing_article_in_a_bundle_fails_alone(monkeypatch):
    config = CONFIGS["default"]
    real = sketch_module.build_sketches
    calls = []

    def failing(items, config):
        calls.append(len(items))
        if any(article_id == "id-3" for article_id, _, _ in items):
            raise MemoryError("no room")
        return real(items, config)

    monkeypatch.setattr(sketch_module, "build_sketches", failing)
    items = [CASES[name] for name in list(CASES)[:10]]
    assert items[3][0] == "id-3"
    out = build_sketches_or_errors(items, config)
    assert calls == [10] + [1] * 10  # the bundle, then one by one
    assert isinstance(out[3], MemoryError)
    assert [s.id for i, s in enumerate(out) if i != 3] == [
        item[0] for item in items if item[0] != "id-3"
    ]
    golden = GOLDEN_DIGESTS["default"]
    names = list(CASES)[:10]
    assert all(digest(out[i]) == golden[names[i]] for i in range(10) if i != 3)


def test_a_bundle_without_failures_is_sketched_once(monkeypatch):
    real = sketch_module.build_sketches
    calls = []
    monkeypatch.setattr(
        sketch_module,
        "build_sketches",
        lambda items, config: calls.append(1) or real(items, config),
    )
    out = build_sketches_or_errors([CASES["one word"], CASES["40 shingles"]], CONFIGS["default"])
    assert calls == [1] and all(isinstance(s, ArticleSketch) for s in out)


def _random_words(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    alphabets = [
        "abcdefghijklmnopqrstuvwxyz0159",
        "\u00e0\u00e9\u00ee\u00f6\u00fa\u00e7\u00df\u0142abc",
        "\u0430\u0431\u0432\u0433\u0434\u0435\u0436\u0437",
        "\u6771\u4eac\u90fd\u5e02\u3042\u3044",
        "\U0001f389\U0001f44d\U00010348",
        "\x00\x01\u200d\u0301",
    ]
    words = []
    for _ in range(count):
        letters = rng.choice(alphabets) + (rng.choice(alphabets) if rng.random() < 0.3 else "")
        words.append("".join(rng.choice(letters) for _ in range(rng.randint(1, 14))))
    return words


@pytest.mark.parametrize("prefix", [0, 1, 2, 3, 4, 5, 7, 9])
def test_numpy_token_hashes_are_rensas(prefix):
    words = _random_words(prefix, 5000)
    folded = ocr_folded(" ".join(words))
    expected = rensa.RMinHash.hash_token_sets([robust_tokens(" ".join(words), prefix)])[0]
    assert token_hashes(folded, prefix).tolist() == expected
    ascii_words = [w for w in words if w.isascii()]  # the ASCII shortcut
    expected = rensa.RMinHash.hash_token_sets([robust_tokens(" ".join(ascii_words), prefix)])[0]
    assert token_hashes(ocr_folded(" ".join(ascii_words)), prefix).tolist() == expected
    assert matches_rensa()


def test_without_the_numpy_token_hash_bundles_give_the_same_sketches(monkeypatch):
    monkeypatch.setattr(fingerprint, "matches_rensa", lambda: False)  # a rensa that hashes anew
    config, golden = CONFIGS["default"], GOLDEN_DIGESTS["default"]
    names = list(CASES)
    sketches = build_sketches([CASES[name] for name in names], config)
    assert [digest(s) for s in sketches] == [golden[name] for name in names]
