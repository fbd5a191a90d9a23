"""Compare HTML main-text extractors on the clean-stage fixtures.

For each extractor: word 4-shingle precision/recall/F1 against the gold bodies
(mean over pages), on its raw output and after newsbeam's text rules, and pages
per second relative to trafilatura measured in the same run.

    python benchmarks/compare_html_extractors.py [--repeat 20]

Extractors that are not installed are skipped (the alternatives are not
project dependencies: pip install readability-lxml goose3 newspaper4k resiliparse).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from clean_fixtures import html_cases, read_html_case  # noqa: E402

from newsbeam.transforms.clean.html_extractor import extract_html  # noqa: E402
from newsbeam.transforms.clean.rules import load_rules  # noqa: E402
from newsbeam.transforms.clean.shingle_score import ShingleScore, score  # noqa: E402
from newsbeam.transforms.clean.text_cleaner import TextCleaner  # noqa: E402

Extractor = Callable[[str], tuple[str, str | None]]  # html -> (text, title)


def _extractors() -> dict[str, Extractor]:
    found: dict[str, Extractor] = {}

    def newsbeam_trafilatura(html: str) -> tuple[str, str | None]:
        result = extract_html(html)
        return result.text, result.title

    found["trafilatura (newsbeam settings)"] = newsbeam_trafilatura
    import trafilatura

    def trafilatura_default(html: str) -> tuple[str, str | None]:
        doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
        return (doc.text or "", doc.title) if doc else ("", None)

    found["trafilatura (defaults)"] = trafilatura_default
    try:
        import lxml.html
        from readability import Document

        def readability(html: str) -> tuple[str, str | None]:
            doc = Document(html)
            tree = lxml.html.fromstring(doc.summary())
            blocks = [
                " ".join(e.text_content().split()) for e in tree.iter("p", "h1", "h2", "h3", "li")
            ]
            return "\n".join(b for b in blocks if b), doc.short_title()

        found["readability-lxml"] = readability
    except ImportError:
        pass
    try:
        from goose3 import Goose

        goose = Goose({"enable_image_fetching": False})

        def goose3(html: str) -> tuple[str, str | None]:
            article = goose.extract(raw_html=html)
            return article.cleaned_text, article.title

        found["goose3"] = goose3
    except ImportError:
        pass
    try:
        import newspaper

        def newspaper4k(html: str) -> tuple[str, str | None]:
            article = newspaper.Article("https://example.invalid/article")
            article.download(input_html=html)
            article.parse()
            return article.text, article.title

        found["newspaper4k"] = newspaper4k
    except ImportError:
        pass
    try:
        from resiliparse.extract.html2text import extract_plain_text

        def resiliparse(html: str) -> tuple[str, str | None]:
            return extract_plain_text(html, main_content=True), None

        found["resiliparse"] = resiliparse
    except ImportError:
        pass
    return found


def _mean(scores: list[ShingleScore]) -> tuple[float, float, float]:
    n = len(scores)
    return (
        sum(s.precision for s in scores) / n,
        sum(s.recall for s in scores) / n,
        sum(s.f1 for s in scores) / n,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timing passes over the pages")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    pages = [read_html_case(name) for name in html_cases()]
    cleaner = TextCleaner(load_rules())
    rows = []
    for name, extract in _extractors().items():
        raw_scores, cleaned_scores = [], []
        for html, gold, _ in pages:
            text, title = extract(html)
            raw_scores.append(score(text, gold))
            cleaned_scores.append(score(cleaner.clean(text, title=title).text, gold))
        started = time.perf_counter()
        for _ in range(args.repeat):
            for html, _, _ in pages:
                extract(html)
        rate = args.repeat * len(pages) / (time.perf_counter() - started)
        rows.append((name, _mean(raw_scores), _mean(cleaned_scores), rate, cleaned_scores))

    baseline = rows[0][3]
    print(f"{len(pages)} pages: {', '.join(html_cases())}")
    header = (
        f"{'extractor':32} {'raw P/R/F1':>20} {'+rules P/R/F1':>20} {'pages/s':>8} {'vs ref':>7}"
    )
    print(header)
    for name, raw, cleaned, rate, _ in rows:
        print(
            f"{name:32} {raw[0]:6.3f}/{raw[1]:.3f}/{raw[2]:.3f} "
            f"{cleaned[0]:6.3f}/{cleaned[1]:.3f}/{cleaned[2]:.3f} "
            f"{rate:8.1f} {rate / baseline:7.2f}"
        )
    print("\nper-page F1 after rules:")
    for name, _, _, _, scores in rows:
        print(f"  {name:32} " + " ".join(f"{s.f1:.2f}" for s in scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
