"""Unit tests of the pure language detector (no Beam)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import langdetect
import pytest
from language_corpus import SENTENCES

from newsbeam.transforms.language import backends
from newsbeam.transforms.language.backends import (
    LangdetectBackend,
    differences,
    rs_importable,
)
from newsbeam.transforms.language.detector import (
    UND,
    LanguageConfig,
    LanguageDetector,
    LanguageResult,
    LanguageScore,
)

HAVE_RS = rs_importable()
needs_rs = pytest.mark.skipif(not HAVE_RS, reason="langdetect-rs (the `fast` extra) not installed")
BACKENDS = ["langdetect", pytest.param("langdetect-rs", marks=needs_rs)]

# Readable texts whose labels are unambiguous, one per script family.
CLEAR = {
    "en": SENTENCES["en"][0],
    "de": SENTENCES["de"][0],
    "fr": SENTENCES["fr"][0],
    "es": SENTENCES["es"][0],
    "ru": SENTENCES["ru"][0],
    "el": SENTENCES["el"][0],
    "ar": SENTENCES["ar"][0],
    "he": SENTENCES["he"][0],
    "hi": SENTENCES["hi"][0],
    "th": SENTENCES["th"][0],
    "ja": SENTENCES["ja"][0],
    "ko": SENTENCES["ko"][0],
    # Not every Chinese sentence: langdetect 1.0.9 labels much Chinese `ko` (see README).
    "zh-cn": SENTENCES["zh-cn"][3],
    "vi": SENTENCES["vi"][0],
}
# German and English sentences together: langdetect splits its 7 trials between them.
MIXED = SENTENCES["de"][0] + " " + SENTENCES["en"][0]
# Prefixes of sentences in seven scripts: five languages above langdetect's 0.1 cut.
MANY = " ".join(SENTENCES[lang][0][:30] for lang in ("ja", "el", "th", "he", "hi", "ru", "ta"))


@pytest.fixture(scope="module", params=BACKENDS)
def detector(request) -> LanguageDetector:
    return LanguageDetector(LanguageConfig(backend=request.param))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="backend"):
        LanguageConfig(backend="fasttext")
    with pytest.raises(ValueError, match="min_letters"):
        LanguageConfig(min_letters=0)
    with pytest.raises(ValueError, match="batch_size"):
        LanguageConfig(batch_size=0)


def test_backend_name_is_the_one_asked_for(detector):
    assert detector.backend_name == detector.config.backend


def test_auto_uses_langdetect_rs_when_installed_and_matching():
    expected = "langdetect-rs" if HAVE_RS else "langdetect"
    assert LanguageDetector(LanguageConfig(backend="auto")).backend_name == expected


@pytest.mark.parametrize("language", sorted(CLEAR))
def test_clear_texts_get_their_language(detector, language):
    result = detector.detect(CLEAR[language])
    assert result.language == language
    assert result.score > 0.9
    assert result.und_reason is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (" \n\t ", "empty"),
        ("12345 67890", "no_letters"),
        ("2024-03-16 14:35 +01:00", "no_letters"),
        ("!!! ??? … ★★★ 😀", "no_letters"),
        ("Breaking news", "too_short"),
        ("Obama wins", "too_short"),
        # 24 letters: one short of the default minimum of 25.
        ("Heavy rain hits Berlin today", "too_short"),
        # URLs and e-mail addresses are blanked by langdetect: their letters do not count.
        ("https://www.example.com/news/politics/elections-results-live", "no_letters"),
        ("Contact newsroom@example-newspaper.org today", "too_short"),
    ],
)
def test_too_little_text_is_und_with_score_zero(detector, text, reason):
    assert detector.detect(text) == LanguageResult(UND, 0.0, (), reason)


def test_min_letters_boundary():
    detector = LanguageDetector(LanguageConfig(backend="langdetect", min_letters=10))
    assert detector.detect("Guten Tag").und_reason == "too_short"  # 8 letters
    assert detector.detect("Guten Morgen, Welt").language == "de"  # 15 letters


def test_text_whose_letters_langdetect_does_not_know_has_no_features(detector):
    # Enough letters for the threshold, but none in any of langdetect's profiles.
    text = "ᚠᚢᚦᚨᚱᚲ ᚷᚹᚺᚾᛁᛃ ᛇᛈᛉᛊᛏᛒ ᛖᛗᛚᛜᛞᛟ ᚠᚢᚦᚨᚱᚲ"
    assert detector.detect(text) == LanguageResult(UND, 0.0, (), "no_features")


def test_alternatives_are_the_runners_up(detector):
    result = detector.detect(MIXED)
    assert result.language == "de"
    assert [alt.language for alt in result.alternatives] == ["en"]
    assert result.score > result.alternatives[0].score > 0.1
    assert result.score + result.alternatives[0].score == pytest.approx(1.0, abs=1e-4)


def test_alternatives_are_capped_at_three(detector):
    raw = LangdetectBackend(0).probabilities([MANY])[0]
    assert len(raw) >= 5, "the test text should spread over five or more languages"
    result = detector.detect(MANY)
    assert (result.language, result.score) == raw[0]
    assert [(a.language, a.score) for a in result.alternatives] == raw[1:4]


def test_confident_text_has_no_alternatives(detector):
    assert detector.detect(CLEAR["en"]).alternatives == ()


def test_detect_many_keeps_order_and_equals_detect(detector):
    texts = [CLEAR["fr"], "", MIXED, "12345", CLEAR["ja"], "Too short", CLEAR["ru"]]
    assert detector.detect_many(texts) == [detector.detect(text) for text in texts]
    assert [r.language for r in detector.detect_many(texts)] == [
        "fr",
        UND,
        "de",
        UND,
        "ja",
        UND,
        "ru",
    ]


def test_ambiguous_answer_is_und():
    class NoLanguageAboveThreshold:
        name = "fake"
        prefers_batches = False

        def probabilities(self, texts):
            return [[] for _ in texts]

    detector = LanguageDetector(LanguageConfig(backend="langdetect"))
    detector._backend = NoLanguageAboveThreshold()
    assert detector.detect(CLEAR["en"]) == LanguageResult(UND, 0.0, (), "ambiguous")


def test_same_answer_every_time_whatever_the_global_seeds(detector):
    texts = [MIXED, MANY, CLEAR["en"]]
    first = detector.detect_many(texts)
    saved = langdetect.DetectorFactory.seed
    try:
        # Other code in the worker changing langdetect's class-wide seed changes nothing.
        langdetect.DetectorFactory.seed = None
        if HAVE_RS:
            import langdetect_rs

            saved_rs = langdetect_rs.DetectorFactory.seed
            langdetect_rs.DetectorFactory.seed = 12345
        again = [detector.detect_many(texts) for _ in range(3)]
        fresh = LanguageDetector(detector.config).detect_many(texts)
    finally:
        langdetect.DetectorFactory.seed = saved
        if HAVE_RS:
            langdetect_rs.DetectorFactory.seed = saved_rs
    assert all(run == first for run in again)
    assert fresh == first


def test_seed_is_part_of_the_answer():
    # The seed really reaches the engine: another seed gives other probabilities.
    zero = LanguageDetector(LanguageConfig(backend="langdetect", seed=0)).detect(MIXED)
    other = LanguageDetector(LanguageConfig(backend="langdetect", seed=7)).detect(MIXED)
    assert zero.score != other.score


WORKER_SCRIPT = """
import json, sys
from newsbeam.transforms.language.detector import LanguageConfig, LanguageDetector
detector = LanguageDetector(LanguageConfig(backend=sys.argv[1]))
texts = json.loads(sys.stdin.read())
print(json.dumps([[r.language, r.score, [[a.language, a.score] for a in r.alternatives]]
                  for r in detector.detect_many(texts)]))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fresh_worker_process_gives_the_same_answers(backend):
    # A Beam worker imports everything anew: nothing the driver seeded reaches it.
    texts = [MIXED, MANY, CLEAR["en"], CLEAR["zh-cn"]]
    here = [
        [r.language, r.score, [[a.language, a.score] for a in r.alternatives]]
        for r in LanguageDetector(LanguageConfig(backend=backend)).detect_many(texts)
    ]
    worker = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, backend],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert json.loads(worker.stdout) == here


