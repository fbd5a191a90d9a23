"""PatternIndex: which pattern rule removes a line, found with little regex work (pure).

The answer is defined by the rules file: the first `[[pattern]]` rule, in file
order, that applies to the line (its `max_words` and `zone`) and one of whose
patterns matches it (`PatternRule.matches`). Asking every rule in turn ran
~60 regexes per line, while most lines are article prose that no rule matches.

The index gets the same answer with less work:

- most patterns can only match at the line start. Those whose first character
  is known (`^(read|related)...` starts with "r") are joined, in rule order, into
  one alternation per first character of the line, each pattern in a group of
  its own. One `match` tries them in order and stops at the first that matches,
  so the group that matched (`lastindex`) names the first rule with a matching
  start-anchored pattern (when that rule does not apply to the line, the
  patterns after it are tried one by one). A line starting with "t" never
  tries the "r" patterns;
- the other patterns run one by one, in rule order and only for applicable
  rules before that one, and only when the line contains one of the strings
  every match of the pattern contains (`regex_analysis.required_literals`):
  `[^»›]{1,60}...` only runs on lines with "»" or "›". Those strings are
  found in one pass over the line by an Aho-Corasick automaton
  (pyahocorasick: ~0.3 µs a line, where ~50 `in` tests took 2-3 µs). Which
  rules apply depends on the line's word count and zone: the list is made
  once per kind of line ("plan").

Case modes are those of `PatternRule.matches`: a case-insensitive pattern
written in lower case runs case-sensitively on the lower-cased line; any
other pattern runs as compiled on the line itself.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass

import ahocorasick

from newsbeam.transforms.clean.regex_analysis import (
    RegexSource,
    first_chars,
    has_group_references,
    is_start_anchored,
    required_literals,
)
from newsbeam.transforms.clean.rules import PatternRule

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _PatternPlan:
    """One pattern of one rule, prepared for the index."""

    rule: int  # position of its rule in the rules file
    source: str
    flags: int  # as it runs (see `on_lower`)
    groups: int  # number of its own groups
    on_lower: bool  # runs on the lower-cased line (case-sensitively)
    anchored: bool  # can only match at position 0: `match` instead of `search`
    needles: tuple[str, ...]  # the line must contain one of these to match; () = no gate
    # What the lower-cased line can start with for a match (None: anything);
    # for patterns on the line as is, lines starting with a non-ASCII character
    # are always tried (see `regex_analysis.first_chars`).
    first: frozenset[str] | None
    joinable: bool  # may be embedded in an alternation

    def compiled(self) -> re.Pattern[str]:
        # Compiled on use (re keeps a cache): most run only inside an alternation.
        return re.compile(self.source, self.flags)


@dataclass(frozen=True, slots=True)
class _Union:
    """The joined patterns a line starting with some character can match."""

    pattern: re.Pattern[str] | None  # their alternation, in rule order (None: none, or
    patterns: tuple[_PatternPlan, ...]  # they do not compile together: each runs alone)
    group_pattern: tuple[int, ...]  # group index -> index in `patterns` (-1: inner group)


@dataclass(frozen=True, slots=True)
class _LinePlan:
    """The rules that apply to lines of one word-count bucket and zone."""

    rules: tuple[PatternRule, ...]  # in file order
    position: dict[int, int]  # rule index in the file -> position in `rules`
    # The patterns not joined, in rule order: (position in `rules`, pattern,
    # on_lower, anchored). Those without needles always run (`ungated`); the
    # others when one of their needles is found in the line (`by_needle`:
    # needle number -> indices in `singles`).
    singles: tuple[tuple[int, re.Pattern[str], bool, bool], ...]
    ungated: tuple[int, ...]
    by_needle: dict[int, tuple[int, ...]]
    gated_lower: bool  # some gated single runs on the lower-cased line
    gated_text: bool  # some gated single runs on the line as is
    # The joined patterns of these rules, by the line's first character
    # (lower-cased; for patterns on the line as is, "" for a non-ASCII one).
    lower_unions: dict[str, _Union]
    other_unions: dict[str, _Union]


class PatternIndex:
    """First matching pattern rule for a line; same answer as trying the rules in order."""

    def __init__(self, rules: tuple[PatternRule, ...]) -> None:
        self.rules = rules
        patterns = [
            _prepare(index, pattern)
            for index, rule in enumerate(rules)
            for pattern in rule.patterns
        ]
        # Start-anchored patterns are joined unless they could start with anything
        # and can be skipped by their required strings instead (`[^»›]{1,60}...`).
        joined = [
            p
            for p in patterns
            if p.anchored and p.joinable and (p.first is not None or not p.needles)
        ]
        self._lower_joined = [p for p in joined if p.on_lower]
        self._other_joined = [p for p in joined if not p.on_lower]
        self._singles = [
            p for p in patterns if p not in self._lower_joined and p not in self._other_joined
        ]
        # The needles of all singles, numbered, in one Aho-Corasick automaton per
        # case mode: one pass over the line finds every needle it contains.
        self._needle_ids: dict[tuple[bool, str], int] = {}
        automata = {True: ahocorasick.Automaton(), False: ahocorasick.Automaton()}
        for p in self._singles:
            for needle in p.needles:
                key = (p.on_lower, needle)
                if key not in self._needle_ids:
                    self._needle_ids[key] = len(self._needle_ids)
                    automata[p.on_lower].add_word(needle, self._needle_ids[key])
        for automaton in automata.values():
            automaton.make_automaton()
        self._lower_needles, self._text_needles = automata[True], automata[False]
        self._unions_by_patterns: dict[tuple[int, ...], _Union] = {}
        # Lines whose word count falls between the same two `max_words` limits
        # have the same applicable rules: one plan per bucket and zone.
        self._limits = sorted({r.max_words for r in rules if r.max_words is not None})
        self._plans: dict[tuple[int, bool, bool], _LinePlan] = {}

    def first_match(
        self, text: str, lower: str, words: int, in_header: bool, in_tail: bool
    ) -> PatternRule | None:
        """The first rule (file order) that applies to the line and matches it.

        `text` is a non-empty line, `lower` is `text.lower()`; `in_header` /
        `in_tail`: the line is within the zone of `header` / `tail` rules."""
        key = (bisect.bisect_left(self._limits, words), in_header, in_tail)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(words, in_header, in_tail)
        best = len(plan.rules)
        first = lower[0]
        union = plan.lower_unions.get(first) or self._union(plan, first, True)
        if union.pattern is not None:  # (the common case inline: this runs on every line)
            found = union.pattern.match(lower)
            if found is not None:
                best = _resolve(union, found, lower, plan.position, best)
        elif union.patterns:
            best = _one_by_one(union, 0, lower, plan.position, best)
        other_first = first if first.isascii() else ""
        union = plan.other_unions.get(other_first) or self._union(plan, other_first, False)
        if union.pattern is not None:
            found = union.pattern.match(text)
            if found is not None:
                best = _resolve(union, found, text, plan.position, best)
        elif union.patterns:
            best = _one_by_one(union, 0, text, plan.position, best)
        candidates = plan.ungated
        found_needles: set[int] | None = None
        if plan.gated_lower:
            for _, number in self._lower_needles.iter(lower):
                found_needles = found_needles or set()
                found_needles.add(number)
        if plan.gated_text:
            for _, number in self._text_needles.iter(text):
                found_needles = found_needles or set()
                found_needles.add(number)
        if found_needles:
            chosen = set(candidates)
            for number in found_needles:
                chosen.update(plan.by_needle.get(number, ()))
            candidates = sorted(chosen)
        for index in candidates:
            position, pattern, on_lower, anchored = plan.singles[index]
            if position >= best:
                break
            line = lower if on_lower else text
            if (pattern.match(line) if anchored else pattern.search(line)) is not None:
                best = position
                break
        return plan.rules[best] if best < len(plan.rules) else None

    def _plan(self, words: int, in_header: bool, in_tail: bool) -> _LinePlan:
        position: dict[int, int] = {}
        for index, rule in enumerate(self.rules):
            if (
                (rule.max_words is None or words <= rule.max_words)
                and (rule.zone != "header" or in_header)
                and (rule.zone != "tail" or in_tail)
            ):
                position[index] = len(position)
        singles = [p for p in self._singles if p.rule in position]  # in rule order
        by_needle: dict[int, list[int]] = {}
        for index, p in enumerate(singles):
            for needle in p.needles:
                by_needle.setdefault(self._needle_ids[(p.on_lower, needle)], []).append(index)
        return _LinePlan(
            rules=tuple(self.rules[index] for index in position),
            position=position,
            singles=tuple(
                (position[p.rule], p.compiled(), p.on_lower, p.anchored) for p in singles
            ),
            ungated=tuple(index for index, p in enumerate(singles) if not p.needles),
            by_needle={number: tuple(indices) for number, indices in by_needle.items()},
            gated_lower=any(p.needles and p.on_lower for p in singles),
            gated_text=any(p.needles and not p.on_lower for p in singles),
            lower_unions={},
            other_unions={},
        )

    def _union(self, plan: _LinePlan, first: str, on_lower: bool) -> _Union:
        """The plan's joined patterns a line starting with `first` can match ("" =
        any first character), as one alternation (made once for every plan and
        character that choose the same patterns)."""
        joined = self._lower_joined if on_lower else self._other_joined
        chosen = [
            i
            for i, p in enumerate(joined)
            if p.rule in plan.position and (p.first is None or not first or first in p.first)
        ]
        key = (on_lower, *chosen)
        union = self._unions_by_patterns.get(key)
        if union is None:
            patterns = tuple(joined[i] for i in chosen)
            group_pattern = [-1]
            for index, p in enumerate(patterns):
                group_pattern.append(index)
                group_pattern.extend([-1] * p.groups)  # the pattern's own groups
            union = self._unions_by_patterns[key] = _Union(
                pattern=_compile_union(list(patterns)) if patterns else None,
                patterns=patterns,
                group_pattern=tuple(group_pattern),
            )
        (plan.lower_unions if on_lower else plan.other_unions)[first] = union
        return union


def _resolve(
    union: _Union, found: re.Match[str], line: str, position: dict[int, int], best: int
) -> int:
    """The position of the first applicable rule with a pattern of the union that
    matches `line` (or `best` if that comes first), given the union's match: the
    pattern that matched if its rule applies, else the next one that applies
    and matches."""
    index = union.group_pattern[found.lastindex]
    rule = union.patterns[index].rule
    if rule in position:
        return min(best, position[rule])
    return _one_by_one(union, index + 1, line, position, best)


def _one_by_one(union: _Union, start: int, line: str, position: dict[int, int], best: int) -> int:
    """The first applicable rule among the union's patterns from `start` on that
    matches `line`, trying them one by one (or `best` if that comes first)."""
    for p in union.patterns[start:]:
        if p.rule in position and position[p.rule] < best and p.compiled().match(line):
            return position[p.rule]
    return best


def _prepare(rule: int, pattern: re.Pattern[str]) -> _PatternPlan:
    source = pattern.pattern
    insensitive = bool(pattern.flags & re.IGNORECASE)
    # No upper-case letters means no \S, \W, [A-Z]...: the same on the lower-cased line.
    on_lower = insensitive and source == source.lower()
    runs = RegexSource(source, 0) if on_lower else pattern
    needles = required_literals(runs)
    return _PatternPlan(
        rule=rule,
        source=source,
        flags=runs.flags,
        groups=pattern.groups,
        on_lower=on_lower,
        anchored=is_start_anchored(runs),
        needles=tuple(sorted(needles)) if needles else (),
        first=first_chars(runs, fold_case=not on_lower),
        joinable=not has_group_references(runs),
    )


def _compile_union(patterns: list[_PatternPlan]) -> re.Pattern[str] | None:
    """One alternation of the patterns (in rule order), each in a group of its own;
    None when they do not compile together (e.g. two with the same group name)."""
    parts = []
    for p in patterns:
        flags = "i" if p.flags & re.IGNORECASE else "-i"
        parts.append(f"((?{flags}:{p.source}))")
    try:
        return re.compile("|".join(parts))
    except re.error:
        log.debug("start-anchored patterns do not combine; running them one by one")
        return None
