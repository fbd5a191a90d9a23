"""PatternIndex: which pattern rule removes a line, found with little regex work (pure).

The answer is defined by the rules file: the first `[[pattern]]` rule, in file
order, that applies to the line (its `max_words` and `zone`) and one of whose
patterns matches it (`PatternRule.matches`). Asking every rule in turn ran
~60 regexes per line, while most lines are article prose that no rule matches.

The index gets the same answer with less work. Per kind of line (the rules that
apply to a line of that many words in that zone: a "plan", built on first use):

- most patterns can only match at the line start. Those whose first character
  is known (`^(read|related)...` starts with "r") are joined, in rule order, into
  one alternation per first character of the line, each pattern in a group of
  its own. One `match` tries them in order and stops at the first that matches,
  so the group that matched (`lastindex`) names the first rule with a matching
  start-anchored pattern. A line starting with "t" never tries the "r" patterns;
- the other patterns run one by one, in rule order and only for rules before
  that one, and only when the line contains one of the strings every match of
  the pattern contains (`regex_analysis.required_literals`): `[^»›]{1,60}...`
  only runs on lines with "»" or "›".

Case modes are those of `PatternRule.matches`: a case-insensitive pattern
written in lower case runs case-sensitively on the lower-cased line; any
other pattern runs as compiled on the line itself.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass

from newsbeam.transforms.clean.regex_analysis import (
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
    pattern: re.Pattern[str]  # as it runs (see `on_lower`)
    on_lower: bool  # runs on the lower-cased line
    anchored: bool  # can only match at position 0: `match` instead of `search`
    needles: tuple[str, ...]  # the line must contain one of these to match; () = no gate
    # What the lower-cased line can start with for a match (None: anything);
    # for patterns on the line as is, lines starting with a non-ASCII character
    # are always tried (see `regex_analysis.first_chars`).
    first: frozenset[str] | None
    joinable: bool  # may be embedded in an alternation


# (first group index -> position in the plan's rules, compiled alternation)
_Union = tuple[re.Pattern[str] | None, tuple[int, ...]]


@dataclass(slots=True)
class _LinePlan:
    """What to run for lines of one word-count bucket and zone."""

    rules: tuple[PatternRule, ...]  # the rules that apply, in file order
    position: dict[int, int]  # rule index in the file -> position in `rules`
    # Start-anchored patterns joined per first character of the lower-cased line.
    lower_joined: list[_PatternPlan]  # on the lower-cased line
    other_joined: list[_PatternPlan]  # on the line as is
    # The rest, in rule order: (position in `rules`, pattern, on_lower, anchored, needles).
    singles: tuple[tuple[int, re.Pattern[str], bool, bool, tuple[str, ...]], ...]
    lower_unions: dict[str, _Union]  # by the line's first character (lower-cased)
    other_unions: dict[str, _Union]  # by the same, "" for a non-ASCII one


class PatternIndex:
    """First matching pattern rule for a line; same answer as trying the rules in order."""

    def __init__(self, rules: tuple[PatternRule, ...]) -> None:
        self.rules = rules
        self._patterns = [
            _prepare(index, pattern)
            for index, rule in enumerate(rules)
            for pattern in rule.patterns
        ]
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
        union, group_rule = plan.lower_unions.get(first) or self._union(plan, first, True)
        if union is not None:
            found = union.match(lower)
            if found is not None:
                best = group_rule[found.lastindex]
        other_first = first if first.isascii() else ""
        union, group_rule = plan.other_unions.get(other_first) or self._union(
            plan, other_first, False
        )
        if union is not None:
            found = union.match(text)
            if found is not None:
                best = min(best, group_rule[found.lastindex])
        for position, pattern, on_lower, anchored, needles in plan.singles:
            if position >= best:
                break
            line = lower if on_lower else text
            for needle in needles:  # (a loop, not any(): this runs ~20 times per line)
                if needle in line:
                    break
            else:
                if needles:
                    continue
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
        patterns = [p for p in self._patterns if p.rule in position]
        # Start-anchored patterns are joined unless they could start with anything
        # and can be skipped by their required strings instead (`[^»›]{1,60}...`).
        joined = [p for p in patterns if p.anchored and (p.first is not None or not p.needles)]
        lower_joined = [p for p in joined if p.on_lower and p.joinable]
        other_joined = [p for p in joined if not p.on_lower and p.joinable]
        for group in (lower_joined, other_joined):
            if group and _compile_union(group) is None:
                group.clear()  # they do not compile together: each runs alone
        rest = [p for p in patterns if p not in lower_joined and p not in other_joined]
        return _LinePlan(
            rules=tuple(self.rules[index] for index in position),
            position=position,
            lower_joined=lower_joined,
            other_joined=other_joined,
            singles=tuple(
                (position[p.rule], p.pattern, p.on_lower, p.anchored, p.needles) for p in rest
            ),
            lower_unions={},
            other_unions={},
        )

    def _union(self, plan: _LinePlan, first: str, on_lower: bool) -> _Union:
        """The plan's joined patterns that a line starting with `first` can match
        ("" = any first character), as one alternation."""
        joined = plan.lower_joined if on_lower else plan.other_joined
        chosen = [p for p in joined if p.first is None or not first or first in p.first]
        group_rule = [-1]
        for p in chosen:
            group_rule.append(plan.position[p.rule])
            group_rule.extend([-1] * p.pattern.groups)  # the pattern's own groups
        union = (_compile_union(chosen) if chosen else None), tuple(group_rule)
        (plan.lower_unions if on_lower else plan.other_unions)[first] = union
        return union


def _prepare(rule: int, pattern: re.Pattern[str]) -> _PatternPlan:
    source = pattern.pattern
    insensitive = bool(pattern.flags & re.IGNORECASE)
    # No upper-case letters means no \S, \W, [A-Z]...: the same on the lower-cased line.
    on_lower = insensitive and source == source.lower()
    runs = re.compile(source) if on_lower else pattern
    needles = required_literals(runs)
    return _PatternPlan(
        rule=rule,
        pattern=runs,
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
        flags = "i" if p.pattern.flags & re.IGNORECASE else "-i"
        parts.append(f"((?{flags}:{p.pattern.pattern}))")
    try:
        return re.compile("|".join(parts))
    except re.error:
        log.debug("start-anchored patterns do not combine; running them one by one")
        return None
