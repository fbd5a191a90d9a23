"""Normalisation, content hash and shingles (pure core)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import rensa

from newsbeam.transforms.dedup import fingerprint
from newsbeam.transforms.dedup.fingerprint import (
    content_hash,
    hash_shingles,
    normalize_text,
    paragraph_shingles,
    paragraph_words,
    robust_tokens,
    shingle_hashes,
)

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Tokyo Summit", "tokyo summit"),
        ("the  summit\n\n took   place", "the summit took place"),
        ("“We stopped studying,” she said.", '"We stopped studying", she said'),
        ("Yoon Suk-yeol", "Yoon Suk yeol"),
        ("Yoon Suk\u2011yeol \u2014 Seoul", "Yoon Suk-yeol - Seoul"),
        ("\uff11\uff12 metres", "12 metres"),  # full-width digits
        ("ﬁnal ﬂood", "final flood"),  # ligatures
        ("Cafe\u0301", "Café"),  # decomposed vs composed accent
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
        ("non\u00a0breaking\u3000space", "non breaking space"),
        ("STRASSE", "straße"),
        ("line\r\nwrapped text", "line wrapped text"),
    ],
)
def test_normalisation_equates_typographic_variants(left: str, right: str) -> None:
    assert normalize_text(left) == normalize_text(right)
    assert content_hash(left) == content_hash(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("The council voted 7-2", "The council voted 7-3"),
        ("café", "cafe"),  # accents are letters, not noise
        ("Kishida visited Seoul", "Seoul visited Kishida"),
    ],
)
def test_normalisation_keeps_real_differences(left: str, right: str) -> None:
    assert content_hash(left) != content_hash(right)


def test_content_hash_is_32_lowercase_hex() -> None:
    for text in ["", "a", "Ünïcödé text\n\nwith paragraphs", "x" * 10_000]:
        assert HEX32.match(content_hash(text))


def test_normalize_text_output_form() -> None:
    assert normalize_text("  Hello,   WORLD!  \n\n(Reuters) — 2024 ") == "hello world reuters 2024"


def test_lone_surrogate_does_not_raise() -> None:
    assert normalize_text("broken \ud800 json") == "broken json"
    assert HEX32.match(content_hash("broken \ud800 json"))


def test_paragraphs_split_on_blank_lines_only() -> None:
    text = "First para line one\nline two.\n\n  \nSecond para.\r\n\r\nThird."
    assert paragraph_words(text) == [
        ["first", "para", "line", "one", "line", "two"],
        ["second", "para"],
        ["third"],
    ]


def test_shingles_do_not_cross_paragraphs() -> None:
    paragraphs = [["a", "b", "c", "d", "e"], ["f", "g"], ["h", "i", "j", "k"]]
    assert paragraph_shingles(paragraphs, 4) == [
        ["a b c d", "b c d e"],
        ["f g"],  # shorter than the shingle size: one shingle
        ["h i j k"],
    ]


def test_reordered_paragraphs_have_the_same_shingle_set() -> None:
    text = "One two three four five.\n\nSix seven eight nine ten.\n\nEleven twelve thirteen."
    reordered = "\n\n".join(reversed(text.split("\n\n")))

    def shingle_set(t: str) -> set[int]:
        return {h for hs in hash_shingles(paragraph_shingles(paragraph_words(t), 4)) for h in hs}

    def robust_set(t: str) -> set[int]:
        return set(shingle_hashes(paragraph_words(t), 4, 5)[0].tolist())

    assert shingle_set(text) == shingle_set(reordered)
    assert robust_set(text) == robust_set(reordered)


def _reference_shingle_hashes(paragraphs: list[list[str]], size: int, prefix: int) -> list[int]:
    """One shingle at a time, in plain Python: what the vectorised version must equal."""
    multipliers = fingerprint._POSITION_MULTIPLIERS
    out = []
    for words in paragraphs:
        tokens = robust_tokens(words, prefix)
        hashes = rensa.RMinHash.hash_token_sets([tokens])[0]
        starts = range(max(len(tokens) - size + 1, 1))
        for start in starts:
            window = hashes[start : start + size]
            value = len(window) * fingerprint._LENGTH_MULTIPLIER
            value += sum(h * m for h, m in zip(window, multipliers, strict=False))
            out.append(value % 2**64)
    return fingerprint.finalise(np.array(out, dtype=np.uint64)).tolist()


@pytest.mark.parametrize(
    "text",
    [
        "One two three four five six.\n\nShort one.\n\nSeven eight nine ten eleven.",
        "Headline\n\nA B C D\n\nx\n\nthe quick brown fox jumps over the lazy dog",
        "one two three",
        "a b c d e",
    ],
)
def test_vectorised_shingle_hashes_equal_one_shingle_at_a_time(text: str) -> None:
    paragraphs = paragraph_words(text)
    hashed, counts = shingle_hashes(paragraphs, 4, 5)
    assert hashed.tolist() == _reference_shingle_hashes(paragraphs, 4, 5)
    assert counts.tolist() == [max(len(p) - 3, 1) for p in paragraphs]


def test_robust_tokens_survive_small_letter_changes() -> None:
    """OCR digit confusions fold, changes after the 5th character do not matter,
    and a change inside the prefix does (the token is not a bag of letters)."""
    assert robust_tokens(["go1d", "5ilver", "government", "governmnet"], 5) == [
        "gold",
        "silve",
        "gover",
        "gover",
    ]
    assert robust_tokens(["gevernment"], 5) != robust_tokens(["government"], 5)
    words = paragraph_words("The govermnent said on Tuesday that it wou1d raise spending.")
    clean = paragraph_words("The government said on Tuesday that it would raise spending.")
    noisy_set = set(shingle_hashes(words, 4, 5)[0].tolist())
    assert noisy_set == set(shingle_hashes(clean, 4, 5)[0].tolist())
    # With whole words (digits still folded) the transposition breaks 2 of the 7 shingles.
    whole = set(shingle_hashes(words, 4, 0)[0].tolist())
    assert len(whole) == 7 and len(whole & set(shingle_hashes(clean, 4, 0)[0].tolist())) == 5


_PROBE = """
import json
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.sketch import build_sketch
text = "Kishida and Yoon met in Tokyo on Thursday.\\n\\nThey agreed to restart shuttle diplomacy."
s = build_sketch("id-1", text * 3, "2023-03-16T10:00:00Z", DedupConfig())
print(json.dumps([s.content_hash, s.shingles.hex(), s.lead.hex(), [b.hex() for b in s.bands]]))
"""


def test_sketch_is_identical_across_processes_and_hash_seeds() -> None:
    """The same text must give the same sketch on every worker and run."""
    outputs = []
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]
    keys = outputs[0][3]
    # A short text: 32 LSH band keys (8 bytes) + 2 opening keys (b"l" + 8 bytes), no anchors.
    assert len([k for k in keys if len(k) == 16]) == 32
    assert [k[:2] for k in keys if len(k) == 18] == ["6c", "6c"]


_ONE_PASS_TEXTS = [
    "",
    " \n\n ",
    "One two three four five six.\n\nShort one.\n\nSeven eight nine ten eleven.",
    "Headline\n\nA B C D\n\nx\n\nthe quick brown fox jumps over the lazy dog",
    "LAGOS \u2014 \u201cWe\u2019re done,\u201d\u200b she said of the "
    "\u20ac5m / \u00a33m deal \u00a9 2024.",
    # a zero-width space between a letter and a combining accent blocks composition
    "cafe\u200b\u0301 and cafe\u0301 x\x01y",
    "non\u00a0breaking\u3000space, line\u2028separator\u2029paragraph \x85 next\t\x1ctab",
    "\uff11\uff12 metres, \ufb01nal \ufb02ood, STRASSE stra\u00dfe, "
    "\u0130stanbul \u03a3\u03bf\u03c6\u03af\u03b1",
    "\n\n -- \n\n\u2014\n\nalpha beta gamma delta epsilon\n\n\n\n\u201c\u201d\n\nzeta",
    "one\x00two three four five six seven\n\nnext para here with words",  # NUL: paragraph path
    "broken \ud800 json go1d 5ilver",
    "<\u0338 =\u0338 \u2014\u0338 \u20ac\u0301 text",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u2014 \u00ab\u041f\u0440\u0438\u0432\u0435\u0442\u00bb "
    "\U0001f600 \u4e2d\u6587\u5b57\n\n\u00bfQu\u00e9? \u00a1S\u00ed! \u2060\ufeff\u00ad end",
]


@pytest.mark.parametrize("text", _ONE_PASS_TEXTS)
@pytest.mark.parametrize(("size", "prefix"), [(4, 5), (1, 5), (2, 0), (3, 2)])
def test_text_shingles_equals_the_paragraph_by_paragraph_path(
    text: str, size: int, prefix: int
) -> None:
    """One pass over the whole text gives what normalising paragraph by
    paragraph and shingling them gives: same words, content hash and shingles."""
    shingled = fingerprint.text_shingles(text, size, prefix)
    paragraphs = paragraph_words(text)
    hashed, counts = shingle_hashes(paragraphs, size, prefix)
    assert shingled.content_hash == content_hash(text)
    assert shingled.words == sum(len(words) for words in paragraphs)
    assert shingled.paragraph_words == [len(words) for words in paragraphs]
    assert shingled.hashes.tolist() == hashed.tolist()
    firsts = np.concatenate(([0], np.cumsum(counts)[:-1])).tolist() if paragraphs else []
    assert shingled.paragraph_first == firsts


def test_early_spaces_behave_like_the_final_table() -> None:
    """Characters made spaces before case folding must be their own NFKC and
    case fold, punctuation or symbols, and compose with no following mark:
    then replacing them early cannot change a text's words."""
    import unicodedata

    # Every combining mark, and the starters that compose with what precedes them.
    marks = [chr(c) for c in range(0x110000) if unicodedata.combining(chr(c))]
    marks += ["\u0bbe", "\u0cd5", "\u0d3e", "\u0dcf", "\u102e", "\u1161", "\u11a8"]
    for char in fingerprint.EARLY_SPACES:
        assert unicodedata.normalize("NFKC", char) == char
        assert char.casefold() == char
        assert unicodedata.category(char)[0] in "PS"
        assert unicodedata.combining(char) == 0
        for mark in marks:
            alone = unicodedata.normalize("NFC", mark)
            assert unicodedata.normalize("NFC", char + mark) == char + alone
    for char in (fingerprint._ZWSP, fingerprint._ZWSP_STANDIN):
        for mark in marks:
            alone = unicodedata.normalize("NFKC", mark)
            assert unicodedata.normalize("NFKC", "e" + char + mark) == "e" + char + alone


def test_non_ascii_classes_equal_the_per_character_map() -> None:
    """The two fixed-replacement patterns (punctuation/symbols -> space, format
    characters dropped) and the astral fallback give what mapping every
    character through `_CHAR_CLASS_MAP` gives, for every BMP character."""
    bmp = "".join(chr(code) for code in range(0x80, 0x10000) if not 0xD800 <= code < 0xE000)
    astral = "\U0001f600\U0001d400\U000e0001\U00020000\U0001f1eb a\u0301"
    for text in (bmp, astral, "caf\u00e9 \u2014 \u00ab\u043c\u0438\u0440\u00bb\u200b!"):
        expected = fingerprint._NON_ASCII.sub(fingerprint._char_class, text)
        assert fingerprint._non_ascii_classes(text) == expected
