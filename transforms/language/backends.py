"""The two engines behind language detection: langdetect 1.0.9 and langdetect-rs.

Both return langdetect's raw answer for a text: its list of (language, probability) with
probability > 0.1, most probable first, or None when the text has no n-gram features.

Seeding is the subtle part. langdetect draws random n-grams; with `DetectorFactory.seed`
left at None every detection is reseeded from the OS and labels change between runs. The
seed is a class attribute of each library's own `DetectorFactory` (the two libraries do
not share one), and it is read when a detector is created. A value set in the driver
program does not reach Beam workers, which import the libraries afresh. So each backend
sets its seed itself, where it detects:

- langdetect: a private `DetectorFactory` instance with the seed set on the instance.
  Each `Detector` owns its `random.Random`, so detections in parallel threads cannot
  disturb each other and nobody else's use of langdetect is affected.
- langdetect-rs: its batch API only works on the library's module-level factory, so the
  class attribute is set under a lock right before each batch call (another component,
  or a second stage with another seed, may have changed it since).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence
from typing import Protocol

logger = logging.getLogger(__name__)

# A raw langdetect answer: (language, probability) pairs, most probable first.
Probabilities = list[tuple[str, float]]

LANGDETECT = "langdetect"
LANGDETECT_RS = "langdetect-rs"

# The largest probability difference still counted as "the same answer".
PARITY_TOLERANCE = 1e-9


class Backend(Protocol):
    name: str
    # Whether handing over many texts at once is faster than one at a time.
    prefers_batches: bool

    def probabilities(self, texts: Sequence[str]) -> list[Probabilities | None]: ...


def _genuine_langdetect(module_name: str):
    """Import a langdetect module, refusing langdetect-rs posing as it.

    `langdetect_rs.install()` makes `import langdetect` return langdetect-rs; the reference
    backend (and the parity check against it) would then silently compare rs with itself.
    """
    module = importlib.import_module(module_name)
    if module.__name__ != module_name:
        raise RuntimeError(
            f"{module_name} resolves to {module.__name__} (langdetect_rs.install() was called); "
            "the reference langdetect backend is not available in this process"
        )
    return module


_factories: dict[int, object] = {}
_factories_lock = threading.Lock()


def _langdetect_factory(seed: int):
    """One loaded langdetect factory per seed and process (~65 MB, read-only once loaded)."""
    with _factories_lock:
        factory = _factories.get(seed)
        if factory is None:
            factory = _new_langdetect_factory(seed)
            _factories[seed] = factory
        return factory


def _new_langdetect_factory(seed: int):
    detector_factory = _genuine_langdetect("langdetect.detector_factory")
    factory = detector_factory.DetectorFactory()
    # Same profile directory and os.listdir order as langdetect's own module-level factory.
    factory.load_profile(detector_factory.PROFILES_DIRECTORY)
    factory.set_seed(seed)  # instance attribute: the class-wide default stays untouched
    return factory


class LangdetectBackend:
    """langdetect 1.0.9, one text at a time, on a private seeded factory."""

    name = LANGDETECT
    prefers_batches = False

    def __init__(self, seed: int, *, shared: bool = True) -> None:
        self._factory = _langdetect_factory(seed) if shared else _new_langdetect_factory(seed)
        errors = _genuine_langdetect("langdetect.lang_detect_exception")
        self._exception = errors.LangDetectException
        self._cant_detect = errors.ErrorCode.CantDetectError

    def probabilities(self, texts: Sequence[str]) -> list[Probabilities | None]:
        out: list[Probabilities | None] = []
        for text in texts:
            detector = self._factory.create()
            detector.append(text)
            try:
                found = detector.get_probabilities()
            except self._exception as error:
                if error.code != self._cant_detect:
                    raise
                out.append(None)  # "No features in text."
                continue
            out.append([(language.lang, language.prob) for language in found])
        return out


_rs_seed_lock = threading.Lock()


class LangdetectRsBackend:
    """langdetect-rs's batch API: the same answers from Rust, on all cores, without the GIL."""

    name = LANGDETECT_RS
    prefers_batches = True

    def __init__(self, seed: int) -> None:
        import langdetect_rs  # ImportError when the `fast` extra is not installed

        self._rs = langdetect_rs
        self._seed = seed

    def probabilities(self, texts: Sequence[str]) -> list[Probabilities | None]:
        with _rs_seed_lock:
            self._rs.DetectorFactory.seed = self._seed
            found = self._rs.detect_langs_batch(list(texts))
        return [
            None if result is None else [(language.lang, language.prob) for language in result]
            for result in found
        ]


