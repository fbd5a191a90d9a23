"""Golden outputs of TextCleaner: the documents, the digest of a result, and the writer.

The golden file (tests/fixtures/clean/golden.json) pins the exact output of
`TextCleaner.clean` (text, removed counts, title, authors, every line decision)
on a fixed set of documents, so that work on the cleaner's speed can prove it
changed nothing. It stores one digest per document (SHA-256 of the result as
canonical JSON) and a few results in full, for a readable diff when one breaks.

Documents (each cleaned with and without a title where one exists):
- `text/...`: the text fixtures in tests/fixtures/clean/text;
- `html/...`: the text trafilatura extracts from the HTML fixtures (the digest
  of that input is stored too: when the extractor's output changes, the case
  says so instead of blaming the cleaner);
- `seed/...`: the sample articles in ../shared/seeds (skipped when absent);
- `corpus/...`: 300 articles of benchmarks/corpus.py, with their titles, as
  `newsbeam run` sees them;
- `mutant/...`: 300 documents assembled from fixture and corpus lines with
  seeded edits (case changes, boilerplate words and prefixes, odd spaces and
  separators, ellipses, repeats, overlong lines, mojibake), so that edge cases
  of every rule family are covered, not just the lines the rules were written on.

Regenerate (only when the cleaner's output is meant to change):

    .venv/bin/python tests/clean_golden.py --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
GOLDEN_PATH = TESTS / "fixtures" / "clean" / "golden.json"
# The sample articles: $NEWSBEAM_SHARED/seeds, else shared/seeds beside the repository.
SEEDS = Path(os.environ.get("NEWSBEAM_SHARED") or REPO.parent / "shared") / "seeds"
# Results stored in full (besides their digest), for a readable failure.
FULL_EXAMPLES = (
    "text/harbour_port_strike.txt",
    "corpus/0003+title",
    "mutant/0002",
    "mutant/0058+title",
)

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
if str(REPO / "benchmarks") not in sys.path:
    sys.path.insert(0, str(REPO / "benchmarks"))

from clean_fixtures import html_cases, manifest, read_html_case, read_text_case  # noqa: E402
from corpus import articles  # noqa: E402

from newsbeam.transforms.clean.text_cleaner import CleanResult  # noqa: E402


@dataclass(frozen=True, slots=True)
class GoldenDoc:
    key: str
    text: str
    title: str | None = None
    # Digest of the input, for inputs made by another library (HTML extraction).
    input_digest: str | None = None


def result_json(result: CleanResult) -> str:
    """The whole result as canonical JSON (what the digest is taken of)."""
    return json.dumps(
        {
            "text": result.text,
            "removed": result.removed,
            "title": result.title,
            "authors": result.authors,
            "decisions": [[d.number, d.text, d.kept, d.rule, d.reason] for d in result.decisions],
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _with_and_without_title(key: str, text: str, title: str | None) -> Iterator[GoldenDoc]:
    yield GoldenDoc(key, text)
    if title:
        yield GoldenDoc(f"{key}+title", text, title)


def fixture_docs() -> Iterator[GoldenDoc]:
    for name in sorted(manifest()["text"]):
        path = TESTS / "fixtures" / "clean" / "text" / name
        if not path.is_file():  # some manifest entries are HTML-only gold bodies
            continue
        raw, _, meta = read_text_case(name)
        yield from _with_and_without_title(f"text/{name}", raw, meta.get("title"))


def html_docs() -> Iterator[GoldenDoc]:
    from newsbeam.transforms.clean.html_extractor import extract_html

    for name in html_cases():
        html, _, _ = read_html_case(name)
        extraction = extract_html(html)
        text = extraction.text
        for doc in _with_and_without_title(f"html/{name}", text, extraction.title):
            yield GoldenDoc(doc.key, doc.text, doc.title, input_digest=digest(text))


def seed_docs() -> Iterator[GoldenDoc]:
    if not (SEEDS / "gold.json").is_file():
        return
    gold = json.loads((SEEDS / "gold.json").read_text(encoding="utf-8"))
    for name, entry in sorted(gold.items()):
        raw = (SEEDS / name).read_text(encoding="utf-8")
        line = entry.get("title")
        title = raw.split("\n")[line - 1] if line else None
        yield from _with_and_without_title(f"seed/{name}", raw, title)


def corpus_docs(count: int = 300) -> Iterator[GoldenDoc]:
    for index, article in enumerate(articles(count, seed=11)):
        yield from _with_and_without_title(
            f"corpus/{index:04d}", article["text"], article["title"] if index % 2 else None
        )


# ---------------------------------------------------------------- mutants

# Words and affixes the rules react to: each edit brings a line nearer to, or
# just past, a rule's edge.
_WORDS = [
    "subscribe", "newsletter", "Advertisement", "share", "Getty Images", "©", "(c) ", "Photo:",
    "Read more:", "»", "›", "|", "•", "…", "...", "comments", "Related", "sign in", "app",
    "Reuters", "By", "Updated", "2024", "All rights reserved", "follow us", "inbox", "Menu",
    "Tags:", "source:", "reporting by", "Editor", "and", "&", "?", "!", ":", "—", "-", "ÃŸ",
]  # fmt: skip
_PREFIXES = [
    "(Reuters) — ", "LONDON — ", "TOKYO (AP) - ", "Home » ", "By ", "Photo: ", "Read more: ",
    "Updated ", "Published 3 March 2024 ", "© ", "Advertisement ", "- ", "1. ", "• ",
    "Sponsored: ", "Watch: ", "Copyright ", "PARIS, March 17 — ", "“", "Comments (", "12 ",
]  # fmt: skip
_SUFFIXES = [
    " …", "...", ":", "?", "!", " (AP Photo/John Doe)", " |", " »", ".", ",", "”", " 2024",
    " — Reuters", " Senior Reporter", " and Ana Lima", " Staff Writer", ")", " ©", "\u00a0",
]  # fmt: skip
# Whole lines at a rule's edge (or just past it).
_LINES = [
    "TOKYO (Reuters) —", "SEOUL, March 17 -", "NEW YORK —", "Tokyo (Reuters) —", "PARIS -- ",
    "Advertisement", "ADVERTISEMENT:", "Anzeige", "1000 47", "12:45 | 3/4", "Story continues below",
    "Home › World › Asia", "You are here: News", "News » Politics » Asia » Japan",
    "Facebook Twitter Email", "Share", "Share this story on Facebook", "Comments (12)",
    "3 comments", "Leave a reply", "Related:", "You may also like", "Most read today",
    "Read more: Tokyo talks stall", "Tags: Japan, Korea", "Editor's picks", "Up next",
    "By Jane Doe and John Smith, Staff Writers", "Words by Ana Lima | Reuters",
    "Published 3 March 2024, 09:14 GMT", "March 3, 2024", "2024-03-03 09:14", "5 min read",
    "03.03.2024 09:14", "Senior Reporter", "Lukas Meier",
    "Jane Doe is a senior reporter at The Times.",
    "About the author:", "© 2024 Example Media", "Copyright 2024", "All rights reserved.",
    "Reporting by Ana Lima; Editing by Tom Reyes", "Photo: Getty Images", "(AP Photo/John Doe)",
    "Sign up for our newsletter", "Subscribe now", "Already a subscriber? Log in",
    "You have reached your limit of free articles", "Download the free News app",
    "Click here", "Got a tip?", "Skip to main content", "Menu", "News | Sport | Culture | Travel",
    "Your trusted source for local news", "The latest news from Osaka", "1. Rates rise",
    "• Key point", "What happens next?", "The Big Question: Who Pays For The Flood Defences?",
]  # fmt: skip
_ODD_CHARS = ["\u00a0", "\u200b", "\u00ad", "\t", "\u2009", "\u200d", "\x07", "\u3000"]
_SEPARATORS = ["\n", "\n\n", "\r\n", "\n \n", "\u2028"]


def _line_pool() -> list[str]:
    pool: list[str] = []
    for name in sorted(manifest()["text"]):
        path = TESTS / "fixtures" / "clean" / "text" / name
        if path.is_file():
            pool.extend(line for line in path.read_text(encoding="utf-8").split("\n") if line)
    for article in articles(40, seed=5):
        pool.extend(line for line in article["text"].split("\n") if line)
    return pool


def _mutate(rng: random.Random, line: str, previous: list[str], pool: list[str]) -> str:
    edit = rng.randrange(17)
    words = line.split()
    if edit == 0:
        return line.upper()
    if edit == 1:
        return line.lower()
    if edit == 2:
        return line.title()
    if edit == 3 and words:
        words[rng.randrange(len(words))] = rng.choice(_WORDS)
        return " ".join(words)
    if edit == 4:
        return rng.choice(_PREFIXES) + line
    if edit == 5:
        return line + rng.choice(_SUFFIXES)
    if edit == 6 and len(words) > 2:
        return " ".join(words[: rng.randint(1, len(words) - 1)])
    if edit == 7 and line:
        at = rng.randrange(len(line))
        return line[:at] + rng.choice(_ODD_CHARS) + line[at:]
    if edit == 8 and previous:
        return rng.choice(previous)  # a repeat
    if edit == 9 and previous:
        return rng.choice(_PREFIXES[:4]) + rng.choice(previous)  # a decorated repeat
    if edit == 10:
        return " ".join([line] + [rng.choice(pool) for _ in range(rng.randint(3, 12))])
    if edit == 11 and len(words) > 4:
        return " ".join(words[: rng.randint(3, len(words) - 1)]) + rng.choice([" …", "..."])
    if edit == 12:
        return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 6)))
    if edit in (13, 14):
        return rng.choice(_LINES)
    return line


def mutant_docs(count: int = 300) -> Iterator[GoldenDoc]:
    rng = random.Random(20240611)
    pool = _line_pool()
    for index in range(count):
        lines: list[str] = []
        for _ in range(rng.randint(3, 45)):
            base = rng.choice(pool)
            lines.append(_mutate(rng, base, lines, pool) if rng.random() < 0.45 else base)
        text = "".join(line + rng.choice(_SEPARATORS) for line in lines)
        if rng.random() < 0.06:  # UTF-8 read as cp1252 (ftfy repairs it)
            text = text.encode("utf-8").decode("cp1252", errors="ignore")
        title = None
        if rng.random() < 0.5 and lines:
            title = rng.choice(lines[:8])
            title = title.upper() if rng.random() < 0.2 else title
        yield from _with_and_without_title(f"mutant/{index:04d}", text, title)


def all_docs() -> Iterator[GoldenDoc]:
    """Every golden document; seed documents only when ../shared/seeds is present."""
    yield from fixture_docs()
    yield from html_docs()
    yield from seed_docs()
    yield from corpus_docs()
    yield from mutant_docs()


def build() -> dict:
    from newsbeam.transforms.clean.rules import load_rules
    from newsbeam.transforms.clean.text_cleaner import TextCleaner

    cleaner = TextCleaner(load_rules())
    digests: dict[str, str] = {}
    inputs: dict[str, str] = {}
    full: dict[str, dict] = {}
    for doc in all_docs():
        serialised = result_json(cleaner.clean(doc.text, title=doc.title))
        digests[doc.key] = digest(serialised)
        if doc.input_digest is not None:
            inputs[doc.key] = doc.input_digest
        if doc.key in FULL_EXAMPLES:
            full[doc.key] = json.loads(serialised)
    return {
        "_about": "Exact TextCleaner output per document (tests/clean_golden.py explains "
        "the documents and how to regenerate); `digests` are SHA-256 (20 hex digits) of "
        "the result as canonical JSON.",
        "digests": digests,
        "html_input_digests": inputs,
        "full": full,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Write tests/fixtures/clean/golden.json.")
    parser.add_argument("--write", action="store_true", help="overwrite the golden file")
    args = parser.parse_args()
    golden = build()
    if not any(key.startswith("seed/") for key in golden["digests"]):
        print(f"sample articles not found at {SEEDS}: refusing to write without them")
        return 1
    if args.write:
        GOLDEN_PATH.write_text(
            json.dumps(golden, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        print(f"wrote {len(golden['digests'])} digests to {GOLDEN_PATH}")
    else:
        print(f"{len(golden['digests'])} documents; --write to store them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
