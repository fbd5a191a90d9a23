"""Differential test: langdetect-rs must give langdetect 1.0.9's answers, to 1e-9.

The reference is langdetect's own public API, seeded as its documentation says
(`DetectorFactory.seed = 0`), on a few thousand generated texts: all 55 languages, 17
scripts, fragments to 12,500-character texts, mixed languages, URLs, e-mail addresses,
emoji, shouting, random Unicode, lone surrogates, texts without features. Any different
label or language list, or a probability off by more than 1e-9, fails.

If this fails, `auto` must not (and, by its start-up probe, usually will not) pick
langdetect-rs: see backends.rs_matches_langdetect.
"""

from __future__ import annotations

import langdetect
import pytest
from language_corpus import varied_texts

from newsbeam.transforms.language.detector import LanguageConfig, LanguageDetector

langdetect_rs = pytest.importorskip("langdetect_rs")

pytestmark = pytest.mark.slow

TEXT_COUNT = 3000
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return varied_texts(TEXT_COUNT, seed=20240316)


@pytest.fixture(scope="module")
def reference(texts) -> list[list[tuple[str, float]] | None]:
    saved = langdetect.DetectorFactory.seed
    langdetect.DetectorFactory.seed = 0
    try:
        out = []
        for text in texts:
            try:
                out.append([(x.lang, x.prob) for x in langdetect.detect_langs(text)])
            except langdetect.LangDetectException:
                out.append(None)
        return out
    finally:
        langdetect.DetectorFactory.seed = saved


@pytest.fixture(scope="module")
def candidate(texts) -> list[list[tuple[str, float]] | None]:
    saved = langdetect_rs.DetectorFactory.seed
    langdetect_rs.DetectorFactory.seed = 0
    try:
        answers = langdetect_rs.detect_langs_batch(texts)
    finally:
        langdetect_rs.DetectorFactory.seed = saved
    return [None if a is None else [(x.lang, x.prob) for x in a] for a in answers]


def describe(text: str, want, got) -> str:
    return f"{text[:60]!r} ({len(text)} chars): langdetect {want} / langdetect-rs {got}"


def test_the_corpus_is_varied(texts, reference):
    labels = {answer[0][0] for answer in reference if answer}
    assert len(labels) >= 50, sorted(labels)
    assert sum(answer is None for answer in reference) >= 5  # no features
    assert sum(1 for answer in reference if answer and len(answer) >= 2) >= 100  # mixed
    assert sum(len(text) > 10_000 for text in texts) >= 50  # past langdetect's cut-off
    assert sum(len(text) < 30 for text in texts) >= 200  # fragments
    assert any(any(0xD800 <= ord(c) <= 0xDFFF for c in text) for text in texts)


def test_same_labels(texts, reference, candidate):
    differing = [
        describe(text, want, got)
        for text, want, got in zip(texts, reference, candidate, strict=True)
        if (want[0][0] if want else None) != (got[0][0] if got else None)
    ]
    assert not differing, f"{len(differing)} label(s) differ, e.g.:\n" + "\n".join(differing[:5])


def test_same_probabilities(texts, reference, candidate):
    differing = []
    for text, want, got in zip(texts, reference, candidate, strict=True):
        if want is None or got is None:
            if want is not got:
                differing.append(describe(text, want, got))
            continue
        same_languages = [lang for lang, _ in want] == [lang for lang, _ in got]
        if not same_languages or any(
            abs(p - q) > TOLERANCE for (_, p), (_, q) in zip(want, got, strict=True)
        ):
            differing.append(describe(text, want, got))
    assert not differing, f"{len(differing)} answer(s) differ, e.g.:\n" + "\n".join(differing[:5])


def test_the_stage_gives_the_same_results_with_either_backend(texts):
    # What the pipeline stores: label, score, alternatives, und reason, via both backends.
    subset = texts[::5]
    slow = LanguageDetector(LanguageConfig(backend="langdetect")).detect_many(subset)
    fast = LanguageDetector(LanguageConfig(backend="langdetect-rs")).detect_many(subset)
    differing = [
        f"{text[:60]!r}: {a} / {b}"
        for text, a, b in zip(subset, slow, fast, strict=True)
        if (a.language, a.und_reason, [x.language for x in a.alternatives])
        != (b.language, b.und_reason, [x.language for x in b.alternatives])
        or abs(a.score - b.score) > TOLERANCE
        or any(
            abs(x.score - y.score) > TOLERANCE
            for x, y in zip(a.alternatives, b.alternatives, strict=True)
        )
    ]
    assert not differing, "\n".join(differing[:5])
    assert sum(r.language != "und" for r in slow) >= len(subset) // 2
