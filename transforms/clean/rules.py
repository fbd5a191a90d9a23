"""Load and validate the clean rules file (rules.toml) into a `RuleSet`.

The rules are data so that users can tune them without touching code; this
module is the only place that knows the file format. A bad file fails loudly
with `RulesError` naming the rule and key at fault, never half-loads.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

SUPPORTED_VERSION = 1
ZONES = ("any", "header", "tail")
# The reason codes the context rules report, in the order they are applied.
CONTEXT_RULES = ("repeat", "title", "byline", "date-line", "header", "headline-list", "trailing")
_REASON_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class RulesError(ValueError):
    """The rules file is missing, unreadable or does not follow the format."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    sentence_min_words: int
    prose_min_words_unpunctuated: int
    short_line_max_words: int
    pattern_max_chars: int
    header_lines: int
    tail_lines: int
    title_case_min_ratio: float


@dataclass(frozen=True, slots=True)
class PatternRule:
    name: str
    reason: str
    patterns: tuple[re.Pattern[str], ...]
    max_words: int | None = None
    zone: str = "any"
    starts_list: bool = False
    # The patterns as at most two alternations: one search per rule. Lower-case
    # case-insensitive patterns run without IGNORECASE on the lower-cased line
    # (the same result, several times faster in `re`).
    _lower: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _other: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        lower, other = [], []
        for p in self.patterns:
            insensitive = bool(p.flags & re.IGNORECASE)
            # No upper-case letters in the source means no \S, \W, [A-Z]...
            if insensitive and p.pattern == p.pattern.lower():
                lower.append(f"(?:{p.pattern})")
            else:
                other.append(f"(?{'i' if insensitive else '-i'}:{p.pattern})")
        object.__setattr__(self, "_lower", re.compile("|".join(lower)) if lower else None)
        object.__setattr__(self, "_other", re.compile("|".join(other)) if other else None)

    def matches(self, line: str, lower: str | None = None) -> bool:
        if self._lower is not None and self._lower.search(line.lower() if lower is None else lower):
            return True
        return self._other is not None and self._other.search(line) is not None


@dataclass(frozen=True, slots=True)
class RepeatRule:
    reason: str
    min_words: int
    prefixes: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class TitleRule:
    reason: str
    scan_lines: int
    min_words: int
    max_words: int
    max_chars: int
    max_prose_before: int


@dataclass(frozen=True, slots=True)
class BylineRule:
    reason: str
    scan_lines: int
    patterns: tuple[re.Pattern[str], ...]
    name_suffixes: tuple[str, ...]
    max_names: int


@dataclass(frozen=True, slots=True)
class DateLineRule:
    reason: str
    scan_lines: int
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class HeaderRule:
    reason_after_title: str
    reason_before_title_short: str
    reason_before_title_prose: str


@dataclass(frozen=True, slots=True)
class HeadlineListRule:
    reason: str
    min_run: int
    min_words: int
    teaser_max_words: int
    min_teasers: int


@dataclass(frozen=True, slots=True)
class TrailingRule:
    reason_headline: str
    reason_other: str
    headline_min_words: int


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: int
    origin: str
    thresholds: Thresholds
    patterns: tuple[PatternRule, ...]
    repeat: RepeatRule
    title: TitleRule
    byline: BylineRule
    date_line: DateLineRule
    header: HeaderRule
    headline_list: HeadlineListRule
    trailing: TrailingRule

    def reasons(self) -> list[str]:
        """Every reason code this rule set can report, sorted."""
        found = {p.reason for p in self.patterns}
        found |= {
            self.repeat.reason,
            self.title.reason,
            self.byline.reason,
            self.date_line.reason,
            self.header.reason_after_title,
            self.header.reason_before_title_short,
            self.header.reason_before_title_prose,
            self.headline_list.reason,
            self.trailing.reason_headline,
            self.trailing.reason_other,
        }
        return sorted(found)


DEFAULT_RULES_NAME = "rules.toml"


