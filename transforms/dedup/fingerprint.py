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
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

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


def hash_shingles(shingle_lists: Sequence[Sequence[str]]) -> list[list[int]]:
    """Stable 64-bit hashes of shingle strings, one list per input list.

    rensa's token hash is fixed (not salted per process): checked by
    tests/test_dedup_minhash.py in subprocesses with different PYTHONHASHSEED.
    """
    if not shingle_lists:
        return []
    return rensa.RMinHash.hash_token_sets([list(s) for s in shingle_lists])
