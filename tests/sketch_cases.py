"""Texts for the bundled-sketch tests: every size threshold of DedupConfig straddled,
many scripts, degenerate inputs. Deterministic (fixed seeds, no generator from
benchmarks/), so the golden digests in fixtures/dedup/sketch_golden.json stay
valid; regenerate them only from main's code, never from a changed sketch:

    python tests/sketch_cases.py > tests/fixtures/dedup/sketch_golden.json
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from dedup_fixtures import FIXTURES  # noqa: E402

from newsbeam.transforms.dedup.config import DedupConfig  # noqa: E402
from newsbeam.transforms.dedup.sketch import ArticleSketch  # noqa: E402

GOLDEN = FIXTURES / "sketch_golden.json"

# Configurations the goldens cover: the default, whole words in 3-shingles
# with lower thresholds, and 1-word shingles (every paragraph length is "long").
CONFIGS = {
    "default": DedupConfig(),
    "small": DedupConfig(
        shingle_size=3,
        token_prefix=0,
        bands=16,
        rows=2,
        seed=99,
        band_max_shingles=50,
        contained_min_shingles=20,
        near_min_words=5,
        lead_shingles=10,
        lead_min_words=6,
        anchor_rate=3,
        max_anchors=7,
    ),
    "unigram": DedupConfig(shingle_size=1, token_prefix=3, lead_min_words=0, max_anchors=0),
}

_ACCENTED = str.maketrans("aeiou", "\u00e0\u00e9\u00ee\u00f6\u00fa")
_CYRILLIC = str.maketrans(
    "abcdehikmoptxy",
    "\u0430\u0431\u0441\u0434\u0435\u04bb\u0456\u043a\u043c\u043e\u0440\u0442\u0445\u0443",
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _words(rng: random.Random, count: int) -> list[str]:
    # Random 6-9 letter words: distinct in their first 5 letters with near certainty,
    # so a paragraph of n words has n - 3 distinct 4-shingles.
    return ["".join(rng.choice(_LETTERS) for _ in range(rng.randint(6, 9))) for _ in range(count)]


def _paragraph(rng: random.Random, count: int) -> str:
    words = _words(rng, count)
    if words:
        words[0] = words[0].capitalize()
    return " ".join(words) + ("." if words else "")


def cases() -> dict[str, tuple[str, str, str | None]]:
    """name -> (article id, text, published_at)."""
    rng = random.Random(21)
    texts: dict[str, str] = {
        "empty": "",
        "blank": "  \n\n \t\n\n  ",
        "punctuation only": "!!! -- ... ?? \u2014 \u201c\u201d",
        "one word": "Hello",
        "one digit word": "2024",
        "nul": "first\x00 para\n\nsecond paragraph with \x00 several words in it " * 3,
        "zero width": "Zero\u200bwidth spa\u200bces and soft\u00adhyphens " * 12,
        "combining": "Cafe\u0301 de\u0301ja\u0300 vu, nai\u0308ve re\u0301sume\u0301. " * 8,
        "crlf": "Line one of the text\r\nline two\r\n\r\nsecond paragraph here " * 6,
        "lone surrogate": "broken \ud800 text with some more words to pass the minimum " * 3,
        "emoji": "Great news \U0001f389 for fans \U0001f44d of the team today " * 6,
        "ocr digits": "The 1ow 5et of 0pen 10 5ales 0f 2024 rose by 15 per cent " * 5,
        "cjk": "\u6771\u4eac\u90fd\u306f\u6708\u66dc\u65e5\u3001\u65b0\u3057\u3044"
        "\u9632\u6f6e\u5824\u306e\u5efa\u8a2d\u3092\u767a\u8868\u3057\u305f\u3002" * 20,
        "cjk spaced": " ".join(
            ["\u6771\u4eac", "\u90fd\u306f", "\u6708\u66dc\u65e5", "\u65b0\u3057\u3044", "\u5824"]
            * 30
        ),
        "mixed scripts": "Moscow \u041c\u043e\u0441\u043a\u0432\u0430 Tokyo \u6771\u4eac "
        "Ath\u00e8nes \u0391\u03b8\u03ae\u03bd\u03b1 " * 10,
    }
    for words in (2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16, 17):
        texts[f"{words} words"] = _paragraph(rng, words)
    # Distinct shingle counts around contained_min_shingles (40) and
    # band_max_shingles (160): one paragraph of n + 3 words has n shingles.
    for shingles in (19, 20, 21, 39, 40, 41, 49, 50, 51, 159, 160, 161, 512, 513):
        texts[f"{shingles} shingles"] = _paragraph(rng, shingles + 3)
        half = (shingles + 3) // 2
        texts[f"{shingles} shingles in two paragraphs"] = (
            _paragraph(rng, half) + "\n\n" + _paragraph(rng, shingles + 3 - half)
        )
    # The lead: first substantive paragraph (lead_min_words 12) and its length
    # around lead_shingles (40): 43 words = 40 shingles.
    for lead_words in (10, 11, 12, 13, 42, 43, 44, 45):
        headline = _paragraph(rng, 6)
        texts[f"lead of {lead_words} words"] = "\n\n".join(
            [headline, _paragraph(rng, lead_words), _paragraph(rng, 30), _paragraph(rng, 25)]
        )
    texts["no substantive paragraph"] = "\n\n".join(_paragraph(rng, 7) for _ in range(12))
    texts["short paragraphs"] = "\n\n".join(_paragraph(rng, n % 5 + 1) for n in range(40))
    repeated = _paragraph(rng, 30)
    texts["repeated paragraph"] = "\n\n".join([repeated] * 8)
    texts["repeated paragraph, short"] = "\n\n".join([_paragraph(rng, 5)] * 6)
    texts["repeated words"] = " ".join(["the same words again"] * 300)
    texts["repeated long text"] = "\n\n".join(
        [_paragraph(rng, 60), _paragraph(rng, 80)] * 10 + [_paragraph(rng, 40)]
    )
    texts["many anchors"] = "\n\n".join(_paragraph(rng, 120) for _ in range(20))
    texts["very long"] = "\n\n".join(_paragraph(rng, rng.randint(20, 120)) for _ in range(400))
    texts["one huge paragraph"] = _paragraph(rng, 30_000)
    for name in ("flood_barrier", "chip_results", "wheat_trial", "news_roundup", "pr_brief_1"):
        article = (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")
        texts[f"fixture {name}"] = article
        texts[f"fixture {name}, accented"] = article.translate(_ACCENTED)
        texts[f"fixture {name}, Cyrillic"] = article.translate(_CYRILLIC)
        texts[f"fixture {name}, upper"] = article.upper()
    for n in range(12):  # random mixtures of everything above
        parts = [_paragraph(rng, rng.choice((1, 3, 4, 5, 12, 15, 40, 90))) for _ in range(6)]
        mixed = "\n\n".join(parts)
        texts[f"random {n}"] = mixed.translate(rng.choice((_ACCENTED, _CYRILLIC, {})))
    times = (None, "2024-03-01T10:00:00Z", "2024-03-01 12:30:00+02:00", "not a time", "")
    return {
        name: (f"id-{index}", text, times[index % len(times)])
        for index, (name, text) in enumerate(texts.items())
    }


def digest(sketch: ArticleSketch) -> str:
    """Every field of a sketch, byte for byte."""
    fields = (
        sketch.id,
        sketch.content_hash,
        repr(sketch.order),
        sketch.words,
        sketch.shingles.hex(),
        sketch.lead.hex(),
        [key.hex() for key in sketch.bands],
        sketch.near_eligible,
    )
    return hashlib.blake2b(json.dumps(fields).encode(), digest_size=16).hexdigest()


if __name__ == "__main__":
    from newsbeam.transforms.dedup.sketch import build_sketch

    golden = {
        config_name: {name: digest(build_sketch(*case, config)) for name, case in cases().items()}
        for config_name, config in CONFIGS.items()
    }
    print(json.dumps(golden, indent=1, ensure_ascii=False))
