"""Whitespace and Unicode normalisation applied before any rule sees a line.

Mojibake (UTF-8 decoded as Latin-1/cp1252: "cafÃ©") repaired with ftfy when
the text shows it; NFC composition; zero-width characters and soft hyphens removed; every kind of
Unicode space collapsed to one ASCII space; line separators unified to "\\n";
other control characters dropped. Curly quotes, dashes and ellipses are kept:
they are the article's typography, not noise.
"""

from __future__ import annotations

import re
import unicodedata

from ftfy import fix_encoding
from ftfy.badness import is_bad

# Always invisible and meaningless in running text: zero-width space, word
# joiner, BOM / zero-width no-break space, Mongolian vowel separator, soft hyphen.
_DROP = re.compile("[\u200b\u2060\ufeff\u180e\u00ad]")
# ZWNJ/ZWJ are spelling in Persian, Indic scripts and emoji sequences; they are
# removed only where they touch ASCII or whitespace, where they are junk.
_STRAY_JOINERS = re.compile(
    r"(?<=[\x00-\x7f])[\u200c\u200d]+|[\u200c\u200d]+(?=[\x00-\x7f])|^[\u200c\u200d]+|[\u200c\u200d]+$",
    re.MULTILINE,
)
# UTF-8 read as cp1252/Latin-1 always leaves a lead character (Â..ô) followed by
# a continuation (U+0080..U+00BF, or what cp1252 maps those bytes to). Checking
# for that pair first spares ftfy's full heuristics on clean text.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
    "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030"
    "\u2039\u203a\u20ac\u2122]"
)
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
# C0/C1 controls other than tab and newline (tab becomes a space below).
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")


def normalize_lines(text: str) -> list[str]:
    """Normalise a whole text into its lines (what `normalize_text` joins with "\\n")."""
    if not text.isascii():  # ASCII is NFC already and cannot be mojibake
        if _may_be_mojibake(text) and is_bad(text):
            text = fix_encoding(text)
        text = unicodedata.normalize("NFC", text)
    # Most lines are printable: no control, format or separator character, and
    # the ASCII space as their only whitespace. Such a line has nothing to drop
    # and at most spaces to collapse; a text of such lines has no line break
    # other than "\n". (This fast path spares a regex pass per character class.)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.isprintable():
            break
        if "  " in line or line[:1] == " " or line[-1:] == " ":
            lines[i] = " ".join(line.split())
    else:
        return lines
    return [
        " ".join(line.split()) if line.isprintable() else _normalize_unprintable(line)
        for line in _LINE_BREAKS.sub("\n", text).split("\n")
    ]


def _may_be_mojibake(text: str) -> bool:
    # The hint's lead characters (U+00C2..U+00F4) are all 0xC3 0x.. in UTF-8: a
    # byte search (memchr) spares the regex on texts without any of them.
    return b"\xc3" in text.encode("utf-8", "surrogatepass") and bool(_MOJIBAKE_HINT.search(text))


def _normalize_unprintable(line: str) -> str:
    line = _DROP.sub("", line)  # (a regex: str.translate with a dict is ~40x slower)
    if "\u200c" in line or "\u200d" in line:
        # Per line is the same as on the whole text: at a line's edge the
        # joiner touches "\n" (ASCII) there and the line's start/end here.
        line = _STRAY_JOINERS.sub("", line)
    line = _CONTROLS.sub("", line)
    # str.split() splits on every Unicode space (NBSP, thin space, ideographic
    # space, tabs), so this both collapses and unifies them.
    return " ".join(line.split())


def normalize_text(text: str) -> str:
    """Normalise a whole text; keeps the line structure (one output line per input line)."""
    return "\n".join(normalize_lines(text))


def normalize_line(line: str) -> str:
    return normalize_text(line).replace("\n", " ").strip()