def rs_importable() -> bool:
    try:
        importlib.import_module("langdetect_rs")
    except ImportError:
        return False
    return True


def differences(
    reference: Sequence[Probabilities | None],
    candidate: Sequence[Probabilities | None],
    tolerance: float = PARITY_TOLERANCE,
) -> list[int]:
    """Indexes where two answer lists differ: in languages, their order, a probability
    by more than `tolerance`, or whether the text had features at all."""
    if len(reference) != len(candidate):
        raise ValueError("answer lists of different lengths")
    out = []
    for index, (want, got) in enumerate(zip(reference, candidate, strict=True)):
        if want is None or got is None:
            if want is not got:
                out.append(index)
            continue
        if [lang for lang, _ in want] != [lang for lang, _ in got] or any(
            abs(p - q) > tolerance for (_, p), (_, q) in zip(want, got, strict=True)
        ):
            out.append(index)
    return out


# Checked when `auto` considers langdetect-rs: one or two sentences per script, a mixed
# text, a noisy one and one without features. The full differential test is
# tests/test_language_parity.py; this only catches an installation whose answers differ
# (another langdetect-rs version, another Python or Unicode version).
PROBE_TEXTS = (
    "The government announced on Tuesday a new plan to reduce energy prices for households.",
    "Die Bundesregierung hat am Mittwoch ein neues Gesetz zur Digitalisierung beschlossen.",
    "Le gouvernement a présenté mardi un nouveau plan pour réduire les factures d'énergie.",
    "Chính phủ hôm thứ Ba công bố kế hoạch mới nhằm giảm giá điện cho các hộ gia đình.",
    "Правительство во вторник представило новый план по снижению цен на энергию.",
    "Η κυβέρνηση ανακοίνωσε την Τρίτη νέα μέτρα στήριξης για τις μικρές επιχειρήσεις.",
    "أعلنت الحكومة يوم الثلاثاء عن خطة جديدة لدعم الشركات الصغيرة والمتوسطة.",
    "הממשלה אישרה ביום שלישי תוכנית חדשה להורדת יוקר המחיה.",
    "सरकार ने मंगलवार को देश के सभी स्कूलों के लिए नई शिक्षा नीति की घोषणा की।",
    "รัฐบาลประกาศแผนใหม่เมื่อวันอังคารเพื่อลดค่าไฟฟ้าให้กับครัวเรือน",
    "政府は火曜日、家計のエネルギー負担を軽減するための新しい計画を発表した。",
    "政府周二宣布了一项降低家庭能源费用的新计划。",
    "정부는 화요일 가계의 에너지 부담을 줄이기 위한 새로운 계획을 발표했다.",
    "Ein, zwei, drei, vier. Un, deux, trois. One, two, three. Uno, dos, tres.",
    "BREAKING: https://example.com/a/b?c=1 mail news@example.org 12:30 ★★★ 😀 Güle güle!",
    "12345 67890",
)

_parity_cache: dict[int, bool] = {}
_parity_lock = threading.Lock()


def rs_matches_langdetect(seed: int) -> bool:
    """Whether langdetect-rs gives langdetect's exact answers on PROBE_TEXTS here.

    Checked once per process and seed. Loads a throwaway langdetect factory (~0.2 s).
    """
    with _parity_lock:
        if seed not in _parity_cache:
            _parity_cache[seed] = _probe(seed)
        return _parity_cache[seed]


def _probe(seed: int) -> bool:
    if not rs_importable():
        return False
    try:
        reference = LangdetectBackend(seed, shared=False).probabilities(PROBE_TEXTS)
        candidate = LangdetectRsBackend(seed).probabilities(PROBE_TEXTS)
    except Exception:  # a broken installation must not stop the pipeline: fall back
        logger.exception("langdetect-rs parity probe failed to run")
        return False
    differing = differences(reference, candidate)
    if differing:
        logger.warning(
            "langdetect-rs differs from langdetect on %d probe text(s), e.g. %r: %r vs %r; "
            "using langdetect",
            len(differing),
            PROBE_TEXTS[differing[0]],
            reference[differing[0]],
            candidate[differing[0]],
        )
        return False
    return True
