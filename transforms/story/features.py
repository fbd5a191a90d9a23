"""Article text -> weighted terms (pure, no Beam, no model).

Language-independent on purpose: words cut to a prefix (a crude stemmer that
works for any alphabet; Chinese and Japanese, written without spaces, by script:
Han bigrams and katakana words), with extra weight for what tells one event from
another of the same kind and survives translation: capitalised names that do
not merely start a sentence, and numbers (years, tolls, amounts). Weights
here are term frequencies with those boosts; the inverse document frequency
comes from the stream (clusterer.DocumentFrequencies).
"""

from __future__ import annotations

import operator
import unicodedata

import regex

from newsbeam.transforms.story import kernels
from newsbeam.transforms.story.config import StoryConfig

# Words: runs of 3+ letters with their combining marks (what `[\p{L}\p{M}]{3,}` finds,
# at half its cost: ASCII through a bytes table, other characters that are neither
# letters nor marks through one regex substitution, then a split). Numbers by the
# regex engine. "U.S." and "1,500" become "U", "S" and "1", "500", which is fine for
# overlap counting.
_ASCII_LETTERS_ONLY = bytes(
    code if code >= 0x80 or chr(code).isalpha() else ord(" ") for code in range(256)
)
_NON_ASCII_NON_LETTERS = regex.compile(r"[^\x00-\x7f\p{L}\p{M}]+")
_NUMBER = regex.compile(r"(?<!\p{Nd})\p{Nd}{2,}")
# Chinese and Japanese are written without spaces: a run of their characters is a
# clause, and its first six characters are not a word two outlets share. Within such a
# run, by script (no dictionary, the same rules for both languages):
# - Han characters as overlapping bigrams ("石川県能登" -> 石川, 川県, 県能, 能登), as
#   search engines index CJK text (Lucene's CJKBigramFilter): a two-character word
#   (東京, 地震) is a term of its own, a longer one shares its bigrams;
# - a katakana run is one word (loanwords and foreign names: トランプ, マグニチュード);
#   the prolonged sound mark (ー) is of no script but belongs to the word it ends;
# - hiragana is left out: particles, endings and auxiliaries (によると, した), the
#   grammar of any sentence, not the news of one, as were most bigrams across a
#   script change (て震, を観): with them two outlets' reports of one quake scored
#   0.51, without them 0.64 (clause prefixes: 0.14, below the threshold).
_UNSPACED = regex.compile(r"([\p{Han}\p{Hiragana}\p{Katakana}\u30fc]+)")
# Kana and Han are at U+3000 and above (but for the Kangxi radicals, U+2E80-U+2FDF,
# which no news text uses alone): UTF-8 lead bytes E3-F4. A byte scan in C first, so
# that text with curly quotes and dashes (E2) pays no scan by script.
_CJK_LEAD_BYTE = regex.compile(rb"[\xe3-\xf4]")
_HAN_OR_KATAKANA = regex.compile(r"(\p{Han}+)|([\p{Katakana}\u30fc]+)")
# A name: a capitalised word whose previous token is on the same sentence (a word,
# number, comma or bracket before it, not a full stop, quote, colon or dash), so
# the capital is not merely the start of a sentence.
_SENTENCE_BREAKS = r".!?:;\n\"“”«»—–|•\-"
_NAME = regex.compile(
    rf"(?<=[\p{{L}}\p{{M}}\p{{Nd}}][^\p{{L}}\p{{M}}\p{{Nd}}{_SENTENCE_BREAKS}]*)"
    r"(?<![\p{L}\p{M}])\p{Lu}[\p{L}\p{M}]{2,}"
)

# The C kernels find words, numbers and names in one pass over a part
# (`kernels.NATIVE.scan_part`, ~4x cheaper than the three patterns; benchmarks/README.md,
# "One scan for the features"), from each character's class by the same regex
# properties. The table stops below U+3000: text with Chinese or Japanese (or emoji)
# goes through the patterns, as with the Python kernels.
_SCANNED_BELOW = 0x3000


def _character_classes() -> bytes:
    """One byte per code point below `_SCANNED_BELOW`, the bits of _native.c's
    LETTER_OR_MARK (1), UPPERCASE (2), DIGIT (4) and SENTENCE_BREAK (8)."""
    characters = "".join(map(chr, range(_SCANNED_BELOW)))
    classes = bytearray(_SCANNED_BELOW)
    for bit, pattern in (
        (1, r"[\p{L}\p{M}]"),
        (2, r"\p{Lu}"),
        (4, r"\p{Nd}"),
        (8, rf"[{_SENTENCE_BREAKS}]"),
    ):
        for match in regex.finditer(pattern, characters):
            classes[match.start()] |= bit
    return bytes(classes)


