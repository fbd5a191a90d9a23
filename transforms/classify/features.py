"""Text -> hashed sparse feature rows for the topic model (pure, Beam-free).

Features are hashed word unigrams, word bigrams, character n-grams and
(optionally) the capitalised words as written, each group weighted by
sublinear term frequency (1 + log tf), optionally scaled by an inverse
document frequency learned at training time, L2-normalised per group and
summed into one vector of ``2**hash_bits`` columns.

The hash is our own and fully specified here (a polynomial hash over Unicode
code points mod 2**64 followed by the splitmix64 finaliser), computed with
numpy over a whole batch at once. It depends on nothing but numpy's uint64
arithmetic, so a model file keeps meaning the same thing across Python,
numpy and scikit-learn releases, and it is fast: no Python work per token.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

# Odd multiplier for the polynomial hash, so it is invertible mod 2**64.
_P = 0x100000001B3
_P_INV = pow(_P, -1, 2**64)
_SPACE = ord(" ")
# Salts keep the feature groups (and each n) apart in the shared hash space.
_SALT_WORD = 0x9E3779B97F4A7C15
_SALT_BIGRAM = 0xC2B2AE3D27D4EB4F
_SALT_CHAR = 0x165667B19E3779F9
_SALT_CAPITALISED = 0x27D4EB2F165667C5

# AG News and many feeds carry HTML entities with the leading '&' lost
# ("Japan #39;s", "quot;abhorrent quot;"); repair them before unescaping.
_BROKEN_NUMERIC_ENTITY = re.compile(r"(?<!&)#(\d{2,5});")
_BROKEN_NAMED_ENTITY = re.compile(r"(?<![&\w])(quot|amp|lt|gt|apos|nbsp);")
_NON_WORD = re.compile(r"[\W_]+")
# How much of a long text is decoded first (`_lead`): generous for English.
_LEAD_CHARS_PER_WORD = 8
_DIGIT = re.compile(r"\d")
_ASCII_DIGITS_TO_0 = bytes.maketrans(b"123456789", b"000000000")
_ASCII_SEPARATORS_TO_SPACE = {code: " " for code in range(128) if not chr(code).isalnum()}


@dataclass(frozen=True)
class FeatureConfig:
    """How text becomes a feature vector; saved inside every model file."""

    hash_bits: int = 20
    word_weight: float = 1.0
    bigram_weight: float = 1.0
    char_weight: float = 1.0
    char_min: int = 2
    char_max: int = 5
    # True: character n-grams stay inside words (padded by spaces, like
    # scikit-learn's "char_wb"); False: they may span a word boundary.
    char_within_words: bool = True
    sublinear_tf: bool = True
    use_idf: bool = True
    fold_digits: bool = True
    # Words that start with a capital letter, kept as written ("Apple",
    # "NASA", "Bush"): names and acronyms carry the topic, and case tells the
    # company from the fruit. 0 turns the group off.
    capitalised_weight: float = 0.0
    # Only the headline and lead are read: AG News-style training text is a
    # headline plus one or two sentences, and long bodies cost time for
    # little gain (see benchmarks/README.md).
    max_words: int = 250

    def __post_init__(self) -> None:
        if not 10 <= self.hash_bits <= 24:
            raise ValueError(f"hash_bits must be in 10..24, got {self.hash_bits}")
        if not 1 <= self.char_min <= self.char_max <= 8:
            raise ValueError("need 1 <= char_min <= char_max <= 8")
        if self.max_words < 1:
            raise ValueError("max_words must be >= 1")
        weights = (self.word_weight, self.bigram_weight, self.char_weight, self.capitalised_weight)
        if min(weights) < 0:
            raise ValueError("feature group weights must be >= 0")

    @property
    def n_features(self) -> int:
        return 1 << self.hash_bits

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown feature settings: {sorted(unknown)}")
        return cls(**data)


def _decoded(text: str | None, fold_digits: bool) -> str:
    """Entities decoded, NFKC, digits optionally folded to 0; case kept."""
    if not text:
        return ""
    # Both repairs need a ';' (the numeric one a '#' too): the `in` tests spare most
    # texts two regex scans whose lookbehinds run at every position.
    if ";" in text:
        if "#" in text:
            text = _BROKEN_NUMERIC_ENTITY.sub(r"&#\1;", text)
        text = _BROKEN_NAMED_ENTITY.sub(r"&\1;", text)
    text = unicodedata.normalize("NFKC", html.unescape(text))
    if not fold_digits:
        return text
    # Digits have no case, so folding them before case folding is the same. In
    # ASCII text `\d` is 0-9 only, which a byte table folds several times faster.
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_DIGITS_TO_0).decode("ascii")
    return _DIGIT.sub("0", text)


class _Lead:
    """The decoded start of a text: all of it when short, a prefix when long.

    Decoding is local, so a prefix of the text decodes to a prefix of the
    decoded text. A long body is decoded and split only as far as the words
    read; when the prefix turns out to hold too few words, the whole text is.
    """

    __slots__ = ("cut", "fold_digits", "head", "text")

    def __init__(self, text: str | None, fold_digits: bool, max_words: int) -> None:
        limit = _LEAD_CHARS_PER_WORD * max_words
        self.text = text
        self.fold_digits = fold_digits
        self.cut = bool(text) and max_words > 0 and len(text) > limit
        self.head = _decoded(text[:limit] if self.cut else text, fold_digits)

    def words(self, max_words: int, *, casefold: bool) -> list[str]:
        """The first ``max_words`` words (all when 0), case-folded or as written."""
        head = self.head.casefold() if casefold else self.head
        words = _first_words(head, max_words, complete=not self.cut)
        if words is None:
            whole = _decoded(self.text, self.fold_digits)
            words = _first_words(whole.casefold() if casefold else whole, max_words)
        assert words is not None
        return words


def _padded(words: list[str]) -> str:
    return " " + " ".join(words) + " " if words else " "


def _first_words(text: str, max_words: int, *, complete: bool = True) -> list[str] | None:
    """The words of ``text`` (runs between `_NON_WORD` separators), at most ``max_words``.

    Splitting stops two words after the words needed, so long bodies are not
    tokenised to the end; the last part is then the unsplit rest. For a text
    cut short (``complete`` False) that runs out of separators first, None:
    the words read may go on past the cut.
    """
    if text.isascii():
        return _first_ascii_words(text, max_words, complete=complete)
    if not max_words:
        return [part for part in _NON_WORD.split(text) if part]
    parts = _NON_WORD.split(text, maxsplit=max_words + 2)
    if len(parts) == max_words + 3:
        parts.pop()
    elif not complete:
        return None
    return [part for part in parts if part][:max_words]


def _first_ascii_words(text: str, max_words: int, *, complete: bool) -> list[str] | None:
    """`_first_words` of an ASCII text, the same words and the same None, without regex.

    In ASCII, `_NON_WORD` is every character but a letter or a digit: mapped to
    spaces, str.split finds the same words, three times faster. `_first_words` cut
    at ``max_words + 2`` separator runs; whether the text has that many decides None.
    """
    spaced = text.translate(_ASCII_SEPARATORS_TO_SPACE)
    if not max_words:
        return spaced.split()
    runs_needed = max_words + 2
    words = spaced.split(None, runs_needed)
    if len(words) > runs_needed:  # the last item is an unsplit rest: more words follow
        return words[:max_words]
    if not complete:
        # Separator runs: between the words, and one at either end if it has one.
        ends = spaced.startswith(" ") + spaced.endswith(" ")
        runs = len(words) - 1 + ends if words else min(len(spaced), 1)
        if runs < runs_needed:
            return None
    return words[:max_words]


def _folded_doc(lead: _Lead, max_words: int) -> str:
    return _padded(lead.words(max_words, casefold=True))


def _capitalised_doc(lead: _Lead, max_words: int) -> str:
    return _padded([w for w in lead.words(max_words, casefold=False) if w[:1].isupper()])


def normalize_text(text: str | None, *, fold_digits: bool = True, max_words: int = 0) -> str:
    """Lower-cased words separated by single spaces, padded by one space each side.

    Apostrophes split words ("Iraq's" and the tokenised "Iraq 's" agree), HTML
    entities are decoded, digits optionally become 0 so that "28 points" and
    "31 points" share features.
    """
    return _folded_doc(_Lead(text, fold_digits, max_words), max_words)


def capitalised_words(text: str | None, *, fold_digits: bool = True, max_words: int = 0) -> str:
    """The words (of the first ``max_words``) that start with an upper-case letter, as written.

    Same tokens as `normalize_text` without case folding, padded the same way.
    """
    return _capitalised_doc(_Lead(text, fold_digits, max_words), max_words)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the output bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@dataclass
class _PowerTable:
    """Cached P**i and P**-i mod 2**64, grown on demand."""

    pow: np.ndarray = field(default_factory=lambda: np.ones(1, dtype=np.uint64))
    inv: np.ndarray = field(default_factory=lambda: np.ones(1, dtype=np.uint64))

    def ensure(self, n: int) -> None:
        if len(self.pow) >= n:
            return
        size = max(n, 2 * len(self.pow))
        with np.errstate(over="ignore"):
            self.pow = np.concatenate(
                ([np.uint64(1)], np.cumprod(np.full(size - 1, _P, dtype=np.uint64)))
            )
            self.inv = np.concatenate(
                ([np.uint64(1)], np.cumprod(np.full(size - 1, _P_INV, dtype=np.uint64)))
            )


_POWERS = _PowerTable()


class _Batch:
    """A batch of normalised documents as one code-point array with prefix hashes."""

    def __init__(self, docs: Sequence[str]) -> None:
        joined = "".join(docs)
        self.codes = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        self.doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        n = len(self.codes)
        _POWERS.ensure(n + 1)
        # prefix[i] = sum_{j<i} c_j * P**j  (mod 2**64); the hash of codes[a:b]
        # is (prefix[b] - prefix[a]) * P**-a = sum_k c_{a+k} * P**k.
        self.prefix = np.zeros(n + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            np.cumsum(self.codes * _POWERS.pow[:n], out=self.prefix[1:])

    def span_hash(self, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (self.prefix[stop] - self.prefix[start]) * _POWERS.inv[start]


def _first_of_runs(ordered: np.ndarray) -> np.ndarray:
    """True where a sorted array's value differs from the one before (and at 0)."""
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def _unique_counts(keys: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(keys, return_counts=True)` for 1-d int64 keys in [0, bound), faster.

    Keys that fit in 32 bits (a batch of 256 documents at 2**20 columns: 2**28) are
    sorted as int32, about twice as fast as int64; the unique keys come back as int64.
    """
    if bound <= np.iinfo(np.int32).max:
        keys = keys.astype(np.int32)
    ordered = np.sort(keys)
    starts = np.flatnonzero(_first_of_runs(ordered))
    return ordered[starts].astype(np.int64), np.diff(starts, append=len(ordered))


def _group_entries(
    docs: np.ndarray,
    hashes: np.ndarray,
    n_docs: int,
    weight: float,
    config: FeatureConfig,
    idf: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """One feature group as sorted unique (doc, column) keys and their values.

    Values are (sublinear) counts times idf, L2-normalised per document and
    scaled by the group's weight. Unsigned on purpose: every value stays >= 0,
    which the naive Bayes half of the model needs.
    """
    columns = (_mix(hashes) >> np.uint64(64 - config.hash_bits)).astype(np.int64)
    keys, counts = _unique_counts((docs << config.hash_bits) | columns, n_docs << config.hash_bits)
    values = counts.astype(np.float64)
    if config.sublinear_tf:
        values = 1.0 + np.log(values)
    if idf is not None:
        values *= idf[keys & (config.n_features - 1)]
    rows = keys >> config.hash_bits
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n_docs))
    values *= weight / norms[rows]
    return keys, values


def _assemble(
    keys: list[np.ndarray], values: list[np.ndarray], n_docs: int, config: FeatureConfig
) -> sparse.csr_matrix:
    """Sum the groups' entries (they may share a column) into one CSR matrix."""
    if not keys:
        return sparse.csr_matrix((n_docs, config.n_features), dtype=np.float32)
    all_keys = np.concatenate(keys)
    # Each group's keys are sorted already, so a stable sort (timsort) only merges
    # a few runs; stable also keeps each column's values in group order, so the
    # sums below are added in the same order as before, to the last bit.
    order = np.argsort(all_keys, kind="stable")
    merged = all_keys[order]
    first = _first_of_runs(merged)
    unique_keys = merged[first]
    position = np.cumsum(first) - 1
    data = np.bincount(position, weights=np.concatenate(values)[order]).astype(np.float32)
    rows = unique_keys >> config.hash_bits
    indptr = np.searchsorted(rows, np.arange(n_docs + 1))
    indices = (unique_keys & (config.n_features - 1)).astype(np.int32)
    return sparse.csr_matrix((data, indices, indptr), shape=(n_docs, config.n_features))


def _word_spans(is_space: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop of every word in a batch of " w1 w2 ... wn " documents.

    Every document starts and ends with a space, so words never run across
    documents.
    """
    boundary = np.flatnonzero(np.diff(is_space.astype(np.int8)))
    return boundary[0::2] + 1, boundary[1::2] + 1


def _room_to_next_space(is_space: np.ndarray) -> np.ndarray:
    """For every position i, (the first space after i) - i; past the last space,
    the distance to the end of the batch."""
    n = len(is_space)
    positions = np.arange(n, dtype=np.int64)
    space_at = np.where(is_space, positions, n)
    # The first space at or after each position, then shifted by one: after it.
    at_or_after = np.minimum.accumulate(space_at[::-1])[::-1]
    after = np.empty(n, dtype=np.int64)
    after[:-1] = at_or_after[1:]
    after[-1:] = n
    return after - positions


def hashed_features(
    texts: Sequence[str | None],
    config: FeatureConfig,
    idf: np.ndarray | None = None,
) -> sparse.csr_matrix:
    """One feature row per text (float32 CSR, ``config.n_features`` columns)."""
    leads = [_Lead(t, config.fold_digits, config.max_words) for t in texts]
    docs = [_folded_doc(lead, config.max_words) for lead in leads]
    n_docs = len(docs)
    keys: list[np.ndarray] = []
    values: list[np.ndarray] = []
    if n_docs == 0:
        return _assemble(keys, values, n_docs, config)

    def add_group(docs_of: np.ndarray, hashes: np.ndarray, weight: float) -> None:
        group_keys, group_values = _group_entries(docs_of, hashes, n_docs, weight, config, idf)
        keys.append(group_keys)
        values.append(group_values)

    batch = _Batch(docs)
    is_space = batch.codes == _SPACE
    word_start, word_stop = _word_spans(is_space)

    if len(word_start) and (config.word_weight or config.bigram_weight):
        word_hash = batch.span_hash(word_start, word_stop)
        word_doc = batch.doc_of[word_start]
        if config.word_weight:
            add_group(word_doc, word_hash ^ np.uint64(_SALT_WORD), config.word_weight)
        same_doc = word_doc[1:] == word_doc[:-1]
        if config.bigram_weight and same_doc.any():
            with np.errstate(over="ignore"):
                first = _mix(word_hash[:-1] ^ np.uint64(_SALT_BIGRAM))
                pair = first * np.uint64(_P) + word_hash[1:]
            add_group(word_doc[:-1][same_doc], pair[same_doc], config.bigram_weight)

    if config.char_weight:
        char_docs: list[np.ndarray] = []
        char_hashes: list[np.ndarray] = []
        n_codes = len(batch.codes)
        if config.char_within_words:
            word_room = _room_to_next_space(is_space)
        for n in range(config.char_min, config.char_max + 1):
            if n_codes < n:
                break
            if config.char_within_words and n > 2:
                # No space strictly inside [start, start + n). That also keeps the
                # n-gram inside one document: the two spaces where documents meet
                # would be inside it.
                start = np.flatnonzero(word_room[: n_codes - n + 1] >= n - 1)
                stop = start + n
            else:
                start = np.arange(n_codes - n + 1, dtype=np.int64)
                stop = start + n
                keep = batch.doc_of[start] == batch.doc_of[stop - 1]
                if n == 1:
                    keep &= ~is_space[start]  # documents hold single spaces only
                start, stop = start[keep], stop[keep]
            salt = np.uint64((_SALT_CHAR * n) % 2**64)
            char_hashes.append(batch.span_hash(start, stop) ^ salt)
            char_docs.append(batch.doc_of[start])
        if char_hashes:
            add_group(np.concatenate(char_docs), np.concatenate(char_hashes), config.char_weight)

    if config.capitalised_weight:
        capitalised = _Batch([_capitalised_doc(lead, config.max_words) for lead in leads])
        start, stop = _word_spans(capitalised.codes == _SPACE)
        if len(start):
            hashes = capitalised.span_hash(start, stop) ^ np.uint64(_SALT_CAPITALISED)
            add_group(capitalised.doc_of[start], hashes, config.capitalised_weight)

    return _assemble(keys, values, n_docs, config)