def default_rules_path() -> Path:
    return Path(str(resources.files("newsbeam.transforms.clean").joinpath(DEFAULT_RULES_NAME)))


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and validate a rules file; the packaged default when `path` is None."""
    target = Path(path) if path is not None else default_rules_path()
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"cannot read rules file {target}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RulesError(f"rules file {target} is not UTF-8: {exc}") from exc
    return parse_rules(text, origin=str(target))


def parse_rules(text: str, *, origin: str = "<string>") -> RuleSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{origin}: not valid TOML: {exc}") from exc
    reader = _Reader(origin)
    version = reader.integer(data, "version", "top level")
    if version != SUPPORTED_VERSION:
        raise RulesError(
            f"{origin}: rules format version {version} is not supported "
            f"(this newsbeam reads version {SUPPORTED_VERSION})"
        )
    reader.no_extra_keys(data, {"version", "thresholds", "pattern", "context"}, "top level")

    t = reader.table(data, "thresholds", "top level")
    thresholds = Thresholds(
        sentence_min_words=reader.integer(t, "sentence_min_words", "[thresholds]"),
        prose_min_words_unpunctuated=reader.integer(
            t, "prose_min_words_unpunctuated", "[thresholds]"
        ),
        short_line_max_words=reader.integer(t, "short_line_max_words", "[thresholds]"),
        pattern_max_chars=reader.integer(t, "pattern_max_chars", "[thresholds]"),
        header_lines=reader.integer(t, "header_lines", "[thresholds]"),
        tail_lines=reader.integer(t, "tail_lines", "[thresholds]"),
        title_case_min_ratio=reader.ratio(t, "title_case_min_ratio", "[thresholds]"),
    )
    reader.no_extra_keys(t, set(Thresholds.__slots__), "[thresholds]")

    raw_patterns = data.get("pattern", [])
    if not isinstance(raw_patterns, list) or not all(isinstance(r, dict) for r in raw_patterns):
        raise RulesError(f"{origin}: `pattern` must be an array of tables ([[pattern]])")
    patterns = tuple(reader.pattern_rule(r, i) for i, r in enumerate(raw_patterns))
    names = [p.name for p in patterns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RulesError(f"{origin}: duplicate pattern rule names: {', '.join(duplicates)}")

    ctx = reader.table(data, "context", "top level")
    reader.no_extra_keys(ctx, set(CONTEXT_RULES), "[context]")
    missing = [name for name in CONTEXT_RULES if name not in ctx]
    if missing:
        raise RulesError(f"{origin}: missing context rules: {', '.join(missing)}")

    def section(name: str, keys: set[str]) -> tuple[dict[str, Any], str]:
        where = f"[context.{name}]"
        table = reader.table(ctx, name, "[context]")
        reader.no_extra_keys(table, keys, where)
        return table, where

    r, w = section("repeat", {"reason", "min_words", "prefixes"})
    repeat = RepeatRule(
        reason=reader.reason(r, "reason", w),
        min_words=reader.integer(r, "min_words", w),
        prefixes=reader.regexes(r, "prefixes", w, case_sensitive=True),
    )
    keys = {"reason", "scan_lines", "min_words", "max_words", "max_chars", "max_prose_before"}
    r, w = section("title", keys)
    title = TitleRule(
        reason=reader.reason(r, "reason", w),
        scan_lines=reader.integer(r, "scan_lines", w),
        min_words=reader.integer(r, "min_words", w),
        max_words=reader.integer(r, "max_words", w),
        max_chars=reader.integer(r, "max_chars", w),
        max_prose_before=reader.integer(r, "max_prose_before", w, minimum=0),
    )
    r, w = section("byline", {"reason", "scan_lines", "patterns", "name_suffixes", "max_names"})
    byline_patterns = reader.regexes(r, "patterns", w, case_sensitive=False)
    for p in byline_patterns:
        if "names" not in p.groupindex:
            raise RulesError(f"{origin}: {w} pattern {p.pattern!r} needs a (?P<names>...) group")
    byline = BylineRule(
        reason=reader.reason(r, "reason", w),
        scan_lines=reader.integer(r, "scan_lines", w),
        patterns=byline_patterns,
        name_suffixes=tuple(s.lower() for s in reader.strings(r, "name_suffixes", w)),
        max_names=reader.integer(r, "max_names", w),
    )
    r, w = section("date-line", {"reason", "scan_lines", "patterns"})
    date_line = DateLineRule(
        reason=reader.reason(r, "reason", w),
        scan_lines=reader.integer(r, "scan_lines", w),
        patterns=reader.regexes(r, "patterns", w, case_sensitive=False),
    )
    keys = {"reason_after_title", "reason_before_title_short", "reason_before_title_prose"}
    r, w = section("header", keys)
    header = HeaderRule(
        reason_after_title=reader.reason(r, "reason_after_title", w),
        reason_before_title_short=reader.reason(r, "reason_before_title_short", w),
        reason_before_title_prose=reader.reason(r, "reason_before_title_prose", w),
    )
    keys = {"reason", "min_run", "min_words", "teaser_max_words", "min_teasers"}
    r, w = section("headline-list", keys)
    headline_list = HeadlineListRule(
        reason=reader.reason(r, "reason", w),
        min_run=reader.integer(r, "min_run", w),
        min_words=reader.integer(r, "min_words", w),
        teaser_max_words=reader.integer(r, "teaser_max_words", w),
        min_teasers=reader.integer(r, "min_teasers", w),
    )
    r, w = section("trailing", {"reason_headline", "reason_other", "headline_min_words"})
    trailing = TrailingRule(
        reason_headline=reader.reason(r, "reason_headline", w),
        reason_other=reader.reason(r, "reason_other", w),
        headline_min_words=reader.integer(r, "headline_min_words", w),
    )
    return RuleSet(
        version=version,
        origin=origin,
        thresholds=thresholds,
        patterns=patterns,
        repeat=repeat,
        title=title,
        byline=byline,
        date_line=date_line,
        header=header,
        headline_list=headline_list,
        trailing=trailing,
    )


class _Reader:
    """Typed access to the parsed TOML with errors that say where."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, message: str) -> RulesError:
        return RulesError(f"{self.origin}: {where}: {message}")

    def table(self, data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = data.get(key)
        if not isinstance(value, dict):
            raise self.fail(where, f"`{key}` must be a table")
        return value

    def no_extra_keys(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        extra = sorted(set(data) - allowed)
        if extra:
            raise self.fail(where, f"unknown key(s): {', '.join(extra)}")

    def integer(self, data: dict[str, Any], key: str, where: str, *, minimum: int = 1) -> int:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"`{key}` must be an integer")
        if value < minimum:
            raise self.fail(where, f"`{key}` must be at least {minimum}, got {value}")
        return value

    def ratio(self, data: dict[str, Any], key: str, where: str) -> float:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise self.fail(where, f"`{key}` must be a number between 0 and 1")
        return float(value)

    def reason(self, data: dict[str, Any], key: str, where: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not _REASON_RE.match(value):
            raise self.fail(
                where, f"`{key}` must be a reason code (lowercase letters, digits, - or _)"
            )
        return value

    def strings(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"`{key}` must be a non-empty array of strings")
        return tuple(value)

    def regexes(
        self, data: dict[str, Any], key: str, where: str, *, case_sensitive: bool
    ) -> tuple[re.Pattern[str], ...]:
        flags = 0 if case_sensitive else re.IGNORECASE
        compiled = []
        for source in self.strings(data, key, where):
            try:
                compiled.append(re.compile(source, flags))
            except re.error as exc:
                raise self.fail(where, f"bad regular expression {source!r}: {exc}") from exc
        return tuple(compiled)

    def pattern_rule(self, data: dict[str, Any], index: int) -> PatternRule:
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise self.fail(f"[[pattern]] #{index + 1}", "`name` must be a non-empty string")
        where = f"[[pattern]] {name!r}"
        allowed = {"name", "reason", "patterns", "max_words", "zone", "starts_list"}
        self.no_extra_keys(data, allowed | {"case_sensitive"}, where)
        case_sensitive = data.get("case_sensitive", False)
        starts_list = data.get("starts_list", False)
        if not isinstance(case_sensitive, bool) or not isinstance(starts_list, bool):
            raise self.fail(where, "`case_sensitive` and `starts_list` must be true or false")
        zone = data.get("zone", "any")
        if zone not in ZONES:
            raise self.fail(where, f"`zone` must be one of {', '.join(ZONES)}, got {zone!r}")
        max_words = self.integer(data, "max_words", where) if "max_words" in data else None
        return PatternRule(
            name=name,
            reason=self.reason(data, "reason", where),
            patterns=self.regexes(data, "patterns", where, case_sensitive=case_sensitive),
            max_words=max_words,
            zone=zone,
            starts_list=starts_list,
        )
