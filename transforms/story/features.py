"""Article text -> weighted terms (pure, no Beam, no model).

Language-independent on purpose: words cut to a prefix (a crude stemmer that
works for any alphabet), with extra weight for what tells one event from
another of the same kind and survives translation: capitalised names that do
not merely start a sentence, and numbers (years, tolls, amounts). Weights
here are term frequencies with those boosts; the inverse document frequency
comes from the stream (clusterer.DocumentFrequencies).
"""

from __future__ import annotations

import math
import operator
import unicodedata
from collections import Counter

import regex

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
# A name: a capitalised word whose previous token is on the same sentence (a word,
# number, comma or bracket before it, not a full stop, quote, colon or dash), so
# the capital is not merely the start of a sentence.
_NAME = regex.compile(
    r"(?<=[\p{L}\p{M}\p{Nd}][^\p{L}\p{M}\p{Nd}.!?:;\n\"“”«»—–|•\-]*)"
    r"(?<![\p{L}\p{M}])\p{Lu}[\p{L}\p{M}]{2,}"
)


def term_weights(text: str, title: str | None, config: StoryConfig) -> dict[str, float]:
    """Sublinear term frequency times the strongest boost the term received.

    Only the first `config.max_chars` characters of the body are read: the lead
    names the event, and a long article should not cost more than that. Terms come
    in the order they are first seen (title words, title numbers, body words, body
    numbers): the core breaks ties between equal weights by that order.
    """
    weights: dict[str, float] = {}
    occurrences: list[str] = []  # every term as often as it occurs, in that order
    for part, field_boost in ((title or "", config.title_weight), (text, 1.0)):
        part = part[: config.max_chars]
        if not part:
            continue
        words = _folded(_words(part), config.token_prefix)
        numbers = _NUMBER.findall(part)
        occurrences += words
        occurrences += numbers
        # Words and numbers never share a term (letters vs digits); a name is a word.
        boosts = dict.fromkeys(words, field_boost)
        names = set(_folded(_NAME.findall(part), config.token_prefix))
        boosts.update(dict.fromkeys(names & boosts.keys(), config.name_weight * field_boost))
        boosts.update(dict.fromkeys(numbers, config.number_weight * field_boost))
        # A term of both the title and the body keeps the stronger boost.
        for term in weights.keys() & boosts.keys():
            if weights[term] > boosts[term]:
                boosts[term] = weights[term]
        weights.update(boosts)
    counts = Counter(occurrences)
    # (1 + log n) * boost per term, iterated in C (1 + log n from a table: a third of
    # the cost of math.log on each count).
    sublinear = map(_SUBLINEAR.__getitem__, counts.values())
    return dict(
        zip(counts, map(operator.mul, sublinear, map(weights.__getitem__, counts)), strict=True)
    )


class _SublinearCounts(dict[int, float]):
    """n -> 1 + log n, filled on first use (n is bounded by the characters read)."""

    def __missing__(self, count: int) -> float:
        value = self[count] = 1.0 + math.log(count)
        return value


_SUBLINEAR = _SublinearCounts()


# Folded form of each word seen, per token prefix: a stream repeats its words. Cleared
# when full (a stream also sees new words for ever).
_FOLDED: dict[int, dict[str, str]] = {}
_FOLDED_MAX = 1 << 17


def _words(part: str) -> list[str]:
    """Runs of 3+ letters and combining marks, in order."""
    spaced = part.encode("utf-8", "surrogatepass").translate(_ASCII_LETTERS_ONLY)
    text = spaced.decode("utf-8", "surrogatepass")
    if not text.isascii():
        text = _NON_ASCII_NON_LETTERS.sub(" ", text)
    return [word for word in text.split() if len(word) >= 3]


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
