"""Clean stage throughput and quality on the project's fixtures.

Prints, measured in one run:
- text cleaning: articles/s of TextCleaner, and the ratio to a baseline that
  only normalises the text (what any cleaner must at least do);
- HTML cleaning: articles/s of extraction + rules, in-process and through the
  time-limited worker process, and the ratio to a baseline that only parses
  the page with lxml and takes its text;
- word 4-shingle precision/recall/F1 (mean per document) on the text and HTML
  fixtures in tests/fixtures/clean (and the sample articles in ../shared/seeds
  when present);
- with `--baseline REF`: TextCleaner as it is against TextCleaner as it was at
  git commit REF, in the same run (passes alternate, CPU time, best pass),
  on generated articles (benchmarks/corpus.py, with their titles, as
  `newsbeam run` sees them) and on the fixtures; and whether both give the
  same results (text, removed counts, title, authors, line decisions).

    python benchmarks/bench_clean.py [--seconds 3] [--baseline REF] [--articles 1000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import lxml.html  # noqa: E402
from clean_fixtures import html_cases, read_html_case, read_text_case, text_cases  # noqa: E402
from cleaner_at_commit import baseline_text_cleaner  # noqa: E402
from corpus import articles  # noqa: E402

from newsbeam.schemas.article import Article, Source  # noqa: E402
from newsbeam.transforms.clean.article_cleaner import ArticleCleaner  # noqa: E402
from newsbeam.transforms.clean.extraction_worker import ExtractionWorker  # noqa: E402
from newsbeam.transforms.clean.html_extractor import extract_html  # noqa: E402
from newsbeam.transforms.clean.rules import load_rules  # noqa: E402
from newsbeam.transforms.clean.shingle_score import ShingleScore, score  # noqa: E402
from newsbeam.transforms.clean.text_cleaner import TextCleaner  # noqa: E402
from newsbeam.transforms.clean.text_normalizer import normalize_text  # noqa: E402


def rate(items: list, work: Callable[[object], object], seconds: float) -> float:
    """Items per second (wall clock) over whole passes for at least `seconds`.

    Also records CPU ms per item in CPU_MS[work] (steadier on a shared machine).
    """
    done, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while True:
        for item in items:
            work(item)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            CPU_MS[work] = (time.process_time() - cpu_started) * 1000 / done
            return done / elapsed


CPU_MS: dict[object, float] = {}


def mean(scores: list[ShingleScore]) -> str:
    n = len(scores)
    p = sum(s.precision for s in scores) / n
    r = sum(s.recall for s in scores) / n
    f = sum(s.f1 for s in scores) / n
    return f"P={p:.3f} R={r:.3f} F1={f:.3f} (n={n})"


def result_tuple(result: object) -> tuple:
    decisions = [(d.number, d.text, d.kept, d.rule, d.reason) for d in result.decisions]
    return (result.text, result.removed, result.title, result.authors, decisions)


def compare_with_baseline(ref: str, count: int, fixtures: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        old = baseline_text_cleaner(ref, Path(tmp))
        new = TextCleaner(load_rules())
        corpus = [(a["text"], a["title"]) for a in articles(count, seed=3)]
        sets = {"generated articles": corpus, "fixtures": [(t, None) for t in fixtures]}
        print(f"\ntext, TextCleaner now vs at {ref} (CPU ms/article, best of 7 passes):")
        for label, docs in sets.items():
            same = sum(
                result_tuple(old.clean(t, title=ti)) == result_tuple(new.clean(t, title=ti))
                for t, ti in docs
            )
            best = {"old": float("inf"), "new": float("inf")}
            for _ in range(7):
                for name, cleaner in (("old", old), ("new", new)):
                    started = time.process_time()
                    for text, title in docs:
                        cleaner.clean(text, title=title)
                    spent = (time.process_time() - started) * 1000 / len(docs)
                    best[name] = min(best[name], spent)
            print(
                f"  {label:<19} ({len(docs):>4}): before {best['old']:.3f}  now {best['new']:.3f}"
                f"  speed-up {best['old'] / best['new']:.2f}x  identical {same}/{len(docs)}"
            )


def seeds_dir() -> Path:
    override = os.environ.get("NEWSBEAM_SHARED")
    return (Path(override) if override else REPO.parent / "shared") / "seeds"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument(
        "--baseline", metavar="REF", help="also compare TextCleaner with its version at this commit"
    )
    parser.add_argument(
        "--articles", type=int, default=1000, help="generated articles for --baseline"
    )
    parser.add_argument(
        "--baseline-only", action="store_true", help="skip everything but the --baseline comparison"
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    cleaner = TextCleaner(load_rules())
    texts = [read_text_case(name) for name in text_cases()]
    seeds = seeds_dir()
    seed_cases = []
    if (seeds / "gold.json").is_file():
        gold = json.loads((seeds / "gold.json").read_text(encoding="utf-8"))
        for name, entry in sorted(gold.items()):
            seed_cases.append(((seeds / name).read_text(encoding="utf-8"), entry["gold_text"]))
    pages = [read_html_case(name) for name in html_cases()]
    if args.baseline:
        fixtures = [raw for raw, _, _ in texts] + [raw for raw, _ in seed_cases]
        compare_with_baseline(args.baseline, args.articles, fixtures)
        if args.baseline_only:
            return 0

    # Quality.
    print("quality (word 4-shingles, mean per document):")
    print(f"  text fixtures   {mean([score(cleaner.clean(raw).text, g) for raw, g, _ in texts])}")
    if seed_cases:
        seed_scores = [score(cleaner.clean(raw).text, g) for raw, g in seed_cases]
        print(f"  sample articles {mean(seed_scores)}")
    in_process = ArticleCleaner(cleaner, extract_html)

    def clean_page(html: str) -> str:
        article = Article(id="b", source=Source(kind="file", uri="b.html"), raw=html, html=html)
        outcome = in_process.clean(article)
        return outcome.article.text if outcome.article else ""

    print(f"  html fixtures   {mean([score(clean_page(html), g) for html, g, _ in pages])}")

    # Speed: text.
    raw_texts = [raw for raw, _, _ in texts] + [raw for raw, _ in seed_cases]
    base = rate(raw_texts, normalize_text, args.seconds)
    text_rate = rate(raw_texts, cleaner.clean, args.seconds)
    text_cpu = CPU_MS[cleaner.clean]
    mean_chars = sum(map(len, raw_texts)) // len(raw_texts)
    print(f"\ntext ({len(raw_texts)} articles, mean {mean_chars} chars):")
    print(f"  baseline normalise only   {base:9.0f} articles/s")
    print(
        f"  TextCleaner.clean         {text_rate:9.0f} articles/s  ratio {text_rate / base:.3f}"
        f"  ({text_cpu:.2f} ms CPU/article)"
    )

    # Speed: HTML.
    htmls = [html for html, _, _ in pages]
    base = rate(htmls, lambda h: lxml.html.document_fromstring(h).text_content(), args.seconds)
    inproc_rate = rate(htmls, clean_page, args.seconds)
    inproc_cpu = CPU_MS[clean_page]
    with ExtractionWorker(time_limit_s=30.0) as worker:
        isolated = ArticleCleaner(cleaner, worker.extract)

        def clean_isolated(html: str) -> object:
            return isolated.clean(
                Article(id="b", source=Source(kind="file", uri="b.html"), raw=html, html=html)
            )

        worker_rate = rate(htmls, clean_isolated, args.seconds)
    print(f"\nhtml ({len(htmls)} pages, mean {sum(map(len, htmls)) // len(htmls)} chars):")
    print(f"  baseline lxml parse+text  {base:9.0f} pages/s")
    print(
        f"  extract+rules in-process  {inproc_rate:9.0f} pages/s  ratio {inproc_rate / base:.3f}"
        f"  ({inproc_cpu:.2f} ms CPU/page)"
    )
    print(f"  extract+rules via worker  {worker_rate:9.0f} pages/s  ratio {worker_rate / base:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
