"""Fixture texts for the dedup tests: real-looking articles and their edited copies."""

from __future__ import annotations

import json
import os
import random
import textwrap
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dedup"
BASE_ARTICLES = ("flood_barrier", "chip_results", "wheat_trial")


def read(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def join(parts: list[str]) -> str:
    return "\n\n".join(parts)


NEWSLETTER_TOP = (
    "Advertisement\n\nSign up for The Morning Brief, our free newsletter, and get the day's "
    "most important stories delivered to your inbox before 7 a.m.\n\n"
)
RELATED_AND_COPYRIGHT = (
    "\n\nRead more:\nCouncil to review harbour parking fees\nFerry timetable changes from next "
    "week\nWhy your insurance bill keeps going up\n\n© 2024 Harbour Courier Media Ltd. All rights "
    "reserved. This material may not be published, broadcast, rewritten or redistributed."
)
EXTRA_PARAGRAPH = (
    "The decision comes a week after the regional government published a report warning that "
    "more than 40,000 homes in coastal towns across the state were exposed to a "
    "one-in-a-hundred-year storm surge, double the number estimated a decade ago."
)
CORRECTION = (
    "\n\nCorrection: An earlier version of this article misstated a figure in the fourth "
    "paragraph. It has been updated to reflect the figure given in the official statement."
)


def with_headline(text: str, headline: str) -> str:
    return f"{headline}\n\n{text}"


def reordered(text: str) -> str:
    p = paragraphs(text)
    return join([p[0], p[2], p[1], *p[4:], p[3]])


def lead_moved_down(text: str) -> str:
    p = paragraphs(text)
    return join([*p[1:3], p[0], *p[3:]])


def paragraph_added(text: str) -> str:
    p = paragraphs(text)
    return join([*p[:3], EXTRA_PARAGRAPH, *p[3:]])


def paragraph_added_on_top(text: str) -> str:
    return join([EXTRA_PARAGRAPH, text])


def boilerplate_added(text: str) -> str:
    return NEWSLETTER_TOP + text + RELATED_AND_COPYRIGHT


def whitespace_and_unicode_changed(text: str) -> str:
    """Curly quotes, NBSPs, non-breaking hyphens, full-width digits, ligatures,
    zero-width spaces, hard-wrapped CRLF lines."""
    changed = (
        text.replace('"', "\u201c")
        .replace("'", "\u2019")
        .replace("-", "\u2011")
        .replace(" the ", " the\u00a0")
        .replace("2", "\uff12")
        .replace("fi", "\ufb01")
        .replace(". ", ".  \u200b")
    )
    wrapped = [
        textwrap.fill(p, 68, break_long_words=False, break_on_hyphens=False).replace("\n", "\r\n")
        for p in changed.split("\n\n")
    ]
    return "\r\n \r\n".join(wrapped)


def correction_appended(text: str) -> str:
    """A number corrected in the body and a correction note at the end."""
    p = paragraphs(text)
    words = p[3].split()
    for i, word in enumerate(words):
        if any(ch.isdigit() for ch in word):
            words[i] = word.replace(next(ch for ch in word if ch.isdigit()), "9", 1)
            break
    p[3] = " ".join(words)
    return join(p) + CORRECTION


def everything_at_once(text: str) -> str:
    return with_headline(
        boilerplate_added(paragraph_added(text)) + CORRECTION, "Green light after a decade"
    )


def shortened(text: str, keep: int = 3) -> str:
    """A wire version cut to length from the bottom: the first `keep` paragraphs."""
    return join(paragraphs(text)[:keep])


# OCR-style confusions (else a neighbouring letter), as in benchmarks/synthetic_news.py.
_CONFUSIONS = {"l": "1", "o": "0", "e": "c", "s": "5", "m": "n", "n": "m", "i": "l", "u": "v"}


def character_noise(text: str, rate: float = 0.01, seed: int = 3) -> str:
    """About `rate` of the letters changed: confused, dropped, doubled or swapped."""
    rng = random.Random(seed)
    out, chars, i = [], list(text), 0
    while i < len(chars):
        ch = chars[i]
        if not ch.isalnum() or rng.random() >= rate:
            out.append(ch)
        else:
            roll = rng.random()
            if roll < 0.5:
                out.append(_CONFUSIONS.get(ch.lower(), "e" if ch != "e" else "a"))
            elif roll < 0.7:
                pass
            elif roll < 0.85:
                out.append(ch + ch)
            elif i + 1 < len(chars) and chars[i + 1].isalnum():
                out.append(chars[i + 1] + ch)
                i += 1
            else:
                out.append(ch)
        i += 1
    return "".join(out)


def statement_pair() -> tuple[str, str]:
    """A long report printing a statement in full, and a short article built around it."""
    statement = read("council_statement")
    return (
        read("statement_report").replace("{statement}", statement),
        read("statement_brief").replace("{statement}", statement),
    )


def roundup_pair() -> tuple[str, str]:
    """A short brief, and a long round-up of briefs that includes it word for word."""
    brief = read("parking_brief")
    return read("news_roundup").replace("{brief}", brief), brief


# Shortened and excerpt versions: the copy (second) is contained in the original.
MUST_CONTAIN_EDITS = {
    "shortened wire version": lambda t: (t, shortened(t, 3)),
    "shortened, new headline and dateline": lambda t: (
        t,
        with_headline(
            shortened(t, 4).replace(t.split(" ")[0], "WIRE REPORT -", 1), "Decision at last"
        ),
    ),
    "shortened and noisy": lambda t: (t, character_noise(shortened(t, 3))),
    "shortened with site furniture": lambda t: (t, boilerplate_added(shortened(t, 3))),
    "shortened, correction appended": lambda t: (t, shortened(t, 4) + CORRECTION),
}

MUST_MATCH_EDITS = {
    "changed headline": lambda t: (
        with_headline(t, "Council approves plan after a long and bitter debate"),
        with_headline(t, "After ten years of studies, the decision everyone was waiting for"),
    ),
    "re-ordered paragraphs": lambda t: (t, reordered(t)),
    "opening paragraph moved down": lambda t: (t, lead_moved_down(t)),
    "added paragraph": lambda t: (t, paragraph_added(t)),
    "added paragraph on top": lambda t: (t, paragraph_added_on_top(t)),
    "boilerplate added": lambda t: (t, boilerplate_added(t)),
    "whitespace and unicode": lambda t: (t, whitespace_and_unicode_changed(t)),
    "correction appended": lambda t: (t, correction_appended(t)),
    "all of the above": lambda t: (t, everything_at_once(t)),
    "light character noise": lambda t: (t, character_noise(t)),
    "noise, headline and boilerplate": lambda t: (
        t,
        character_noise(with_headline(boilerplate_added(t), "Barrier approved"), seed=5),
    ),
    "dropped paragraph and noise": lambda t: (
        t,
        character_noise(join(paragraphs(t)[:4] + paragraphs(t)[5:]), seed=7),
    ),
}


def must_not_match_pairs() -> dict[str, tuple[str, str]]:
    footer = read("pr_footer")
    return {
        "independent rewrite of one report": (read("flood_barrier"), read("flood_barrier_rewrite")),
        "translation into German": (read("flood_barrier"), read("flood_barrier_de")),
        "two translations of one report": (
            read("strike_translation_a"),
            read("strike_translation_b"),
        ),
        "short releases sharing a long footer": (
            join([read("pr_brief_1"), footer]),
            join([read("pr_brief_2"), footer]),
        ),
        "different stories": (read("chip_results"), read("wheat_trial")),
        "short article around a statement a report prints in full": statement_pair(),
        "short summary of a long report": (read("flood_barrier"), read("flood_barrier_summary")),
        "brief inside a long round-up": roundup_pair(),
    }


def shared_dir() -> Path:
    """../shared beside the repository (NEWSBEAM_SHARED overrides)."""
    override = os.environ.get("NEWSBEAM_SHARED")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared"


def seed_gold_texts() -> dict[str, str] | None:
    gold = shared_dir() / "seeds" / "gold.json"
    if not gold.is_file():
        return None
    data = json.loads(gold.read_text(encoding="utf-8"))
    return {name: entry["gold_text"] for name, entry in data.items() if entry.get("gold_text")}