def test_reference_backend_refuses_langdetect_rs_posing_as_langdetect(monkeypatch):
    rs_factory = pytest.importorskip("langdetect_rs.detector_factory")
    # What langdetect_rs.install() does to sys.modules.
    monkeypatch.setitem(sys.modules, "langdetect.detector_factory", rs_factory)
    with pytest.raises(RuntimeError, match="install"):
        LangdetectBackend(0, shared=False)


def test_differences_finds_every_kind_of_mismatch():
    base = [[("de", 0.7), ("en", 0.3)], None, [("fr", 0.99)]]
    assert differences(base, base) == []
    assert differences(base, [[("de", 0.7 + 1e-12), ("en", 0.3)], None, [("fr", 0.99)]]) == []
    assert differences(base, [[("de", 0.7 + 1e-8), ("en", 0.3)], None, [("fr", 0.99)]]) == [0]
    assert differences(base, [[("en", 0.7), ("de", 0.3)], None, [("fr", 0.99)]]) == [0]
    assert differences(base, [[("de", 0.7)], [("en", 1.0)], [("fr", 0.99)]]) == [0, 1]
    assert differences(base, [[("de", 0.7), ("en", 0.3)], None, None]) == [2]


@needs_rs
def test_auto_falls_back_when_langdetect_rs_differs(monkeypatch, caplog):
    real = backends.LangdetectRsBackend.probabilities

    def off_by_a_little(self, texts):
        return [
            None if answer is None else [(lang, prob * (1 - 1e-6)) for lang, prob in answer]
            for answer in real(self, texts)
        ]

    monkeypatch.setattr(backends.LangdetectRsBackend, "probabilities", off_by_a_little)
    monkeypatch.setattr(backends, "_parity_cache", {})
    assert LanguageDetector(LanguageConfig(backend="auto")).backend_name == "langdetect"
    assert "differs from langdetect" in caplog.text


def test_auto_falls_back_when_langdetect_rs_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "langdetect_rs", None)  # import raises ImportError
    monkeypatch.setattr(backends, "_parity_cache", {})
    assert LanguageDetector(LanguageConfig(backend="auto")).backend_name == "langdetect"
    with pytest.raises(ImportError):
        LanguageDetector(LanguageConfig(backend="langdetect-rs"))


def test_language_score_record():
    assert LanguageScore("en", 0.25).to_record() == {"language": "en", "score": 0.25}


def test_cjk_characters_count_as_three_letters(detector):
    # 9 characters x 3 >= 25: a short Japanese or Korean headline is detected.
    assert detector.detect("今日は雨が降ります").language == "ja"
    assert detector.detect("한국 대표팀 친선 경기 승리").language == "ko"
    # 8 characters x 3 = 24 letters: one short.
    assert detector.detect("雨が降っています").und_reason == "too_short"
