"""Article text -> weighted terms (pure, no Beam, no model).

Language-independent on purpose: words cut to a prefix (a crude stemmer that
works for any alphabet), with extra weight for what tells one event from
another of the same kind and survives translation: capitalised names that do
not merely start a sentence, and numbers (years, tolls, amounts). Weights
here are term frequencies with those boosts; the inverse document frequency
comes from the stream (clusterer.DocumentFrequencies).
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections import Counter

import regex

from newsbeam.transforms.story.config import StoryConfig

# Words (letters with their combining marks) and numbers, found by the regex engine
# rather than a Python loop per token; "U.S." and "1,500" become "U", "S" and "1",
# "500", which is fine for overlap counting.
_WORD = regex.compile(r"[\p{L}\p{M}]{3,}")
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
    names the event, and a long article should not cost more than that.
    """
    weights: dict[str, float] = {}
    counts: Counter[str] = Counter()
    for part, field_boost in ((title or "", config.title_weight), (text, 1.0)):
        part = part[: config.max_chars]
        if not part:
            continue
        fold = functools.partial(_fold, prefix=config.token_prefix)
        words = Counter(map(fold, _WORD.findall(part)))
        numbers = Counter(_NUMBER.findall(part))
        names = set(map(fold, _NAME.findall(part)))
        name_boost = config.name_weight * field_boost
        number_boost = config.number_weight * field_boost
        for term in words:
            boost = name_boost if term in names else field_boost
            if boost > weights.get(term, 0.0):
                weights[term] = boost
        for term in numbers:
            if number_boost > weights.get(term, 0.0):
                weights[term] = number_boost
        counts.update(words)
        counts.update(numbers)
    return {term: (1.0 + math.log(n)) * weights[term] for term, n in counts.items()}


@functools.lru_cache(maxsize=1 << 16)
def _fold(token: str, prefix: int) -> str:
    # Case and accents folded: "Bogotá"/"Bogota", "Müller"/"Muller" are one name
    # across outlets and languages. Cached: a stream repeats its words.
    folded = token.casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return folded[:prefix] if prefix else folded
