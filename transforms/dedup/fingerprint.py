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
per shingle, i.e. every word four times. Measured, the whole sketch costs
about what it did (the robust tokens, anchors and opening keys spend the
saving): benchmarks/README.md, "Sketch cost".
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


def _fold(text: str) -> str:
    """NFKC + casefold (Unicode's NFKC_Casefold, approximately)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _normalize_fragment(text: str) -> list[str]:
    # ASCII punctuation/symbols through a bytes table, then the few other characters.
    folded = _fold(text).encode("utf-8", "surrogatepass").translate(_ASCII_TABLE)
    text = folded.decode("utf-8", "surrogatepass")
    if not text.isascii():
        text = _NON_ASCII.sub(_char_class, text)
    return text.split()


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
_LENGTH_MULTIPLIER = 0xC2B2AE3D27D4EB4F
_MASK64 = (1 << 64) - 1
MAX_SHINGLE_SIZE = len(_POSITION_MULTIPLIERS)


def robust_tokens(words: Sequence[str] | str, prefix: int) -> list[str]:
    """Words (a list, or already joined by single spaces) with OCR digit/letter
    confusions folded, cut to `prefix` characters."""
    text = words if isinstance(words, str) else " ".join(words)
    for digit, letter in _OCR_FOLD:
        text = text.replace(digit, letter)
    folded = text.split(" ")
    return folded if prefix <= 0 else [token[:prefix] for token in folded]


def finalise(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


def shingle_hashes(
    paragraphs: Sequence[Sequence[str]], size: int, prefix: int, joined: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of a text's robust-token `size`-shingles (in text order), and
    the number of shingles of each paragraph.

    Shingles never cross a paragraph break; a paragraph of `size` words or
    fewer is one shingle. Tokens are hashed once (rensa's fixed, unsalted
    token hash); a shingle's hash is sum(token hash * position multiplier) +
    length * multiplier, finalised (mod 2**64), computed with shifted views of
    the whole text's token array. `joined`: the paragraphs' words joined by
    single spaces, when the caller has it already (the content hash needs it).
    """
    if not paragraphs:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    if size > MAX_SHINGLE_SIZE:
        raise ValueError(f"shingle size must be <= {MAX_SHINGLE_SIZE}")
    if joined is None:
        joined = " ".join(word for words in paragraphs for word in words)
    tokens = robust_tokens(joined, prefix)
    token_hashes = rensa.RMinHash.hash_token_sets([tokens])[0]
    flat = np.array(token_hashes, dtype=np.uint64)
    lengths = np.fromiter((len(words) for words in paragraphs), dtype=np.int64)
    ends = np.cumsum(lengths)
    count = len(tokens) - size + 1  # windows over the whole text, crossing breaks or not
    with np.errstate(over="ignore"):
        if count > 0:
            combined = flat[:count] * np.uint64(_POSITION_MULTIPLIERS[0])
            for offset in range(1, size):
                combined += flat[offset : offset + count] * np.uint64(_POSITION_MULTIPLIERS[offset])
            combined += np.uint64((size * _LENGTH_MULTIPLIER) & _MASK64)
            # A window is a shingle when it ends inside the paragraph it starts in.
            paragraph_end = np.repeat(ends, lengths)[:count]
            hashed = combined[np.arange(size, count + size) <= paragraph_end]
        else:
            hashed = np.zeros(0, dtype=np.uint64)
        short = np.flatnonzero(lengths < size)
        if short.size:  # headlines, datelines: one shingle of the whole paragraph
            values, at = [], []
            for paragraph in short.tolist():
                end = int(ends[paragraph])
                start = end - int(lengths[paragraph])
                value = int(lengths[paragraph]) * _LENGTH_MULTIPLIER
                for offset, token_hash in enumerate(token_hashes[start:end]):
                    value += token_hash * _POSITION_MULTIPLIERS[offset]
                values.append(value & _MASK64)
                # Shingles of the long paragraphs before this one.
                at.append(int(np.maximum(lengths[:paragraph] - size + 1, 0).sum()))
            hashed = np.insert(hashed, at, np.array(values, dtype=np.uint64))
        hashed = finalise(hashed)
    return hashed, np.maximum(lengths - size + 1, 1)


def hash_shingles(shingle_lists: Sequence[Sequence[str]]) -> list[list[int]]:
    """Stable 64-bit hashes of shingle strings, one list per input list.

    rensa's token hash is fixed (not salted per process): checked by
    tests/test_dedup_minhash.py in subprocesses with different PYTHONHASHSEED.
    """
    if not shingle_lists:
        return []
    return rensa.RMinHash.hash_token_sets([list(s) for s in shingle_lists])
