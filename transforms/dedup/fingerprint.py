"""Text normalisation, the exact-duplicate content hash, and word shingles.

Everything here is pure and deterministic: the same text gives the same
normalised form, the same hash and the same shingle hashes in every process
on every worker (no use of Python's per-process salted `hash()`).

Normalisation (what makes two texts "the same"):
- Unicode NFKC + case folding, so full-width digits, ligatures, composed vs
  decomposed accents and upper/lower case compare equal;
- format characters (zero-width spaces, soft hyphens, BOMs) are dropped;
- punctuation and symbols become spaces, so curly vs straight quotes, dashes,
  "Suk-yeol" vs "Suk yeol", "1,000" vs "1 000" compare equal;
- every run of whitespace becomes one space.
Paragraph structure (blank lines) is kept by `paragraph_words` for shingling
and ignored by `content_hash`.

Shingles (what near and containment matching compare) are built from
*robust tokens*, not whole words: a word with the OCR digit/letter confusions
0/o, 1/l, 5/s folded, cut to its first `token_prefix` characters. A changed,
dropped or doubled letter after the prefix leaves the token (and the four
shingles that hold it) intact: on generated copies with 1 % changed letters
the 1st percentile of containment rises from 0.65 (whole words) to 0.71
(benchmarks/README.md). The prefix also merges inflections and spelling
variants (criticised/criticized), which copy-editing changes.

Each token is hashed once and a shingle's hash combines the hashes of its
words (multiply-add with one odd constant per position, then the
splitmix64/murmur3 finaliser): the old way built and hashed one string per
shingle, i.e. every word four times (`benchmarks/bench_dedup.py --sketch`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import rensa

# Blank line (possibly with spaces) = paragraph break; single newlines are
# line wrapping and count as spaces.
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v\u00a0\u2000-\u200a\u3000]*\n")


class _CharClassMap(dict):
    """`str.translate` table: punctuation/symbols -> space, format chars -> removed.

    Filled lazily per code point seen (a full table of 1.1M code points would
    cost ~100 MB per worker); `__missing__` is honoured by `str.translate`.
    """

    def __missing__(self, code: int) -> str | int | None:
        category = unicodedata.category(chr(code))
        if category[0] in ("P", "S"):
            value: str | int | None = " "
        elif category == "Cf":
            value = None
        else:
            value = code
        self[code] = value
        return value


_CHAR_CLASS_MAP = _CharClassMap()


def _fold(text: str) -> str:
    """NFKC + casefold (Unicode's NFKC_Casefold, approximately)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _normalize_fragment(text: str) -> list[str]:
    folded = _fold(text).translate(_CHAR_CLASS_MAP)
    return folded.split()


def _without_lone_surrogates(text: str) -> str:
    """Lone UTF-16 surrogates (from lenient JSON decoders) cannot be encoded: replace them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def paragraph_words(text: str) -> list[list[str]]:
    """Normalised words of each non-empty paragraph, in order."""
    text = _without_lone_surrogates(text)
    out = []
    for paragraph in _PARAGRAPH_BREAK.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        words = _normalize_fragment(paragraph)
        if words:
            out.append(words)
    return out


def normalize_text(text: str) -> str:
    """The normalised body: folded, punctuation-free words joined by one space."""
    return " ".join(word for words in paragraph_words(text) for word in words)


def hash_normalized(normalized: str) -> str:
    """32 lowercase hex chars: blake2b (16-byte digest) of normalised text."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).hexdigest()


def content_hash(text: str) -> str:
    """The exact-duplicate key of a text (the record's `content_hash`)."""
    return hash_normalized(normalize_text(text))


def paragraph_shingles(paragraphs: Sequence[Sequence[str]], size: int) -> list[list[str]]:
    """Word `size`-grams of each paragraph; shingles never cross a paragraph break.

    Keeping shingles inside paragraphs makes a re-ordered copy share every
    shingle with the original. A paragraph shorter than `size` words (a
    subheading, a dateline) is one shingle of its own.
    """
    out = []
    for words in paragraphs:
        if len(words) <= size:
            out.append([" ".join(words)])
        else:
            out.append([" ".join(words[i : i + size]) for i in range(len(words) - size + 1)])
    return out


# OCR confusions between digits and letters, folded in robust tokens only (the
# content hash keeps digits as they are).
_OCR_FOLD = str.maketrans({"0": "o", "1": "l", "5": "s"})
# One odd 64-bit multiplier per position in a shingle (golden-ratio and
# splitmix64 constants and their neighbours), and one for the shingle length.
_POSITION_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xBF58476D1CE4E5B9,
        0x94D049BB133111EB,
        0xD6E8FEB86659FD93,
        0xA0761D6478BD642F,
        0xE7037ED1A0B428DB,
        0x8EBC6AF09C88C6E3,
        0x589965CC75374CC3,
    ],
    dtype=np.uint64,
)
_LENGTH_MULTIPLIER = np.uint64(0xC2B2AE3D27D4EB4F)


def robust_tokens(words: Sequence[str], prefix: int) -> list[str]:
    """Words with OCR digit/letter confusions folded, cut to `prefix` characters."""
    folded = " ".join(words).translate(_OCR_FOLD).split(" ")
    return folded if prefix <= 0 else [token[:prefix] for token in folded]


def _finalise(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def shingle_hashes(paragraphs: Sequence[Sequence[str]], size: int, prefix: int) -> list[np.ndarray]:
    """64-bit hashes of the robust-token `size`-shingles of each paragraph.

    Shingles never cross a paragraph break; a paragraph of `size` words or
    fewer is one shingle. Tokens are hashed once (rensa's fixed, unsalted
    token hash) and combined per shingle, vectorised over the whole text.
    """
    if not paragraphs:
        return []
    if size > len(_POSITION_MULTIPLIERS):
        raise ValueError(f"shingle size must be <= {len(_POSITION_MULTIPLIERS)}")
    tokens = [robust_tokens(words, prefix) for words in paragraphs]
    flat = np.array(
        rensa.RMinHash.hash_token_sets([[t for p in tokens for t in p]])[0], dtype=np.uint64
    )
    lengths = np.array([len(p) for p in tokens], dtype=np.int64)
    starts = np.zeros(len(tokens), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    windows = np.maximum(lengths - size + 1, 1)  # shingles per paragraph
    owner = np.repeat(np.arange(len(tokens)), windows)
    first = np.arange(int(windows.sum())) - np.repeat(np.cumsum(windows) - windows, windows)
    position = starts[owner] + first  # index of each shingle's first token
    width = np.minimum(lengths[owner], size)  # tokens in each shingle
    with np.errstate(over="ignore"):
        combined = width.astype(np.uint64) * _LENGTH_MULTIPLIER
        for offset in range(size):
            present = offset < width
            index = np.where(present, position + offset, 0)
            term = flat[index] * _POSITION_MULTIPLIERS[offset]
            combined = combined + np.where(present, term, np.uint64(0))
        hashed = _finalise(combined)
    bounds = np.cumsum(windows)[:-1]
    return np.split(hashed, bounds)


def hash_shingles(shingle_lists: Sequence[Sequence[str]]) -> list[list[int]]:
    """Stable 64-bit hashes of shingle strings, one list per input list.

    rensa's token hash is fixed (not salted per process): checked by
    tests/test_dedup_minhash.py in subprocesses with different PYTHONHASHSEED.
    """
    if not shingle_lists:
        return []
    return rensa.RMinHash.hash_token_sets([list(s) for s in shingle_lists])
