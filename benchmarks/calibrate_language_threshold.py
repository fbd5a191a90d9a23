"""How often langdetect's label is right on short texts, by number of letters.

The evidence behind LanguageConfig.min_letters (README, "Language detection"): sentence
fragments from tests/language_corpus.py (55 languages) are cut after N letters and
detected with langdetect's seeded answers (langdetect-rs when installed: same answers).
A label counts as right when it is the fragment's language (zh-cn and zh-tw count as
each other: langdetect's split between them is a guess at the script). "Confident
wrong" is a wrong label with probability above 0.9, the case `und` is there to avoid.

Run: .venv/bin/python benchmarks/calibrate_language_threshold.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from language_corpus import LANGUAGES, SENTENCES  # noqa: E402

from newsbeam.transforms.language.backends import (  # noqa: E402
    LangdetectBackend,
    LangdetectRsBackend,
    rs_importable,
)

WIDE = ("ja", "ko", "zh-cn", "zh-tw")  # one character is a syllable or a word


def cut_after_letters(text: str, letters: int) -> str | None:
    count = 0
    for index, char in enumerate(text):
        if char.isalpha():
            count += 1
            if count == letters:
                return text[: index + 1]
    return None


def fragments(rng: random.Random, languages: tuple[str, ...], letters: int, per_language: int):
    for language in languages:
        for _ in range(per_language):
            text = " ".join(rng.sample(SENTENCES[language], 3))
            # Start at a word boundary (any character for scripts without spaces).
            starts = [0] + [i + 1 for i, c in enumerate(text) if c == " "]
            if language in WIDE or language == "th":
                starts = list(range(len(text) // 2))
            fragment = cut_after_letters(text[rng.choice(starts) :], letters)
            if fragment is not None:
                yield language, fragment


def same(language: str, label: str | None) -> bool:
    if label is None:
        return False
    return label == language or (language.startswith("zh") and label.startswith("zh"))


def whole_texts(rng: random.Random, languages: tuple[str, ...], per_language: int):
    for language in languages:
        for _ in range(per_language):
            yield language, " ".join(rng.sample(SENTENCES[language], 3))


def report(backend, sample) -> str:
    answers = backend.probabilities([text for _, text in sample])
    right = confident_wrong = 0
    for (language, _), answer in zip(sample, answers, strict=True):
        label, prob = answer[0] if answer else (None, 0.0)
        if same(language, label):
            right += 1
        elif prob > 0.9:
            confident_wrong += 1
    n = len(sample)
    return f"{right / n:6.1%}  {confident_wrong / n:6.1%}  {n}"


def main() -> None:
    backend = LangdetectRsBackend(0) if rs_importable() else LangdetectBackend(0)
    groups = (
        ("alphabetic scripts (51 languages)", tuple(x for x in LANGUAGES if x not in WIDE)),
        ("ja (a letter is a character here)", ("ja",)),
        ("ko (a letter is a character here)", ("ko",)),
        ("zh-cn, zh-tw (a letter is a character here)", ("zh-cn", "zh-tw")),
    )
    for title, languages in groups:
        per_language = 20 if len(languages) > 2 else 100
        print(f"{title}: letters, right, confident wrong, texts")
        for letters in (3, 5, 8, 9, 10, 12, 15, 20, 25, 30, 40):
            sample = list(fragments(random.Random(letters), languages, letters, per_language))
            print(f"  {letters:5d}  {report(backend, sample)}")
        rng = random.Random(0)
        print(
            f"  whole  {report(backend, list(whole_texts(rng, languages, per_language)))}"
            "  (three sentences)"
        )


if __name__ == "__main__":
    main()
