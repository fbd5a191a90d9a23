"""What a compiled regular expression needs, known before running it (pure).

Two facts let the pattern rules skip most regex work on a line:

- `is_start_anchored(pattern)`: the pattern can only match at the start of
  the string (it begins with `^` or `\\A`, not in MULTILINE mode), so
  `pattern.match(s)` finds a match exactly when `pattern.search(s)` does, and
  costs one attempt instead of one per position.
- `required_literals(pattern)`: strings of which every match contains at least
  one, e.g. `{"newsletter"}` for `\\bnewsletters?\\b.{0,60}\\binbox\\b`. When
  none of them occurs in a line (`in`, a fast substring search), the pattern
  cannot match it and need not run.

- `first_chars(pattern)`: the characters a match can begin with, e.g.
  `{"r"}` for `^(read|related)\b`. A start-anchored pattern cannot match a
  line whose first character is not one of them.

All three are read from the parse tree of Python's own regex compiler (`re._parser`,
the module `re.compile` itself uses). Whatever the analysis does not understand
gives the safe answer (not anchored / nothing required), so a rule is never
skipped on a line it matches: both facts only ever avoid work.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

try:  # CPython's regex parser: re._parser since 3.11
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - another Python implementation
    _sre = _sre_parse = None

Literals = frozenset[str]


@dataclass(frozen=True, slots=True)
class RegexSource:
    """A regex not compiled (yet): what the analysis needs of a `re.Pattern`."""

    pattern: str
    flags: int = 0


Regex = re.Pattern[str] | RegexSource
# Character classes of at most this many single characters count as literals:
# "[»›]" requires "»" or "›".
_MAX_CLASS_LITERALS = 8
# A class of at most this many characters ("[a-z]") is spelled out as first characters.
_MAX_CLASS_FIRST = 64


@functools.cache
def whitespace_chars() -> frozenset[str]:
    """What `\\s` matches in a str pattern: the characters for which str.isspace()
    is true. All are in the Basic Multilingual Plane (a test checks the rest), so
    only that is scanned (a few ms, once)."""
    return frozenset(filter(str.isspace, map(chr, range(0x10000))))


def _parse(pattern: Regex):
    if _sre_parse is None or not isinstance(pattern.pattern, str):
        return None
    return _parse_source(pattern.pattern, pattern.flags)


@functools.lru_cache(maxsize=1024)
def _parse_source(source: str, flags: int):
    """The parse tree (read-only: shared by every analysis of the same pattern)."""
    try:
        return _sre_parse.parse(source, flags)
    except Exception:  # noqa: BLE001 - an analysis failure only costs speed
        log.debug("cannot analyse regex %r", source, exc_info=True)
        return None


def is_start_anchored(pattern: Regex) -> bool:
    """True when every match of `pattern` starts at position 0 of the string."""
    parsed = _parse(pattern)
    if parsed is None or not len(parsed):
        return False
    op, av = parsed[0]
    if op is not _sre.AT:
        return False
    if av is _sre.AT_BEGINNING_STRING:
        return True
    return av is _sre.AT_BEGINNING and not pattern.flags & re.MULTILINE


def has_group_references(pattern: Regex) -> bool:
    """True when the pattern refers to its own groups (\\1, (?P=name), (?(1)...)),
    or cannot be analysed: such a pattern must not be embedded in a larger one,
    where its group numbers would shift."""
    parsed = _parse(pattern)
    if parsed is None:
        return True
    return _has_references(parsed)


def _has_references(items) -> bool:
    for op, av in items:
        if op in (_sre.GROUPREF, _sre.GROUPREF_EXISTS, _sre.GROUPREF_IGNORE):
            return True
        if op in (_sre.GROUPREF_LOC_IGNORE, _sre.GROUPREF_UNI_IGNORE):
            return True
        for sub in _children(op, av):
            if _has_references(sub):
                return True
    return False


def _children(op, av) -> list:
    if op is _sre.SUBPATTERN:
        return [av[3]]
    if op is _sre.BRANCH:
        return list(av[1])
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        return [av[2]]
    if op is _sre.ATOMIC_GROUP:
        return [av]
    if op in (_sre.ASSERT, _sre.ASSERT_NOT):
        return [av[1]]
    return []


def required_literals(pattern: Regex) -> Literals | None:
    """Strings of which every match of `pattern` contains one (case as written),
    or None when nothing is known. Case-insensitive parts require nothing."""
    parsed = _parse(pattern)
    if parsed is None:
        return None
    try:
        return _sequence(parsed, bool(pattern.flags & re.IGNORECASE))
    except Exception:  # noqa: BLE001 - an unknown tree shape only costs speed
        log.debug("cannot analyse regex %r", pattern.pattern, exc_info=True)
        return None


def _better(a: Literals | None, b: Literals | None) -> Literals | None:
    """The more selective requirement: the longer shortest string, then fewer strings."""
    if a is None:
        return b
    if b is None:
        return a
    key_a = (min(map(len, a)), -len(a))
    key_b = (min(map(len, b)), -len(b))
    return b if key_b > key_a else a


def _sequence(items, ignore_case: bool) -> Literals | None:
    """Items that match one after the other: each required item is a candidate
    and adjacent case-sensitive literal characters form one string."""
    best: Literals | None = None
    run: list[str] = []
    for op, av in items:
        if op is _sre.LITERAL and not ignore_case:
            run.append(chr(av))
            continue
        if run:
            best = _better(best, frozenset(["".join(run)]))
            run = []
        best = _better(best, _item(op, av, ignore_case))
    if run:
        best = _better(best, frozenset(["".join(run)]))
    return best


def _item(op, av, ignore_case: bool) -> Literals | None:
    if op is _sre.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags & re.IGNORECASE:
            ignore_case = True
        if del_flags & re.IGNORECASE:
            ignore_case = False
        return _sequence(sub, ignore_case)
    if op is _sre.ATOMIC_GROUP:
        return _sequence(av, ignore_case)
    if op is _sre.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            found = _sequence(branch, ignore_case)
            if found is None:
                return None  # a branch that requires nothing: the whole requires nothing
            union |= found
        return frozenset(union)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        low, _high, sub = av
        return _sequence(sub, ignore_case) if low >= 1 else None
    if op is _sre.IN and not ignore_case:
        if len(av) <= _MAX_CLASS_LITERALS and all(kind is _sre.LITERAL for kind, _ in av):
            return frozenset(chr(code) for _, code in av)
        return None
    # AT (\b, ^, $), ANY, NOT_LITERAL, categories, lookarounds, group references,
    # case-insensitive literals: nothing that can be looked for as a plain string.
    return None


def first_chars(pattern: Regex, *, fold_case: bool = False) -> Literals | None:
    """Characters one of which begins every match of `pattern`, or None when
    unknown or when the pattern can match the empty string.

    With `fold_case`, the characters are those `s.lower()[0]` can be for a
    string `s` the pattern matches, with one exception: any string whose
    lower-cased first character is not ASCII may match. This also covers
    case-insensitive patterns, as far as their first characters are ASCII.
    (Case-insensitive matching is wider than `str.lower`: "ſ" matches "s" and
    "K" (Kelvin) matches "k"; the only non-ASCII characters that lower-case to
    ASCII, "İ" and "K", match exactly the ASCII letter they lower-case to.)"""
    parsed = _parse(pattern)
    if parsed is None:
        return None
    try:
        chars, nullable = _FirstChars(fold_case).sequence(
            parsed, bool(pattern.flags & re.IGNORECASE)
        )
    except Exception:  # noqa: BLE001 - an unknown tree shape only costs speed
        log.debug("cannot analyse regex %r", pattern.pattern, exc_info=True)
        return None
    return None if chars is None or nullable else frozenset(chars)


class _FirstChars:
    """First characters of a parse tree: (characters or None if unknown, can match empty)."""

    def __init__(self, fold_case: bool) -> None:
        self.fold_case = fold_case

    def char(self, code: int, ignore_case: bool) -> str | None:
        c = chr(code)
        if not ignore_case:
            return c.lower()[:1] if self.fold_case else c
        if self.fold_case and c.isascii():
            return c.lower()
        return None

    def sequence(self, items, ignore_case: bool) -> tuple[set[str] | None, bool]:
        found: set[str] = set()
        for op, av in items:
            chars, nullable = self.item(op, av, ignore_case)
            if chars is None:
                return None, False
            found |= chars
            if not nullable:
                return found, False
        return found, True

    def item(self, op, av, ignore_case: bool) -> tuple[set[str] | None, bool]:
        if op is _sre.LITERAL:
            c = self.char(av, ignore_case)
            return (None, False) if c is None else ({c}, False)
        if op is _sre.IN:
            codes: list[int] = []
            for kind, value in av:
                if kind is _sre.LITERAL:
                    codes.append(value)
                elif kind is _sre.RANGE and value[1] - value[0] < _MAX_CLASS_FIRST:
                    codes.extend(range(value[0], value[1] + 1))
                elif kind is _sre.CATEGORY and value is _sre.CATEGORY_SPACE:
                    codes.extend(map(ord, whitespace_chars()))
                else:  # negation, other categories (\w, \d...), wide ranges
                    return None, False
            chars = {self.char(code, ignore_case) for code in codes}
            if None in chars or len(chars) > _MAX_CLASS_FIRST:
                return None, False
            return chars, False
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags & re.IGNORECASE:
                ignore_case = True
            if del_flags & re.IGNORECASE:
                ignore_case = False
            return self.sequence(sub, ignore_case)
        if op is _sre.ATOMIC_GROUP:
            return self.sequence(av, ignore_case)
        if op is _sre.BRANCH:
            union: set[str] = set()
            can_be_empty = False
            for branch in av[1]:
                chars, nullable = self.sequence(branch, ignore_case)
                if chars is None:
                    return None, False
                union |= chars
                can_be_empty = can_be_empty or nullable
            return union, can_be_empty
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            low, _high, sub = av
            chars, nullable = self.sequence(sub, ignore_case)
            return chars, (low == 0 or nullable)
        if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
            return set(), True  # zero-width: the next item gives the first character
        # ANY, NOT_LITERAL, group references: unknown.
        return None, False
