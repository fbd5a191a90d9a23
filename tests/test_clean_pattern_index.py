"""PatternIndex finds the same rule as trying the pattern rules one by one, in order."""

from __future__ import annotations

import pytest
from clean_golden import fixture_docs, mutant_docs

from newsbeam.transforms.clean.pattern_index import PatternIndex
from newsbeam.transforms.clean.rules import PatternRule, RuleSet, default_rules_path, parse_rules
from newsbeam.transforms.clean.text_normalizer import normalize_lines

# Rules of shapes the packaged file does not have, appended after its own.
EXTRA_RULES = r"""
[[pattern]]
name = "x-backreference"
reason = "x"
max_words = 4
patterns = ['^(\w+) \1$']

[[pattern]]
name = "x-floating-branch"
reason = "x"
patterns = ['^zzfoo|barqux']

[[pattern]]
name = "x-scoped-multiline"
reason = "x"
patterns = ['(?m:^tick)']

[[pattern]]
name = "x-non-ascii-ignorecase"
reason = "x"
patterns = ['^Émission\S*']

[[pattern]]
name = "x-case-sensitive"
reason = "x"
case_sensitive = true
patterns = ['^[A-Z]{4,}$']

[[pattern]]
name = "x-group-name-1"
reason = "x"
patterns = ['^(?P<n>alpha) beta']

[[pattern]]
name = "x-group-name-2"
reason = "x"
patterns = ['^(?P<n>alpha) gamma']

[[pattern]]
name = "x-kelvin"
reason = "x"
patterns = ['^kelvin\S*', '^stop\S*']

[[pattern]]
name = "x-empty-match"
reason = "x"
zone = "tail"
max_words = 2
patterns = ['^(?:maybe)?']

[[pattern]]
name = "x-no-literals"
reason = "x"
patterns = ['\bQ\d+\b', '^«']

[[pattern]]
name = "x-nested-needles"
reason = "x"
patterns = ['ushers\d', '(?<=s)he\d']
"""

SPECIAL_LINES = [
    "word word",
    "barqux here",
    "zz barqux",
    "zzfoo",
    "tick tock",
    "Émission spéciale",
    "émission",
    "ÉMISSION",
    "ABCD",
    "Abcd",
    "alpha beta",
    "alpha gamma",
    "\u212aelvin",
    "KELVIN",
    "ſtop now",
    "Stop",
    "maybe",
    "x",
    "Q12 results",
    "« quoted »",
    "İstanbul",
    "Home » News » World",
    "Related:",
    "the ushers1 waited",
    "she2 said",
    "ushe3",
]


def _reference(
    rules: tuple[PatternRule, ...], text: str, words: int, in_header: bool, in_tail: bool
) -> PatternRule | None:
    """The definition: the first rule that applies and matches, trying them in order."""
    lower = text.lower()
    for rule in rules:
        if rule.max_words is not None and words > rule.max_words:
            continue
        if (rule.zone == "header" and not in_header) or (rule.zone == "tail" and not in_tail):
            continue
        if rule.matches(text, lower):
            return rule
    return None


def _lines() -> list[str]:
    found = {
        line
        for gen in (fixture_docs, mutant_docs)
        for doc in gen()
        for line in normalize_lines(doc.text)
        if line
    }
    return sorted(found)[::3] + SPECIAL_LINES


def _rule_sets() -> list[RuleSet]:
    default_text = default_rules_path().read_text(encoding="utf-8")
    return [parse_rules(default_text), parse_rules(default_text + EXTRA_RULES)]


@pytest.mark.parametrize("ruleset", _rule_sets(), ids=["packaged", "packaged+extra"])
def test_same_rule_as_trying_them_in_order(ruleset: RuleSet) -> None:
    index = PatternIndex(ruleset.patterns)
    lines = _lines()
    mismatches = []
    matched = 0
    for text in lines:
        words = text.count(" ") + 1
        for in_header, in_tail in ((True, False), (False, True), (False, False), (True, True)):
            expected = _reference(ruleset.patterns, text, words, in_header, in_tail)
            got = index.first_match(text, text.lower(), words, in_header, in_tail)
            matched += expected is not None
            if got is not expected:
                mismatches.append((text, in_header, in_tail, expected, got))
    assert mismatches == []
    assert matched > 500  # the lines exercise the rules, not just their absence


def test_extra_rules_are_reached() -> None:
    """The special lines do hit the unusual rules (else the comparison proves little)."""
    ruleset = _rule_sets()[1]
    index = PatternIndex(ruleset.patterns)
    hits = {
        rule.name
        for text in SPECIAL_LINES
        for rule in [index.first_match(text, text.lower(), text.count(" ") + 1, True, True)]
        if rule is not None
    }
    for name in (
        "x-backreference",
        "x-floating-branch",
        "x-scoped-multiline",
        "x-non-ascii-ignorecase",
        "x-case-sensitive",
        "x-group-name-1",
        "x-group-name-2",
        "x-kelvin",
        "x-empty-match",
        "x-no-literals",
        "x-nested-needles",
    ):
        assert name in hits