_CHARACTER_CLASSES = _character_classes()


def term_weights(text: str, title: str | None, config: StoryConfig) -> dict[str, float]:
    """Sublinear term frequency times the strongest boost the term received.

    Only the first `config.max_chars` characters of the body are read: the lead
    names the event, and a long article should not cost more than that. Terms come
    in the order they are first seen (title words, title numbers, body words, body
    numbers): the core breaks ties between equal weights by that order.
    """
    parts: list[tuple[list[str], list[str], set[str], float]] = []
    for part, field_boost in ((title or "", config.title_weight), (text, 1.0)):
        part = part[: config.max_chars]
        if not part:
            continue
        scanned = kernels.ACTIVE.scan_part(part, _CHARACTER_CLASSES)
        if scanned is None:
            scanned = _words(part), _NUMBER.findall(part), _NAME.findall(part)
        words, numbers, names = scanned
        words = _folded(words, config.token_prefix)
        if not all(map(str.isascii, numbers)):
            numbers = [number.translate(_ASCII_DIGITS) for number in numbers]
        names = set(_folded(names, config.token_prefix))
        parts.append((words, numbers, names, field_boost))
    return kernels.ACTIVE.boosted_counts(parts, config.name_weight, config.number_weight)


class _AsciiDigitTable(dict[int, int]):
    """A digit of any script -> the ASCII digit of its value, for str.translate:
    "２０２４" (full-width, common in Japanese and Chinese news) and "٢٠٢٤"
    (Arabic-Indic) are the number 2024 of an English report. Filled on first use."""

    def __missing__(self, code: int) -> int:
        value = unicodedata.decimal(chr(code), None)
        if value is None:  # a digit this Python's Unicode data does not know: kept
            raise LookupError(code)
        self[code] = ord("0") + value
        return self[code]


_ASCII_DIGITS = _AsciiDigitTable()


# Folded form of each word seen, per token prefix: a stream repeats its words. Cleared
# when full (a stream also sees new words for ever).
_FOLDED: dict[int, dict[str, str]] = {}
_FOLDED_MAX = 1 << 17


def _words(part: str) -> list[str]:
    """Runs of 3+ letters and combining marks, in order (Chinese and Japanese by
    script: `_with_bigrams`)."""
    spaced = part.encode("utf-8", "surrogatepass").translate(_ASCII_LETTERS_ONLY)
    text = spaced.decode("utf-8", "surrogatepass")
    if not text.isascii():
        text = _NON_ASCII_NON_LETTERS.sub(" ", text)
        if _CJK_LEAD_BYTE.search(spaced):
            # split() with a group: other text at even positions, unspaced runs at odd.
            segments = _UNSPACED.split(text)
            if len(segments) > 1:
                return _with_bigrams(segments)
    return kernels.ACTIVE.long_words(text, 3)


def _with_bigrams(segments: list[str]) -> list[str]:
    """`_words` of a text with Chinese or Japanese runs (`_UNSPACED.split`): Han
    characters as bigrams, katakana runs of 2+ as words, hiragana left out (a lone Han
    character too, as a word of fewer than 3 letters is); the rest as words; in order."""
    words: list[str] = []
    for position, segment in enumerate(segments):
        if not position % 2:
            words += [word for word in segment.split() if len(word) >= 3]
            continue
        for han, katakana in _HAN_OR_KATAKANA.findall(segment):
            if han:
                words += map(operator.add, han, han[1:])
            elif len(katakana) >= 2:
                words.append(katakana)
    return words


def _folded(tokens: list[str], prefix: int) -> list[str]:
    """The tokens folded and cut to the prefix, in order."""
    cache = _FOLDED.setdefault(prefix, {})
    folded = list(map(cache.get, tokens))  # a dict lookup per token, iterated in C
    if None in folded:
        if len(cache) > _FOLDED_MAX:
            cache.clear()
        for position, value in enumerate(folded):
            if value is None:
                token = tokens[position]
                folded[position] = cache[token] = _fold(token, prefix)
    return folded


def _fold(token: str, prefix: int) -> str:
    # Case and accents folded: "Bogotá"/"Bogota", "Müller"/"Muller" are one name
    # across outlets and languages.
    folded = token.casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return folded[:prefix] if prefix else folded
