"""Main text and metadata of an HTML page (pure, no Beam), with trafilatura.

trafilatura is the extractor (see the docs "Clean stage" and benchmarks/README.md
for the comparison with readability-lxml, goose3, newspaper4k and resiliparse).
Before parsing, cheap guards turn away what no parser should see: binary junk,
and pages far beyond any real article (`HtmlGuards`). The text it returns then
goes through the same line rules as raw text (see html_cleaner / transform).

This module never enforces a time limit itself: `extraction_worker` runs it in
a child process that can be killed.
"""

from __future__ import annotations

import functools
import logging
import re
from configparser import ConfigParser
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ftfy import fix_encoding
from ftfy.badness import is_bad

log = logging.getLogger(__name__)

# Script/style/svg blocks and comments carry no article text but can be most
# of a page's bytes; dropping them first keeps the parser's tree small.
# JSON-LD scripts stay: they carry the author and publication date.
_NOISE_BLOCKS = re.compile(
    r"<script\b(?![^>]*application/ld\+json)[^>]*>.*?</script\s*>"
    r"|<(style|svg|noscript|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\ufffd]")
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|,|\band\b|&)\s*")
_BY_PREFIX = re.compile(r"^\s*by\s+", re.IGNORECASE)


class ExtractionError(Exception):
    """The page cannot be turned into an article; `reason` is the dead-letter code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class HtmlGuards:
    # Pages above this (after dropping scripts/styles) are cut: real article
    # markup is a few hundred KB at most, the rest is junk that costs parse time.
    max_chars: int = 1_000_000
    # Share of binary-looking characters (C0 controls, U+FFFD) in the first
    # `sniff_chars` above which the payload is not HTML text at all.
    max_binary_ratio: float = 0.05
    sniff_chars: int = 65_536
    # trafilatura's own cap on the number of elements it will process.
    max_tree_size: int = 60_000


@dataclass(frozen=True, slots=True)
class HtmlExtraction:
    text: str  # main content, one block per line, before the text rules
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None  # RFC 3339 UTC
    url: str | None = None
    truncated: bool = False


def extract_html(html: str, guards: HtmlGuards | None = None) -> HtmlExtraction:
    """Extract body and metadata; raises ExtractionError when there is nothing to extract."""
    import trafilatura  # imported here so that the worker process pays for it, not callers

    guards = guards or HtmlGuards()
    sniff = html[: guards.sniff_chars]
    if sniff and len(_BINARY_CHARS.findall(sniff)) / len(sniff) > guards.max_binary_ratio:
        raise ExtractionError("extraction_failed", "payload looks binary, not HTML")
    html = _NOISE_BLOCKS.sub(" ", html.replace("\x00", ""))
    truncated = len(html) > guards.max_chars
    if truncated:
        log.warning("HTML of %d chars cut to %d before parsing", len(html), guards.max_chars)
        html = html[: guards.max_chars]
    try:
        document = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            favor_precision=True,
            config=_trafilatura_config(guards.max_tree_size),
            date_extraction_params={
                "outputformat": _DATE_FORMAT,
                "original_date": True,
                "extensive_search": False,
            },
        )
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise ExtractionError("extraction_failed", f"{type(exc).__name__}: {exc}") from exc
    if document is None or not (document.text or "").strip():
        raise ExtractionError("extraction_failed", "no main content found in the page")
    return HtmlExtraction(
        text=_repair(document.text),
        title=_repair(document.title).strip() or None if document.title else None,
        authors=_authors(document.author),
        published_at=_rfc3339(_precise_date(document.date, html)),
        url=document.url or None,
        truncated=truncated,
    )


@functools.cache
def _trafilatura_config(max_tree_size: int) -> ConfigParser:
    from trafilatura.settings import use_config

    config = use_config()
    config["DEFAULT"]["max_tree_size"] = str(max_tree_size)
    # trafilatura's own timeout uses SIGALRM (main thread only); the worker
    # process enforces the limit instead.
    config["DEFAULT"]["extraction_timeout"] = "0"
    return config


def _precise_date(date: str | None, html: str) -> str | None:
    """trafilatura hands htmldate the page url, whose /2024/05/13/ path wins
    over the page's own timestamp; ask htmldate again without it for the time."""
    if not date or not date.endswith("T00:00:00"):
        return date
    from htmldate import find_date

    try:
        again = find_date(
            html, outputformat=_DATE_FORMAT, original_date=True, extensive_search=False
        )
    except (ValueError, TypeError):
        return date
    return again if again and again[:10] == date[:10] else date


def _repair(text: str) -> str:
    """Undo mojibake (UTF-8 read as Latin-1/cp1252) when the text shows it."""
    return fix_encoding(text) if is_bad(text) else text


def _authors(value: str | None) -> list[str]:
    if not value:
        return []
    names: list[str] = []
    for part in _AUTHOR_SPLIT.split(_repair(value)):
        name = " ".join(_BY_PREFIX.sub("", part).split())
        if name and name not in names:
            names.append(name)
    return names


def _rfc3339(value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
