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
(docs, "Deduplicate"). The prefix also merges inflections and spelling
variants (criticised/criticized), which copy-editing changes.

Each token is hashed once and a shingle's hash combines the hashes of its
words (multiply-add with one odd constant per position, then the
splitmix64 finaliser), vectorised: the old way built and hashed one string
per shingle, i.e. every word four times. `text_shingles` (what the sketch
uses) normalises the whole text in one pass, a mark standing for each
paragraph break, instead of paragraph by paragraph, and combines every
window of a text in one strided matrix product; it gives exactly what
`content_hash` and `shingle_hashes(paragraph_words(text))` give (tests
compare them). Non-ASCII punctuation, symbols and format characters go
through two fixed-replacement patterns instead of a Python call per
character. Measured, the sketch costs 0.85x the CPU it did on generated
English articles (not the half issue #21 asked for), 0.54x with accented
letters and 0.39x in Cyrillic (benchmarks/README.md, "Sketch cost").

`bundle_shingles` does the same for a bundle of texts (what the batch
sketch uses): each text is normalised on its own, then the tokens of all
are hashed (token_hash.py: rensa's hash computed from the bytes in numpy)
and combined into shingles with one set of array operations.
"""

from __future__ import annotations

import hashlib
import operator
import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import rensa

from newsbeam.transforms.dedup.token_hash import matches_rensa, token_hashes

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
# The same classes for ASCII as a bytes table (bytes >= 0x80 pass through):
# `bytes.translate` is a C table lookup, `str.translate` with a mapping costs
# ~40 ns per character (90 % of normalising an article before).
_ASCII_TABLE = bytes(
    ord(" ") if unicodedata.category(chr(code))[0] in ("P", "S") else code for code in range(128)
) + bytes(range(128, 256))
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _char_class(match: re.Match[str]) -> str:
    value = _CHAR_CLASS_MAP[ord(match.group())]
    if value is None:
        return ""
    return value if isinstance(value, str) else chr(value)


def _bmp_class_pattern(categories: tuple[str, ...]) -> re.Pattern[str]:
    """One character class of the non-ASCII BMP characters in these categories."""
    ranges, start = [], None
    for code in range(0x80, 0x10001):
        inside = code < 0x10000 and unicodedata.category(chr(code)).startswith(categories)
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{code - 1:04x}")
            start = None
    return re.compile("[" + "".join(ranges) + "]")


# The same classes for the other characters of the BMP as two patterns with a
# fixed replacement (C speed: no Python call per accented letter or Cyrillic
# character, which cost 1-2 us each), and the rest (emoji and the other
# planes) one character at a time. Built at import (~30 ms).
_BMP_SPACES = _bmp_class_pattern(("P", "S"))
_BMP_DROPPED = _bmp_class_pattern(("Cf",))
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _non_ascii_classes(text: str) -> str:
    """`_CHAR_CLASS_MAP` applied to the non-ASCII characters of a text."""
    text = _BMP_DROPPED.sub("", _BMP_SPACES.sub(" ", text))
    if _ASTRAL.search(text):
        text = _ASTRAL.sub(_char_class, text)
    return text


def _fold(text: str) -> str:
    """NFKC + casefold (Unicode's NFKC_Casefold, approximately)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _normalize_fragment(text: str) -> list[str]:
    # ASCII punctuation/symbols through a bytes table, then the few other characters.
    folded = _fold(text).encode("utf-8", "surrogatepass").translate(_ASCII_TABLE)
    text = folded.decode("utf-8", "surrogatepass")
    if not text.isascii():
        text = _non_ascii_classes(text)
    return text.split()


def _without_lone_surrogates(text: str) -> str:
    """Lone UTF-16 surrogates (from lenient JSON decoders) cannot be encoded: replace them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


# Paragraph mark inside the normalised text: a word of its own between two
# paragraphs. NUL is a word character to normalisation, so a text holding one
# takes the paragraph-by-paragraph path (`paragraph_words`).
_MARK = "\x00"
# `_ASCII_TABLE` that also turns ASCII whitespace into spaces (str.split's
# whitespace), so that runs of spaces can be collapsed without splitting.
_ASCII_SPACE_TABLE = bytes(
    ord(" ") if code < 128 and chr(code).isspace() else value
    for code, value in enumerate(_ASCII_TABLE)
)
# Frequent non-ASCII punctuation/symbols of news text, made spaces right after
# the first NFKC so that case folding and the rest usually see ASCII text
# (CPython's ASCII fast paths). Each is its own NFKC and case fold, and a
# starter that composes with nothing (checked in tests/test_dedup_fingerprint.py),
# so replacing it early gives the same result as the table at the end.
EARLY_SPACES = "\u2014\u2013\u201c\u201d\u2018\u2019\u20ac\u00a3\u00a9\u2022\u00b0\u00ab\u00bb"
# Zero-width spaces (format characters, removed at the end) are frequent too:
# a stand-in that blocks canonical composition just as they do (a starter
# that composes with nothing) keeps the text ASCII until they are removed.
_ZWSP = "\u200b"
_SPACE_RUN = re.compile("  +")
_ZWSP_STANDIN = "\x01"


def _marked_normal_text(text: str) -> str:
    """Normalised words joined by single spaces, `_MARK` between paragraphs.

    The same words as `paragraph_words`, folded in one pass over the whole
    text (paragraph breaks become marks first) instead of one per paragraph.
    """
    text = _PARAGRAPH_BREAK.sub(f" {_MARK} ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = unicodedata.normalize("NFKC", text)
    standin = False
    if not text.isascii():
        for char in EARLY_SPACES:
            if char in text:
                text = text.replace(char, " ")
        standin = _ZWSP in text and _ZWSP_STANDIN not in text
        if standin:
            text = text.replace(_ZWSP, _ZWSP_STANDIN)
    text = unicodedata.normalize("NFKC", text.casefold())
    text = text.encode("utf-8", "surrogatepass").translate(_ASCII_SPACE_TABLE)
    text = text.decode("utf-8", "surrogatepass")
    if standin:
        text = text.replace(_ZWSP_STANDIN, "")
    if text.isascii():
        text = _SPACE_RUN.sub(" ", text)  # one pass (str.replace took one per doubling)
    else:  # the few other characters; str.split also knows non-ASCII spaces
        text = " ".join(_non_ascii_classes(text).split())
    text = text.strip(f" {_MARK}")
    while f" {_MARK} {_MARK}" in text:  # empty paragraphs
        text = text.replace(f" {_MARK} {_MARK}", f" {_MARK}")
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
# content hash keeps digits as they are). str.replace, not str.translate: ~30x
# faster on a whole article.
_OCR_FOLD = (("0", "o"), ("1", "l"), ("5", "s"))
# One odd 64-bit multiplier per position in a shingle (golden-ratio and
# splitmix64 constants and their neighbours), and one for the shingle length.
_POSITION_MULTIPLIERS = (
    0x9E3779B97F4A7C15,
    0xBF58476D1CE4E5B9,
    0x94D049BB133111EB,
    0xD6E8FEB86659FD93,
    0xA0761D6478BD642F,
    0xE7037ED1A0B428DB,
    0x8EBC6AF09C88C6E3,
    0x589965CC75374CC3,
)
_POSITION_ARRAY = np.array(_POSITION_MULTIPLIERS, dtype=np.uint64)
_LENGTH_MULTIPLIER = 0xC2B2AE3D27D4EB4F
_MASK64 = (1 << 64) - 1
MAX_SHINGLE_SIZE = len(_POSITION_MULTIPLIERS)


def ocr_folded(text: str) -> str:
    """The OCR digit/letter confusions of robust tokens folded."""
    for digit, letter in _OCR_FOLD:
        text = text.replace(digit, letter)
    return text


def robust_tokens(words: Sequence[str] | str, prefix: int) -> list[str]:
    """Words (a list, or already joined by single spaces) with OCR digit/letter
    confusions folded, cut to `prefix` characters."""
    folded = ocr_folded(words if isinstance(words, str) else " ".join(words)).split(" ")
    # map(itemgetter(slice)): ~10 % faster than a list comprehension of slices.
    return folded if prefix <= 0 else list(map(operator.itemgetter(slice(0, prefix)), folded))


def finalise(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


def _shingles_of_tokens(
    token_hashes: list[int], lengths: Sequence[int], size: int
) -> tuple[np.ndarray, list[int]]:
    """Shingle hashes from a text's token hashes (all paragraphs, in order) and
    its paragraphs' word counts; also each paragraph's first shingle index.

    Every window of `size` tokens is combined at once (a strided view of the
    token array times the position multipliers); the shingles are the
    windows inside a paragraph, and the first window of each paragraph
    shorter than `size`, from which the tokens after the paragraph (and the
    length term of the missing ones) are taken out again.
    """
    count = len(token_hashes)
    padded = np.fromiter(token_hashes + [0] * (size - 1), dtype=np.uint64, count=count + size - 1)
    windows = np.ndarray((count, size), dtype=np.uint64, buffer=padded, strides=(8, 8))
    combined = windows @ _POSITION_ARRAY[:size]
    mask, firsts, short, deltas, first, start = [], [], [], [], 0, 0
    for length in lengths:
        firsts.append(first)
        shingles = max(length - size + 1, 1)
        mask.append(b"\x01" * shingles + b"\x00" * (length - shingles))
        if length < size:
            short.append(first)
            delta = (size - length) * _LENGTH_MULTIPLIER
            for offset in range(length, size):
                if start + offset < count:
                    delta += token_hashes[start + offset] * _POSITION_MULTIPLIERS[offset]
            deltas.append(delta & _MASK64)
        first += shingles
        start += length
    hashed = combined[np.frombuffer(b"".join(mask), dtype=bool)]
    hashed += np.uint64((size * _LENGTH_MULTIPLIER) & _MASK64)
    if short:
        hashed[short] -= np.array(deltas, dtype=np.uint64)
    return finalise(hashed), firsts


class Shingled(NamedTuple):
    """A text's content hash, word count and robust-token shingles.

    `hashes`: 64-bit shingle hashes in text order; `paragraph_words` and
    `paragraph_first`: each non-empty paragraph's word count and the index in
    `hashes` of its first shingle.
    """

    content_hash: str
    words: int
    hashes: np.ndarray
    paragraph_words: list[int]
    paragraph_first: list[int]


class ShingledBundle(NamedTuple):
    """`Shingled` of several texts at once: text i's shingle hashes are
    `hashes[bounds[i]:bounds[i + 1]]`; `paragraph_words[i]` its non-empty
    paragraphs' word counts."""

    content_hashes: list[str]
    paragraph_words: list[list[int]]
    hashes: np.ndarray
    bounds: np.ndarray


def _normal_words(text: str) -> tuple[str, list[int]]:
    """A raw text's normalised words joined by single spaces, and the word count
    of each non-empty paragraph."""
    text = _without_lone_surrogates(text)
    if _MARK in text:  # NUL is a word character: marks would be ambiguous
        paragraphs = paragraph_words(text)
        joined = " ".join(word for words in paragraphs for word in words)
        return joined, [len(words) for words in paragraphs]
    marked = _marked_normal_text(text)
    if not marked:
        return "", []
    lengths = [paragraph.count(" ") + 1 for paragraph in marked.split(f" {_MARK} ")]
    return marked.replace(f" {_MARK}", ""), lengths


def _paragraph_shingles(tokens: np.ndarray, lengths: np.ndarray, size: int) -> np.ndarray:
    """Shingle hashes of consecutive paragraphs (`lengths` words each) whose token
    hashes are `tokens` (padded with `size - 1` zeros), in order; what
    `_shingles_of_tokens` gives, for any number of texts in one set of calls.

    A shingle's hash is finalise(sum(token * position multiplier) + words *
    length multiplier) over its (up to `size`) words: every window of the
    token array is combined at once, the windows starting a shingle are kept,
    and the terms of the words a short paragraph's window runs past (the next
    paragraph's, or the padding) are taken out again.
    """
    count = tokens.size - (size - 1)
    windows = np.ndarray((count, size), dtype=np.uint64, buffer=tokens, strides=(8, 8))
    multipliers = _POSITION_ARRAY[:size]
    shingles = np.maximum(lengths - (size - 1), 1)
    starts = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    firsts = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(shingles[:-1], out=firsts[1:])
    # Token index of each shingle's first word.
    at = np.arange(int(shingles.sum()), dtype=np.int64) + np.repeat(starts - firsts, shingles)
    hashed = (windows @ multipliers)[at]
    hashed += np.uint64((size * _LENGTH_MULTIPLIER) & _MASK64)
    short = np.flatnonzero(lengths < size)
    if short.size:
        missing = np.arange(size) >= lengths[short, None]
        extra = np.where(missing, windows[starts[short]] * multipliers, np.uint64(0))
        delta = extra.sum(axis=1, dtype=np.uint64)
        delta += (size - lengths[short]).astype(np.uint64) * np.uint64(_LENGTH_MULTIPLIER)
        hashed[firsts[short]] -= delta
    return finalise(hashed)


def bundle_shingles(texts: Sequence[str], size: int, prefix: int) -> ShingledBundle:
    """`text_shingles` of many texts: each text is normalised on its own, then the
    robust tokens of all are cut, hashed and combined into shingles together
    (a few calls per bundle instead of per text; the per-call cost was most of
    the sketch's numpy time)."""
    if not 1 <= size <= MAX_SHINGLE_SIZE:
        raise ValueError(f"shingle size must be in [1, {MAX_SHINGLE_SIZE}]")
    normal = [_normal_words(text) for text in texts]
    digests = [hash_normalized(joined) for joined, _ in normal]
    paragraphs = [text_lengths for _, text_lengths in normal]
    lengths = [length for text_lengths in paragraphs for length in text_lengths]
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    if not lengths:
        return ShingledBundle(digests, paragraphs, np.zeros(0, dtype=np.uint64), bounds)
    # Joined by single spaces, the texts' words split back exactly (none is empty).
    joined = " ".join(joined for joined, _ in normal if joined)
    count = sum(lengths)
    tokens = np.zeros(count + size - 1, dtype=np.uint64)  # padded for the last windows
    if matches_rensa():  # rensa's hashes from the bytes, no string per token
        tokens[:count] = token_hashes(ocr_folded(joined), prefix)
    else:
        tokens[:count] = rensa.RMinHash.hash_token_sets([robust_tokens(joined, prefix)])[0]
    words = np.array(lengths, dtype=np.int64)
    hashes = _paragraph_shingles(tokens, words, size)
    owner = np.repeat(np.arange(len(texts)), [len(text_lengths) for text_lengths in paragraphs])
    per_text = np.bincount(owner, weights=np.maximum(words - (size - 1), 1), minlength=len(texts))
    np.cumsum(per_text.astype(np.int64), out=bounds[1:])
    return ShingledBundle(digests, paragraphs, hashes, bounds)


def text_shingles(text: str, size: int, prefix: int) -> Shingled:
    """Content hash, word count and robust-token shingle hashes of a raw text.

    The same as `content_hash(text)` and `shingle_hashes(paragraph_words(text),
    size, prefix)`, normalising the whole text in one pass (paragraph breaks
    become marks first) instead of paragraph by paragraph. (One text alone:
    `bundle_shingles` of one text makes twice the numpy calls.)
    """
    if not 1 <= size <= MAX_SHINGLE_SIZE:
        raise ValueError(f"shingle size must be in [1, {MAX_SHINGLE_SIZE}]")
    joined, lengths = _normal_words(text)
    if not joined:
        return Shingled(hash_normalized(""), 0, np.zeros(0, dtype=np.uint64), [], [])
    tokens = rensa.RMinHash.hash_token_sets([robust_tokens(joined, prefix)])[0]
    hashes, firsts = _shingles_of_tokens(tokens, lengths, size)
    return Shingled(hash_normalized(joined), sum(lengths), hashes, lengths, firsts)


def shingle_hashes(
    paragraphs: Sequence[Sequence[str]], size: int, prefix: int
) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of a text's robust-token `size`-shingles (in text order), and
    the number of shingles of each paragraph.

    Shingles never cross a paragraph break; a paragraph of `size` words or
    fewer is one shingle. Tokens are hashed once (rensa's fixed, unsalted
    token hash); a shingle's hash is sum(token hash * position multiplier) +
    length * multiplier, finalised (mod 2**64), computed with shifted views of
    the whole text's token array.
    """
    if not 1 <= size <= MAX_SHINGLE_SIZE:
        raise ValueError(f"shingle size must be in [1, {MAX_SHINGLE_SIZE}]")
    paragraphs = [words for words in paragraphs if words]
    if not paragraphs:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    lengths = [len(words) for words in paragraphs]
    joined = " ".join(word for words in paragraphs for word in words)
    tokens = rensa.RMinHash.hash_token_sets([robust_tokens(joined, prefix)])[0]
    hashes, _ = _shingles_of_tokens(tokens, lengths, size)
    return hashes, np.maximum(np.array(lengths, dtype=np.int64) - size + 1, 1)


def hash_shingles(shingle_lists: Sequence[Sequence[str]]) -> list[list[int]]:
    """Stable 64-bit hashes of shingle strings, one list per input list.

    rensa's token hash is fixed (not salted per process): checked by
    tests/test_dedup_minhash.py in subprocesses with different PYTHONHASHSEED.
    """
    if not shingle_lists:
        return []
    return rensa.RMinHash.hash_token_sets([list(s) for s in shingle_lists])
