"""Articles per second of the detect-language stage: langdetect vs langdetect-rs.

Both backends label the same generated articles (1-5 KB each, title + paragraphs in one
of 55 languages, half English, with URLs, numbers and other debris; see
tests/language_corpus.py) in one run, the way the Beam DoFn does it: title + body,
threshold check, engine call in batches of LanguageConfig.batch_size (langdetect one by
one), record fields set. Prints both rates, the ratio, and whether every label, score and
alternative is identical (exit status 1 if not).

With --beam it also runs DetectLanguage alone on the DirectRunner for each backend, and
the same pipeline without it (Beam's own ceiling), to show what is left of the gain once
Beam's per-element cost is included.

Run: .venv/bin/python benchmarks/bench_language.py [--articles 400] [--repeat 3]
     [--beam [--beam-articles 10000] [--beam-slow-articles 1000]]
The machine is shared and noisy: compare the ratio, not the absolute rates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from language_corpus import realistic_articles  # noqa: E402

from newsbeam.schemas.article import Article, Source  # noqa: E402
from newsbeam.transforms.language.detector import (  # noqa: E402
    LanguageConfig,
    LanguageDetector,
)
from newsbeam.transforms.language.labeling import label_articles  # noqa: E402

BACKENDS = ("langdetect", "langdetect-rs")


def make_articles(count: int, seed: int) -> list[Article]:
    out = []
    for i, (_, title, body) in enumerate(realistic_articles(count, seed=seed)):
        out.append(
            Article(
                id=f"bench-{i}",
                source=Source(kind="file", uri="bench", line=i + 1),
                raw=json.dumps({"title": title, "text": body}),
                text=body,
                title=title,
            )
        )
    return out


def run_stage(detector: LanguageDetector, articles: list[Article]) -> list[Article]:
    size = detector.config.batch_size if detector.prefers_batches else 1
    out: list[Article] = []
    for start in range(0, len(articles), size):
        out.extend(a for a, _ in label_articles(detector, articles[start : start + size]))
    return out


def best_rate(detector: LanguageDetector, articles: list[Article], repeat: int):
    best = float("inf")
    labelled: list[Article] = []
    for _ in range(repeat):
        started = time.perf_counter()
        labelled = run_stage(detector, articles)
        best = min(best, time.perf_counter() - started)
    return len(articles) / best, labelled


def beam_rate(config: LanguageConfig | None, articles: list[Article], count: int) -> float:
    """Articles/s of Create(indexes) -> article -> DetectLanguage (or nothing, for config
    None) -> count, end to end on the DirectRunner, start-up included.

    The articles are made inside the pipeline from `articles` (copies with new ids):
    Create of thousands of 3 KB objects is itself slow here (~400/s) and would hide
    the stage's cost.
    """
    import apache_beam as beam

    from newsbeam.transforms.language.transform import DetectLanguage

    class MakeArticle(beam.DoFn):
        def __init__(self, templates: list[Article]) -> None:
            self._templates = templates

        def process(self, index: int):
            yield self._templates[index % len(self._templates)].replace(id=f"beam-{index}")

    started = time.perf_counter()
    with beam.Pipeline() as pipeline:
        made = (
            pipeline
            | beam.Create(list(range(count)), reshuffle=False)
            | beam.ParDo(MakeArticle(articles)).with_output_types(Article)
        )
        if config is not None:
            made = made | DetectLanguage(config)
        _ = made | beam.combiners.Count.Globally()
    return count / (time.perf_counter() - started)


def same(a: Article, b: Article) -> bool:
    if a.language != b.language or abs(a.language_score - b.language_score) > 1e-9:
        return False
    alts_a, alts_b = a.language_alternatives or [], b.language_alternatives or []
    return [x["language"] for x in alts_a] == [x["language"] for x in alts_b] and all(
        abs(x["score"] - y["score"]) <= 1e-9 for x, y in zip(alts_a, alts_b, strict=True)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timed passes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--beam", action="store_true", help="also time the Beam stage")
    parser.add_argument(
        "--beam-articles",
        type=int,
        default=10_000,
        help="articles per Beam run (the generated ones, repeated)",
    )
    parser.add_argument(
        "--beam-slow-articles",
        type=int,
        default=1_000,
        help="articles in the Beam run with langdetect",
    )
    args = parser.parse_args()

    articles = make_articles(args.articles, args.seed)
    sizes = [len(a.title or "") + len(a.text) for a in articles]
    print(
        f"{len(articles)} articles, {min(sizes)}-{max(sizes)} chars "
        f"(mean {sum(sizes) / len(sizes):.0f}); cpus={os.cpu_count()}, "
        f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'unset')}"
    )
    rates: dict[str, float] = {}
    results: dict[str, list[Article]] = {}
    for backend in BACKENDS:
        started = time.perf_counter()
        detector = LanguageDetector(LanguageConfig(backend=backend))
        setup = time.perf_counter() - started
        run_stage(detector, articles[:20])  # warm-up
        rates[backend], results[backend] = best_rate(detector, articles, args.repeat)
        print(f"{backend:14s} {rates[backend]:10.0f} articles/s   (setup {setup:.2f} s)")
    ratio = rates["langdetect-rs"] / rates["langdetect"]
    mismatches = [
        a.id
        for a, b in zip(results["langdetect"], results["langdetect-rs"], strict=True)
        if not same(a, b)
    ]
    und = sum(a.language == "und" for a in results["langdetect"])
    print(f"ratio langdetect-rs / langdetect: {ratio:.1f}x")
    print(
        f"identical labels, scores and alternatives: {len(articles) - len(mismatches)}"
        f"/{len(articles)} ({und} und)"
    )
    if args.beam:
        print("Beam DirectRunner, whole pipeline incl. start-up:")
        fast, slow = args.beam_articles, args.beam_slow_articles
        ceiling = beam_rate(None, articles, fast)
        print(f"  no detection (Beam's ceiling) {ceiling:8.0f} articles/s  ({fast} articles)")
        beam_rates = {
            "langdetect": beam_rate(LanguageConfig(backend="langdetect"), articles, slow),
            "langdetect-rs": beam_rate(LanguageConfig(backend="langdetect-rs"), articles, fast),
        }
        for backend, rate in beam_rates.items():
            n = slow if backend == "langdetect" else fast
            print(f"  DetectLanguage, {backend:13s} {rate:8.0f} articles/s  ({n} articles)")
        print(
            "  Beam ratio langdetect-rs / langdetect: "
            f"{beam_rates['langdetect-rs'] / beam_rates['langdetect']:.1f}x"
        )
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
