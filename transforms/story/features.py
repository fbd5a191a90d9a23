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
import unicodedata

import regex

from newsbeam.transforms.story.config import StoryConfig

# Letters (with their combining marks) or digits; "U.S." and "1,500" become
# "u", "s" and "1", "500", which is fine for overlap counting.
_TOKEN = regex.compile(r"[\p{L}\p{M}]+|\p{Nd}+")
# What ends a sentence: the next capitalised word is not evidence of a name.
_SENTENCE_END = frozenset('.!?:;\n"“”«»—–-|•')
_MIN_WORD = 3
_MIN_NUMBER = 2


def term_weights(text: str, title: str | None, config: StoryConfig) -> dict[str, float]:
    """Sublinear term frequency times the strongest boost the term received."""
    counts: dict[str, int] = {}
    boosts: dict[str, float] = {}
    for part, field_boost in ((title or "", config.title_weight), (text, 1.0)):
        _count(part, field_boost, config, counts, boosts)
    return {term: (1.0 + math.log(n)) * boosts[term] for term, n in counts.items()}


def _count(
    text: str,
    field_boost: float,
    config: StoryConfig,
    counts: dict[str, int],
    boosts: dict[str, float],
) -> None:
    prefix = config.token_prefix or None
    previous_end = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        start = match.start()
        gap = text[previous_end:start]
        previous_end = match.end()
        if token.isdigit():
            if len(token) < _MIN_NUMBER:
                continue
            term = token
            boost = config.number_weight
        else:
            if len(token) < _MIN_WORD:
                continue
            term = _fold(token)[:prefix]
            sentence_start = start == 0 or any(ch in _SENTENCE_END for ch in gap)
            is_name = token[0].isupper() and not sentence_start
            boost = config.name_weight if is_name else 1.0
        boost *= field_boost
        counts[term] = counts.get(term, 0) + 1
        if boost > boosts.get(term, 0.0):
            boosts[term] = boost


def _fold(token: str) -> str:
    # Case and accents folded: "Bogotá"/"Bogota", "Müller"/"Muller" are one name
    # across outlets and languages.
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
