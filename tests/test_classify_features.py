"""Hashed text features: normalisation, stable hashing, weighting."""

from __future__ import annotations

import dataclasses
import html
import random
import re
import unicodedata

import numpy as np
import pytest

from newsbeam.transforms.classify import features
from newsbeam.transforms.classify.features import (
    FeatureConfig,
    capitalised_words,
    hashed_features,
    normalize_text,
)


def test_normalize_repairs_broken_entities_and_splits_apostrophes():
    text = "Japan #39;s players quot;strike quot; &lt;LOW.N&gt; Iraq's"
    assert normalize_text(text) == " japan s players strike low n iraq s "


def test_normalize_folds_digits_and_caps_words():
    assert normalize_text("Won 28-21 in 2004") == " won 00 00 in 0000 "
    assert normalize_text("Won 28-21", fold_digits=False) == " won 28 21 "
    assert normalize_text("one two three four", max_words=2) == " one two "
    assert normalize_text("") == normalize_text(None) == normalize_text(" ,; ") == " "


def test_capitalised_words_keep_case_and_skip_the_rest():
    text = "Apple #39;s iPod beats NASA in 2004 as 3M and Éclair rise"
    assert capitalised_words(text) == " Apple NASA Éclair "
    assert capitalised_words(text, max_words=3) == " Apple "
    assert capitalised_words("Won in G8", fold_digits=False) == " Won G8 "
    assert capitalised_words("all lower case") == capitalised_words(None) == " "


def test_capitalised_group_tells_names_from_common_words():
    caps = FeatureConfig(
        hash_bits=16, word_weight=0, bigram_weight=0, char_weight=0, capitalised_weight=1.0
    )
    assert sorted(hashed_features(["Markets rally as Apple gains"], caps).indices) == [56887, 64133]
    assert hashed_features(["apple"], caps).nnz == 0
    both = FeatureConfig(hash_bits=20, char_weight=0, capitalised_weight=0.5)
    # "Apple" adds a column of its own (weight 0.5) to the word and bigram groups.
    plain, named = hashed_features(["apple pie", "Apple pie"], both)
    assert named.nnz == plain.nnz + 1
    assert float(named.multiply(named).sum()) == pytest.approx(1 + 1 + 0.25, rel=1e-3)


@pytest.mark.parametrize("word", ["Vote", "x" * 30, "&amp;", "İstanbul"])
def test_long_texts_read_only_their_first_words(word):
    # A long body is decoded only as far as needed; the words read must be
    # exactly the first max_words words of the whole text.
    config = FeatureConfig(hash_bits=18, capitalised_weight=0.5, max_words=20)
    words = [f"{word}{i % 7} minister" for i in range(400)]
    whole = hashed_features([" ".join(words)], config)
    first = hashed_features([" ".join(words[:12])], config)  # 24 words, more than 20
    assert (whole != first).nnz == 0


def test_hash_values_are_fixed():
    # The hash is part of the model file format: if these change, every
    # saved model silently means something else.
    words = FeatureConfig(hash_bits=16, char_weight=0, bigram_weight=0)
    bigrams = FeatureConfig(hash_bits=16, char_weight=0, word_weight=0)
    chars = FeatureConfig(hash_bits=16, word_weight=0, bigram_weight=0, char_min=3, char_max=3)
    assert sorted(hashed_features(["Markets rally"], words).indices) == [9679, 64299]
    assert sorted(hashed_features(["Markets rally"], bigrams).indices) == [28564]
    assert sorted(hashed_features(["ab"], chars).indices) == [1861, 53895]


def test_rows_do_not_depend_on_the_batch():
    config = FeatureConfig(hash_bits=18)
    texts = ["Rates rise again", "", "Striker scores twice in cup final", None, "Rates"]
    together = hashed_features(texts, config).toarray()
    for i, text in enumerate(texts):
        alone = hashed_features([text], config).toarray()[0]
        np.testing.assert_allclose(together[i], alone, rtol=1e-6)


def test_empty_texts_give_empty_rows_and_groups_are_normalised():
    config = FeatureConfig(hash_bits=20, word_weight=1.0, bigram_weight=1.0, char_weight=0.5)
    matrix = hashed_features(["", "Central bank raises interest rates"], config)
    assert matrix.shape == (2, 1 << 20)
    assert matrix[0].nnz == 0
    # Each group has unit norm times its weight; distinct groups rarely share
    # a column at 2**20, so the row's squared norm is the sum of weights**2.
    assert float(matrix[1].multiply(matrix[1]).sum()) == pytest.approx(1 + 1 + 0.25, rel=1e-3)
    assert (matrix.data > 0).all()


