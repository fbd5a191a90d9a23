"""Language detection that gives langdetect 1.0.9's labels, or `und` when it cannot tell.

Pure Python, no Beam: `LanguageDetector(config).detect(text)` / `.detect_many(texts)`.

Labels and probabilities are langdetect's (seeded, so the same in every run and on every
worker). langdetect-rs computes them when it is installed and gives the same answers on
this machine (checked at start-up, see backends.rs_matches_langdetect); otherwise
langdetect itself does.

Before asking either engine, texts with too few letters are labelled `und` with score 0:
on short strings langdetect makes confident wrong guesses (see the docs, "Language
detection", for the measurement behind `min_letters`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from langdetect.detector import Detector as _LangdetectDetector

from newsbeam.transforms.language.backends import (
    LANGDETECT,
    LANGDETECT_RS,
    Backend,
    LangdetectBackend,
    LangdetectRsBackend,
    Probabilities,
    rs_matches_langdetect,
)

logger = logging.getLogger(__name__)

AUTO = "auto"
BACKENDS = (AUTO, LANGDETECT, LANGDETECT_RS)

UND = "und"
# Why a text is `und` (also the metric names under newsbeam.language, prefixed "und.").
UND_EMPTY = "empty"  # nothing but whitespace
UND_NO_LETTERS = "no_letters"  # digits, punctuation, symbols only
UND_TOO_SHORT = "too_short"  # fewer than `min_letters` letters
UND_NO_FEATURES = "no_features"  # langdetect knows none of its n-grams (e.g. runic)
UND_AMBIGUOUS = "ambiguous"  # no language above langdetect's 0.1 reporting threshold
UND_REASONS = (UND_EMPTY, UND_NO_LETTERS, UND_TOO_SHORT, UND_NO_FEATURES, UND_AMBIGUOUS)

MAX_ALTERNATIVES = 3

# A Han ideograph, kana or Hangul syllable is a word or a syllable, not a letter: it counts
# as this many letters towards `min_letters` (9 characters reach the default 25). Measured
# with benchmarks/calibrate_language_threshold.py: Japanese is right on every 9-character
# fragment, Korean from 3; Chinese is not better at 25 characters than at 9 (langdetect
# labels much Chinese `ko` at any length).
WIDE_LETTER_WEIGHT = 3
_WIDE_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul Compatibility Jamo
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7AF),  # Hangul Syllables
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x3FFFF),  # CJK Unified Ideographs Extensions B and later
)


def _is_wide(char: str) -> bool:
    code = ord(char)
    if code < 0x1100:
        return False
    return any(low <= code <= high for low, high in _WIDE_RANGES)


# langdetect blanks URLs and e-mail addresses before detecting, so their letters must not
# count towards `min_letters` either: use its own patterns.
_URL_RE = _LangdetectDetector.URL_RE
_MAIL_RE = _LangdetectDetector.MAIL_RE


@dataclass(frozen=True, slots=True)
class LanguageConfig:
    """How to detect languages.

    backend: "auto" (langdetect-rs when importable and its answers match langdetect's
        here, else langdetect), "langdetect" or "langdetect-rs" (no fallback, no check).
    min_letters: texts with fewer letters (str.isalpha, outside URLs and e-mail
        addresses; a CJK character counts as WIDE_LETTER_WEIGHT) are `und`. 25 letters
        is about five English words; langdetect's confident (p > 0.9) wrong labels on
        sentence fragments: 1.3% at 25 letters, 2.5% at 20, 11% at 10.
    seed: langdetect's random seed; any fixed value makes results reproducible, 0 is
        what langdetect's documentation uses.
    batch_size: texts handed to the engine at once by the Beam stage (langdetect-rs only;
        langdetect gains nothing from batches).
    """

    backend: str = AUTO
    min_letters: int = 25
    seed: int = 0
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.min_letters < 1:
            raise ValueError("min_letters must be at least 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


@dataclass(frozen=True, slots=True)
class LanguageScore:
    language: str
    score: float

    def to_record(self) -> dict[str, str | float]:
        return {"language": self.language, "score": self.score}


@dataclass(frozen=True, slots=True)
class LanguageResult:
    """A label with its probability, the runners-up, and why it is `und` if it is.

    `alternatives` are the next most probable languages after `language` (at most 3, each
    above langdetect's 0.1 reporting threshold), so a confident label has none.
    """

    language: str
    score: float
    alternatives: tuple[LanguageScore, ...] = ()
    und_reason: str | None = None

    @classmethod
    def undetermined(cls, reason: str) -> LanguageResult:
        return cls(UND, 0.0, (), reason)


def _select_backend(config: LanguageConfig) -> Backend:
    if config.backend == LANGDETECT:
        return LangdetectBackend(config.seed)
    if config.backend == LANGDETECT_RS:
        return LangdetectRsBackend(config.seed)
    if rs_matches_langdetect(config.seed):
        return LangdetectRsBackend(config.seed)
    logger.info("language detection falls back to langdetect (langdetect-rs absent or differs)")
    return LangdetectBackend(config.seed)


class LanguageDetector:
    """Detects the language of texts per `LanguageConfig`. Safe to share between threads."""

    def __init__(self, config: LanguageConfig | None = None) -> None:
        self.config = config or LanguageConfig()
        self._backend = _select_backend(self.config)
        logger.info("language detection backend: %s", self._backend.name)

    @property
    def backend_name(self) -> str:
        return self._backend.name

    @property
    def prefers_batches(self) -> bool:
        return self._backend.prefers_batches

    def detect(self, text: str) -> LanguageResult:
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[LanguageResult]:
        """Results in the order of `texts`; one engine call for all texts worth detecting."""
        results: list[LanguageResult | None] = [None] * len(texts)
        pending: list[int] = []
        for index, text in enumerate(texts):
            reason = self._too_little_text(text)
            if reason is None:
                pending.append(index)
            else:
                results[index] = LanguageResult.undetermined(reason)
        if pending:
            answers = self._backend.probabilities([texts[i] for i in pending])
            for index, answer in zip(pending, answers, strict=True):
                results[index] = _result(answer)
        return results  # type: ignore[return-value]  # every slot is filled above

    def _too_little_text(self, text: str) -> str | None:
        if not text or text.isspace():
            return UND_EMPTY
        # Blank what langdetect blanks; the substring tests skip the regexes for most texts.
        if "http" in text:
            text = _URL_RE.sub(" ", text)
        if "@" in text:
            text = _MAIL_RE.sub(" ", text)
        letters = 0
        for char in text:
            if char.isalpha():
                letters += WIDE_LETTER_WEIGHT if _is_wide(char) else 1
                if letters >= self.config.min_letters:
                    return None
        return UND_NO_LETTERS if letters == 0 else UND_TOO_SHORT


def _result(answer: Probabilities | None) -> LanguageResult:
    if answer is None:
        return LanguageResult.undetermined(UND_NO_FEATURES)
    if not answer:
        return LanguageResult.undetermined(UND_AMBIGUOUS)
    (language, score), rest = answer[0], answer[1 : 1 + MAX_ALTERNATIVES]
    return LanguageResult(
        language, score, tuple(LanguageScore(lang, prob) for lang, prob in rest), None
    )
