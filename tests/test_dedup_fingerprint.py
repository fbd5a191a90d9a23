"""Normalisation, content hash and shingles (pure core)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from newsbeam.transforms.dedup.fingerprint import (
    content_hash,
    hash_shingles,
    normalize_text,
    paragraph_shingles,
    paragraph_words,
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

    assert shingle_set(text) == shingle_set(reordered)


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
    assert len(outputs[0][3]) == 32