def test_sublinear_tf_and_idf_change_weights():
    text = ["goal goal goal match"]
    plain = FeatureConfig(hash_bits=16, bigram_weight=0, char_weight=0, sublinear_tf=False)
    sub = FeatureConfig(hash_bits=16, bigram_weight=0, char_weight=0, sublinear_tf=True)
    raw = sorted(hashed_features(text, plain).data)
    damped = sorted(hashed_features(text, sub).data)
    assert raw[1] / raw[0] == pytest.approx(3.0)
    assert damped[1] / damped[0] == pytest.approx(1 + np.log(3))
    idf = np.ones(1 << 16, dtype=np.float32)
    column = hashed_features(["match"], plain).indices[0]
    idf[column] = 5.0
    weighted = hashed_features(text, plain, idf)
    assert weighted[0, column] > hashed_features(text, plain)[0, column]


def test_char_grams_within_words_do_not_span_spaces():
    within = FeatureConfig(hash_bits=20, word_weight=0, bigram_weight=0, char_min=4, char_max=4)
    across = FeatureConfig(
        hash_bits=20,
        word_weight=0,
        bigram_weight=0,
        char_min=4,
        char_max=4,
        char_within_words=False,
    )
    # " ab cd " has 4-grams " ab ", "ab c", "b cd", " cd " across words;
    # within words only the two padded words remain.
    assert hashed_features(["ab cd"], within).nnz == 2
    assert hashed_features(["ab cd"], across).nnz == 4


def test_config_is_validated_and_round_trips():
    with pytest.raises(ValueError):
        FeatureConfig(hash_bits=30)
    with pytest.raises(ValueError):
        FeatureConfig(char_min=4, char_max=2)
    config = FeatureConfig(char_weight=0.25)
    assert FeatureConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown feature settings"):
        FeatureConfig.from_dict({**config.to_dict(), "mystery": 1})


def test_long_texts_normalise_as_if_read_whole():
    """Reading only the start of a long text gives exactly the whole text's first words."""
    import random

    rng = random.Random(3)
    pieces = [
        "Iraq's",
        "&amp;",
        "#39;s",
        "quot;x quot;",
        "2024",
        "Ünïcödé",
        "ﬁnance",
        "e\u0301",
        "word",
        "—",
        "a_b",
        "\n\n",
        "don't",
        "U.S.",
        "&#8217;",
        "x" * 30,
        "42%",
    ]
    for _ in range(300):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 900)))
        whole = normalize_text(text).split()
        for max_words in (1, 5, 150, 250):
            first = whole[:max_words]
            expected = " " + " ".join(first) + " " if first else " "
            assert normalize_text(text, max_words=max_words) == expected


def _regex_words(text: str, max_words: int, complete: bool) -> list[str] | None:
    """`_first_words` as first written, with the regex only (the fast paths' reference)."""
    if not max_words:
        return [part for part in re.split(r"[\W_]+", text) if part]
    parts = re.split(r"[\W_]+", text, maxsplit=max_words + 2)
    if len(parts) == max_words + 3:
        parts.pop()
    elif not complete:
        return None
    return [part for part in parts if part][:max_words]


def _regex_decoded(text: str, fold_digits: bool) -> str:
    """`_decoded` as first written: every regex run on every text."""
    text = re.sub(r"(?<!&)#(\d{2,5});", r"&#\1;", text)
    text = re.sub(r"(?<![&\w])(quot|amp|lt|gt|apos|nbsp);", r"&\1;", text)
    text = unicodedata.normalize("NFKC", html.unescape(text))
    return re.sub(r"\d", "0", text) if fold_digits else text


def test_ascii_fast_paths_give_the_regex_words_and_decoding():
    rng = random.Random(11)
    ascii_pieces = [chr(code) for code in range(128)] + ["ab", "Z9", "  ", "_", "quot;", "#39;"]
    other = ["é", "٣", "１", "—", "\u00a0", "ß", "İ", "&#1635;"]
    for _ in range(20_000):
        pieces = ascii_pieces + (other if rng.random() < 0.3 else [])
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        for fold in (True, False):
            assert features._decoded(text, fold) == _regex_decoded(text, fold), text
        for max_words in (0, 1, 2, 5):
            for complete in (True, False):
                expected = _regex_words(text, max_words, complete)
                assert features._first_words(text, max_words, complete=complete) == expected


def test_char_grams_within_words_are_those_of_each_word_alone():
    # The within-words n-grams of a batch (found from the distance to the next
    # space) are exactly those of every word padded on its own: none spans two
    # words or two documents, none is lost at a document's ends.
    texts = ["ab cde f", "", "x", "longerword of it", "q r s tuvwxyz"]
    for char_min, char_max in ((1, 5), (2, 3), (3, 8)):
        grams = dict(hash_bits=20, word_weight=0, bigram_weight=0, char_min=char_min)
        within = FeatureConfig(**grams, char_max=char_max, sublinear_tf=False, use_idf=False)
        across = dataclasses.replace(within, char_within_words=False)
        rows = hashed_features(texts, within)
        for row, text in enumerate(texts):
            words = normalize_text(text).split()
            expected = set()
            for word in words:
                expected |= set(hashed_features([word], across).indices)
            assert set(rows[row].indices) == expected, (text, char_min, char_max)
