"""regex_analysis: the facts the pattern index relies on are true of every match."""

from __future__ import annotations

import re
import sys

import pytest
from clean_golden import fixture_docs, mutant_docs

from newsbeam.transforms.clean.regex_analysis import (
    first_chars,
    has_group_references,
    is_start_anchored,
    required_literals,
    whitespace_chars,
)
from newsbeam.transforms.clean.rules import load_rules
from newsbeam.transforms.clean.text_normalizer import normalize_lines

# Shapes the analysis must get right (or give up on), beyond the packaged rules.
TRICKY = [
    r"^abc",
    r"\Aabc",
    r"^a|b",
    r"(?m:^a)",
    r"(^a)",
    r"a|",
    r"(?:ab)?c",
    r"x*",
    r"[ab]c",
    r"(?i:abc)d",
    r"^a?b",
    r"^a*",
    r"^\s*x",
    r"^[^x]y",
    r"(\w+) \1",
    r"^(?P<w>\w+) (?P=w)",
    r"(?=ab)a",
    r"(?!ab)\w+",
    r"(?<=x)yz",
    r"^(?>ab|c)d",
    r"^[A-C]\d",
    r"^.{0,3}end",
    r"^(?:home|homes?)\b",
    r"^[\s\-–—(]*with\b",
    r"©\s*\d{4}",
    r"\b(is|are) (for|only) members\b",
]


def _rule_patterns() -> list[re.Pattern[str]]:
    rules = load_rules()
    context = rules.byline.patterns + rules.date_line.patterns + rules.repeat.prefixes
    return [p for rule in rules.patterns for p in rule.patterns] + list(context)


def _runs(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern as the index runs it (lower-case case-insensitive ones without IGNORECASE)."""
    source = pattern.pattern
    if pattern.flags & re.IGNORECASE and source == source.lower():
        return re.compile(source)
    return pattern


def _patterns() -> list[re.Pattern[str]]:
    tricky = [re.compile(s) for s in TRICKY] + [re.compile(s, re.IGNORECASE) for s in TRICKY]
    return [_runs(p) for p in _rule_patterns()] + tricky


def _lines() -> list[str]:
    lines = {
        line
        for gen in (fixture_docs, mutant_docs)
        for doc in gen()
        for line in normalize_lines(doc.text)
        if line
    }
    lines |= {"abc", "ab", "xc", "bc", "b", "aab", "yz", "xyz", "word word", "HOME", "homes"}
    lines |= {"abcd", "cd", "Aé1", "C9", "end", "abend", " with x", "— with", "With"}
    lines |= {"are only members", "© 2024", "\u212aelvin", "İstanbul", "ſtop", "K"}
    return sorted(lines)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return _lines()


def test_start_anchoring() -> None:
    assert is_start_anchored(re.compile(r"^abc"))
    assert is_start_anchored(re.compile(r"\Aabc"))
    assert not is_start_anchored(re.compile(r"^a|b"))  # the second branch floats
    assert not is_start_anchored(re.compile(r"^a", re.MULTILINE))
    assert not is_start_anchored(re.compile(r"abc"))


def test_required_literals_examples() -> None:
    assert required_literals(re.compile(r"\bnewsletters?\b.{0,60}\binbox\b")) == {"newsletter"}
    assert required_literals(re.compile(r"[ab]c")) == {"c"}
    assert required_literals(re.compile(r"(?:ab)?c")) == {"c"}
    assert required_literals(re.compile(r"(xx|yz)w+")) == {"xx", "yz"}
    assert required_literals(re.compile(r"a|")) is None  # may match nothing at all
    assert required_literals(re.compile(r"x*")) is None
    assert required_literals(re.compile(r"(?i:abc)d")) == {"d"}
    assert required_literals(re.compile(r"abc", re.IGNORECASE)) is None


def test_first_chars_examples() -> None:
    assert first_chars(re.compile(r"^(read|related)\b")) == {"r"}
    assert first_chars(re.compile(r"^a?b")) == {"a", "b"}
    assert first_chars(re.compile(r"^a*")) is None  # matches the empty string
    assert first_chars(re.compile(r"^[^x]y")) is None
    assert first_chars(re.compile(r"^\s*x")) == whitespace_chars() | {"x"}
    assert first_chars(re.compile(r"^Abc", re.IGNORECASE)) is None
    assert first_chars(re.compile(r"^Abc", re.IGNORECASE), fold_case=True) == {"a"}
    assert first_chars(re.compile(r"^[A-C]"), fold_case=True) == {"a", "b", "c"}
    assert first_chars(re.compile(r"^é", re.IGNORECASE), fold_case=True) is None


def test_group_references() -> None:
    assert has_group_references(re.compile(r"(\w+) \1"))
    assert has_group_references(re.compile(r"(?P<w>\w+) (?P=w)"))
    assert has_group_references(re.compile(r"(a)?(?(1)b|c)"))
    assert not has_group_references(re.compile(r"(a)(?P<b>b)"))


def test_facts_hold_for_every_match(lines: list[str]) -> None:
    """On ~10,000 real and mutated lines: a pattern said to be start-anchored only
    matches at 0, every match contains a required literal, and every match starts
    with one of the first characters."""
    checked = 0
    for pattern in _patterns():
        anchored = is_start_anchored(pattern)
        needles = required_literals(pattern)
        first = first_chars(pattern)
        folded = first_chars(pattern, fold_case=True)
        for line in lines + [line.lower() for line in lines]:
            found = pattern.search(line)
            if found is None:
                continue
            checked += 1
            where = f"{pattern.pattern!r} on {line!r}"
            if anchored:
                assert found.start() == 0 and pattern.match(line), where
            if needles is not None:
                assert any(n in line for n in needles), where
            if found.start() == 0 and found.end() > 0:
                assert first is None or line[0] in first, where
                lowered = line.lower()[0]
                assert folded is None or lowered in folded or not lowered.isascii(), where
    assert checked > 1000


def test_whitespace_chars_are_all_in_the_bmp() -> None:
    every = frozenset(filter(str.isspace, map(chr, range(sys.maxunicode + 1))))
    assert whitespace_chars() == every
    assert all(re.match(r"\s", c) for c in every)


def test_only_two_non_ascii_characters_lower_case_to_ascii() -> None:
    """What `first_chars(fold_case=True)` relies on: "İ" and "K" (Kelvin) are the
    only non-ASCII characters whose lower case starts with an ASCII character, and
    case-insensitively they match exactly that letter."""
    found = [
        c for c in map(chr, range(128, sys.maxunicode + 1)) if c.lower()[:1].isascii() and c.lower()
    ]
    assert found == ["\u0130", "\u212a"]
    for c in found:
        for ascii_char in map(chr, range(128)):
            if re.match(re.escape(ascii_char), c, re.IGNORECASE):
                assert ascii_char.lower() == c.lower()[0]
