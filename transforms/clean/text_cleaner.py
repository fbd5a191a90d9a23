"""Line-by-line boilerplate removal for raw article text (pure, no Beam).

`TextCleaner(ruleset).clean(text)` decides for every line whether it belongs
to the article, using the rules in rules.toml:

1. pattern rules (breadcrumbs, paywall notices, ad markers, ...), first match wins;
2. repeats: a line that repeats an earlier one, also behind a source prefix;
3. title, byline and date lines in the header, and the header furniture
   around them (site tagline, navigation, kicker/tag lines);
4. related-headline lists: runs of short, mostly title-case lines;
5. trailing furniture: short lines after the article's last sentence.

Every line gets a `LineDecision` (what `newsbeam inspect` prints), every
removed line is counted under its rule's reason code.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from newsbeam.transforms.clean.pattern_index import PatternIndex
from newsbeam.transforms.clean.regex_analysis import (
    first_chars,
    has_group_references,
    is_start_anchored,
    required_literals,
)
from newsbeam.transforms.clean.rules import RuleSet
from newsbeam.transforms.clean.text_normalizer import normalize_line, normalize_lines

# A line ends like a sentence when, after stripping closing quotes/brackets, its
# last character is one of . ! ? … : (a question/exclamation: ? or !). String
# methods, not a regex: a "$"-anchored search tries every position of the line.
_CLOSERS = "\"'”’»)]"
_SENTENCE_MARKS = ".!?…:"
_QUESTION_MARKS = "?!"
_BULLET = re.compile(r"^([-*•·▪◦‣–—]|\d{1,2}[.)]|[a-zA-Z][.)])\s+")
# What a _BULLET match needs in the line's second or third character (a cheap
# test that spares the regex on almost every line; lines are normalised, so
# their only whitespace is the ASCII space).
_BULLET_SECOND = frozenset(".) ")
_BULLET_THIRD = frozenset(".)")
_EDGE_PUNCT = "\"'“”‘’«»()[]{}<>.,;:!?…–—-*•|/"
# Words ignored by the title-case ratio: they are lower case in most headline styles.
_MINOR_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "nor",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "with",
        "from",
        "as",
        "vs",
        "vs.",
        "via",
        "per",
        "up",
        "off",
        "out",
        "into",
        "onto",
        "over",
        "than",
        "so",
        "yet",
        "is",
        "are",
        "be",
        "de",
        "la",
        "le",
        "el",
        "du",
        "der",
        "die",
        "das",
        "und",
    ]
)
_KEY_DROP = re.compile(r"[^\w\s]+")
# A teaser cut short: ends with … or ... before optional closing quotes/brackets.
_ELLIPSIS_CLOSERS = "\"'”’)"
_ELLIPSES = ("…", "...")
_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\by\b)\s*", re.IGNORECASE)
_AND = re.compile(r"\s(?:and|&|und|et|y)\s", re.IGNORECASE)
_BYLINE_CUT = re.compile(r"\s+(?:[|•·]|[–—-]{1,2}|/)\s+|\s*\|\s*")
_NAME_TAIL = re.compile(r"\s+(?:for|in|at|from|reporting from)\s+.*$", re.IGNORECASE)
_NAME_PARTICLES = frozenset(
    [
        "de",
        "da",
        "das",
        "do",
        "dos",
        "du",
        "van",
        "von",
        "der",
        "den",
        "ter",
        "le",
        "la",
        "bin",
        "bint",
        "al",
        "el",
        "ibn",
        "y",
        "di",
        "del",
        "della",
        "st.",
    ]
)
_NAME_TOKEN = re.compile(r"^(?:[A-ZÀ-ÖØ-ÞĀ-ſ][\w'’.-]*|[A-Z]\.)$")


@dataclass(frozen=True, slots=True)
class LineDecision:
    """What the cleaner decided for one input line (blank lines are not listed)."""

    number: int  # 1-based line number in the input text
    text: str  # the line after normalisation
    kept: bool
    rule: str | None = None  # name of the rule that removed it
    reason: str | None = None  # reason code it is counted under


@dataclass(frozen=True, slots=True)
class CleanResult:
    text: str  # kept lines, one paragraph each, separated by blank lines
    removed: dict[str, int]
    title: str | None
    authors: list[str]
    decisions: tuple[LineDecision, ...] = field(default_factory=tuple)

    def format_decisions(self) -> str:
        """One row per non-blank line: number, verdict, rule (reason), text."""
        rows = []
        for d in self.decisions:
            verdict = "keep" if d.kept else "drop"
            rule = "" if d.kept else f"{d.rule} ({d.reason})"
            text = d.text if len(d.text) <= 100 else d.text[:97] + "..."
            rows.append(f"{d.number:>4}  {verdict}  {rule:<40} {text}")
        return "\n".join(rows)


@dataclass(slots=True)
class _Line:
    index: int  # 0-based position in the input lines
    text: str
    words: int
    sentence: bool  # ends like a sentence
    prose: bool
    short: bool
    # Title-case ratio of a short line (0.0 for others), computed once needed.
    ratio: float | None
    bullet: bool
    question: bool  # ends with ? or ! (before closing quotes/brackets)
    rule: str | None = None
    reason: str | None = None
    starts_list: bool = False
    # Computed once needed: text.lower(); the same without its source prefix;
    # the repeat key and its signature (see _key and _signature).
    lower: str | None = None
    key_source: str | None = None
    key: str | None = None
    signature: bytes | None = None

    @property
    def removed(self) -> bool:
        return self.reason is not None

    @property
    def title_ratio(self) -> float:
        if self.ratio is None:
            self.ratio = _title_case_ratio(self.text.split())
        return self.ratio


class TextCleaner:
    """Applies a `RuleSet` to article text. Keeps nothing between calls but caches of
    compiled alternations (see PatternIndex); thread-safe."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = ruleset
        self._patterns = PatternIndex(ruleset.patterns)
        limits = [rule.max_words for rule in ruleset.patterns]
        self._pattern_max_words = None if None in limits else max(limits, default=0)
        # Repeat prefixes: start-anchored ones run as `match` and are skipped
        # when the line lacks a string every match contains.
        self._repeat_prefixes = tuple(
            (prefix, is_start_anchored(prefix), tuple(sorted(required_literals(prefix) or ())))
            for prefix in ruleset.repeat.prefixes
        )
        # Byline patterns are only tried on lines starting with a character one
        # of them can start with (None: any line); date-line patterns as one
        # alternation when they combine (any of them matching is all that counts).
        self._byline_first = _first_chars_of(ruleset.byline.patterns)
        self._date_line = _any_of(ruleset.date_line.patterns)
        self._max_suffix_chars = max(map(len, ruleset.byline.name_suffixes), default=0)

    # ------------------------------------------------------------------ public

    def clean(self, text: str, *, title: str | None = None, decisions: bool = True) -> CleanResult:
        """Clean one article text. `title`, when the record already carries one,
        identifies the headline line in the text. `decisions=False` leaves
        `CleanResult.decisions` empty (cheaper when no one looks at them)."""
        lines = [self._features(i, t) for i, t in enumerate(normalize_lines(text)) if t]
        self._apply_patterns(lines)
        self._apply_repeats(lines)
        found_title, authors = self._apply_header(lines, normalize_line(title) if title else None)
        self._apply_headline_lists(lines)
        self._apply_trailing(lines)

        kept = [line.text for line in lines if line.reason is None]
        removed = Counter(line.reason for line in lines if line.reason is not None)
        return CleanResult(
            text="\n\n".join(kept),
            removed=dict(sorted(removed.items())),
            title=found_title,
            authors=authors,
            decisions=tuple(
                LineDecision(
                    number=line.index + 1,
                    text=line.text,
                    kept=line.reason is None,
                    rule=line.rule,
                    reason=line.reason,
                )
                for line in lines
            )
            if decisions
            else (),
        )

    # ---------------------------------------------------------------- features

    def _features(self, index: int, text: str) -> _Line:
        t = self.rules.thresholds
        # A normalised line has single spaces between words and none at its ends.
        words = text.count(" ") + 1
        # Only short lines are judged by their capitalisation (computed once needed).
        ratio = None if words <= t.short_line_max_words else 0.0
        end = text.rstrip(_CLOSERS)[-1:]
        sentence = end != "" and end in _SENTENCE_MARKS
        question = end != "" and end in _QUESTION_MARKS
        prose = (sentence and words >= t.sentence_min_words) or (
            words >= t.prose_min_words_unpunctuated
        )
        # A title-case question or exclamation is a headline, not a sentence.
        if prose and question and words <= 15:
            if ratio is None:
                ratio = _title_case_ratio(text.split())
            prose = ratio < 0.8
        return _Line(
            index=index,
            text=text,
            words=words,
            sentence=sentence,
            prose=prose,
            short=not prose and words <= t.short_line_max_words,
            ratio=ratio,
            bullet=(text[1:2] in _BULLET_SECOND or text[2:3] in _BULLET_THIRD)
            and _BULLET.match(text) is not None,
            question=question,
        )

    # ----------------------------------------------------------- pattern rules

    def _apply_patterns(self, lines: list[_Line]) -> None:
        t = self.rules.thresholds
        tail_start = len(lines) - t.tail_lines
        max_words = self._pattern_max_words
        first_match = self._patterns.first_match
        for position, line in enumerate(lines):
            if len(line.text) > t.pattern_max_chars:
                continue
            if max_words is not None and line.words > max_words:
                continue
            line.lower = line.text.lower()
            rule = first_match(
                line.text,
                line.lower,
                line.words,
                position < t.header_lines,
                position >= tail_start,
            )
            if rule is not None:
                line.rule, line.reason, line.starts_list = rule.name, rule.reason, rule.starts_list
        # A list marker ("You may also like") claims the short lines after it,
        # or a series of teasers (headline + one-paragraph summary).
        for position, line in enumerate(lines):
            if line.starts_list:
                for follower in self._list_after_marker(lines[position + 1 :]):
                    follower.rule, follower.reason = "related-header", line.reason

    def _list_after_marker(self, following: list[_Line]) -> list[_Line]:
        rule = self.rules.headline_list
        claimed: list[_Line] = []
        teasers = 0
        leading_short = 0
        # Teasers end the page: the run must reach the end of the text or the
        # next list marker. Prose that follows prose means the article goes on.
        reaches_end = True
        for line in following:
            if line.removed:
                if line.starts_list:
                    break
                continue
            if line.short:
                claimed.append(line)
                if teasers == 0:
                    leading_short = len(claimed)
                continue
            after_headline = bool(claimed) and claimed[-1].short
            if line.prose and after_headline and line.words <= rule.teaser_max_words:
                claimed.append(line)
                teasers += 1
                continue
            reaches_end = False
            break
        if teasers >= rule.min_teasers and reaches_end:
            return claimed
        # Too few teasers to be sure: the prose after the headlines may be the article's.
        return claimed[:leading_short]

    # ----------------------------------------------------------------- repeats

    def _strip_prefix(self, text: str) -> str:
        """The text without its first matching source prefix ("(Bloomberg) — ")."""
        for prefix, anchored, needles in self._repeat_prefixes:
            for needle in needles:
                if needle in text:
                    break
            else:
                if needles:
                    continue
            if anchored:
                found = prefix.match(text)
                stripped = text[found.end() :] if found is not None else text
            else:
                stripped = prefix.sub("", text, count=1)
            if stripped != text:
                return stripped
        return text

    def _repeat_key(self, text: str) -> str:
        """The text without its source prefix, lower-cased, without punctuation, single-spaced."""
        return _key(self._strip_prefix(text).lower())

    def _key_source(self, line: _Line) -> str:
        """The line without its source prefix, lower-cased (what its key is made of)."""
        if line.key_source is None:
            stripped = self._strip_prefix(line.text)
            if stripped == line.text and line.lower is not None:
                line.key_source = line.lower
            else:
                line.key_source = stripped.lower()
        return line.key_source

    def _line_key(self, line: _Line) -> str:
        if line.key is None:
            line.key = _key(self._key_source(line))
        return line.key

    def _line_signature(self, line: _Line) -> bytes:
        if line.signature is None:
            line.signature = _signature(self._key_source(line))
        return line.signature

    def _apply_repeats(self, lines: list[_Line]) -> None:
        rule = self.rules.repeat
        candidates = [line for line in lines if not line.removed and line.words >= rule.min_words]
        line_key, line_signature = self._line_key, self._line_signature
        # Earlier lines by signature: only lines with the same signature can have
        # the same key, so most lines never need theirs (a regex pass per line).
        seen: dict[bytes, list[_Line]] = {}
        for position, line in enumerate(candidates):
            same_signature = seen.setdefault(line_signature(line), [])
            if same_signature:
                key = line_key(line)
                if any(line_key(other) == key for other in same_signature):
                    line.rule, line.reason = "repeat", rule.reason
                    continue
            same_signature.append(line)
            # A teaser cut short with an ellipsis repeats the start of a longer line
            # close to it (a bounded look, so that a text of many "…" lines stays linear).
            if not line.text.rstrip(_ELLIPSIS_CLOSERS).endswith(_ELLIPSES):
                continue
            key = line_key(line)
            if len(key.split()) >= rule.min_words:
                nearby = candidates[max(0, position - 5) : position + 6]
                for other in nearby:
                    other_key = line_key(other)
                    if (
                        other is not line
                        and len(other_key) > len(key)
                        and other_key.startswith(key)
                    ):
                        line.rule, line.reason = "repeat", rule.reason
                        break

    # ------------------------------------------------------------------ header

    def _is_byline(self, line: _Line) -> list[str] | None:
        """The author names when the line is a byline, else None."""
        rule = self.rules.byline
        if line.words > 16 or line.question:
            return None
        first = line.text[0].lower()[:1]
        if self._byline_first is not None and first.isascii() and first not in self._byline_first:
            return None
        for pattern in rule.patterns:
            match = pattern.match(line.text)
            if match:
                names = _byline_names(match.group("names"), rule.name_suffixes, rule.max_names)
                if names:
                    return names
        return None

    def _is_date_line(self, line: _Line) -> bool:
        return line.words <= 14 and any(p.match(line.text) for p in self._date_line)

    def _is_headline(self, line: _Line) -> bool:
        rule = self.rules.title
        return (
            not line.prose
            and rule.min_words <= line.words <= rule.max_words
            and len(line.text) <= rule.max_chars
            and not line.bullet
            and not line.text.endswith((":", ","))
        )

    def _apply_header(
        self, lines: list[_Line], given_title: str | None
    ) -> tuple[str | None, list[str]]:
        title_rule, byline_rule, date_rule = (
            self.rules.title,
            self.rules.byline,
            self.rules.date_line,
        )
        header = self.rules.header
        open_lines = [line for line in lines if not line.removed]
        if not any(line.prose for line in open_lines):
            return None, []

        # Bylines and date lines near the top.
        authors: list[str] = []
        byline_at: set[int] = set()
        date_at: set[int] = set()
        for position, line in enumerate(
            open_lines[: max(byline_rule.scan_lines, date_rule.scan_lines)]
        ):
            if position < byline_rule.scan_lines:
                names = self._is_byline(line)
                if names:
                    byline_at.add(position)
                    authors.extend(n for n in names if n not in authors)
                    continue
            if position < date_rule.scan_lines and self._is_date_line(line):
                date_at.add(position)
        # A role line ("Senior Reporter") belongs to the byline around it.
        scan = min(len(open_lines), byline_rule.scan_lines)
        # (Lower-casing never shortens a text: longer lines cannot be a role.)
        role_at = {
            p
            for p in range(scan)
            if len(open_lines[p].text) <= self._max_suffix_chars
            and open_lines[p].text.lower() in byline_rule.name_suffixes
        }
        byline_at |= role_at
        # A bare name next to a date line (or next to a role line above one) is a
        # byline too: "Lukas Meier" / "Updated 22 July 2024".
        for position in sorted(date_at):
            for step in (-1, 1):
                near = position + step
                while near in role_at:
                    near += step
                if near in byline_at or near in date_at or not 0 <= near < len(open_lines):
                    continue
                line = open_lines[near]
                names = _byline_names(line.text, byline_rule.name_suffixes, 1)
                if not line.prose and names and 2 <= len(names[0].split()) <= 4:
                    byline_at.add(near)
                    authors.extend(n for n in names if n not in authors)

        # The title: the given one if the text carries it; else a headline right
        # above a byline/date line; else the longest headline before the first prose.
        scan = open_lines[: title_rule.scan_lines]
        title_pos: int | None = None
        prose_seen = 0
        if given_title:
            key = self._repeat_key(given_title)
            signature = _signature(key)
            for position, line in enumerate(scan):
                if self._line_signature(line) == signature and self._line_key(line) == key:
                    title_pos = position
                    break
        if title_pos is None:
            for position, line in enumerate(scan[:-1]):
                if line.prose:
                    prose_seen += 1
                    if prose_seen > title_rule.max_prose_before:
                        break
                    continue
                if (
                    position not in byline_at
                    and position not in date_at
                    and self._is_headline(line)
                    and (position + 1 in byline_at or position + 1 in date_at)
                ):
                    title_pos = position
                    break
        if title_pos is None:
            best_words = 0
            for position, line in enumerate(scan):
                if line.prose:
                    break
                if position in byline_at or position in date_at or not self._is_headline(line):
                    continue
                if line.words > best_words:
                    title_pos, best_words = position, line.words

        for position in byline_at:
            line = open_lines[position]
            line.rule, line.reason = "byline", byline_rule.reason
        for position in date_at:
            line = open_lines[position]
            line.rule, line.reason = "date-line", date_rule.reason

        title_text: str | None = None
        first_body = 0
        if title_pos is not None:
            title_line = open_lines[title_pos]
            title_text = title_line.text
            title_line.rule, title_line.reason = "title", title_rule.reason
            before = open_lines[:title_pos]
            prose_before = sum(1 for line in before if line.prose)
            if prose_before <= title_rule.max_prose_before:
                for line in before:
                    if not line.removed:
                        line.rule = "header"
                        line.reason = (
                            header.reason_before_title_prose
                            if line.prose
                            else header.reason_before_title_short
                        )
            first_body = title_pos + 1
        # Kickers, section labels and tags between the title and the first sentence.
        for line in open_lines[first_body : first_body + title_rule.scan_lines]:
            if line.prose:
                break
            if not line.removed and line.short:
                line.rule, line.reason = "header", header.reason_after_title
        return title_text, authors

    # --------------------------------------------------------- headline lists

    def _apply_headline_lists(self, lines: list[_Line]) -> None:
        rule = self.rules.headline_list
        min_ratio = self.rules.thresholds.title_case_min_ratio
        run: list[_Line] = []
        intro: _Line | None = None  # the last non-blank line before the run

        def close_run() -> None:
            if len(run) < rule.min_run:
                return
            if intro is not None and intro.text.endswith(":") and not intro.starts_list:
                return  # "The measures include:" introduces a list in the article
            if any(line.bullet for line in run):
                return
            mean_ratio = sum(line.title_ratio for line in run) / len(run)
            if mean_ratio >= min_ratio:
                for line in run:
                    line.rule, line.reason = "headline-list", rule.reason

        previous: _Line | None = None
        for line in lines:
            if line.removed and run:
                continue  # removed lines (ad markers, ...) do not break a run
            if not line.removed and line.short and line.words >= rule.min_words:
                if not run:
                    intro = previous
                run.append(line)
            else:
                close_run()
                run = []
            previous = line
        close_run()

    # ---------------------------------------------------------------- trailing

    def _apply_trailing(self, lines: list[_Line]) -> None:
        rule = self.rules.trailing
        last_prose = None
        for position in range(len(lines) - 1, -1, -1):
            line = lines[position]
            if not line.removed and line.prose:
                last_prose = position
                break
        if last_prose is None or lines[last_prose].text.endswith(":"):
            return
        for line in lines[last_prose + 1 :]:
            if line.removed or not line.short:
                continue
            if line.words >= rule.headline_min_words:
                line.rule, line.reason = "trailing", rule.reason_headline
            else:
                line.rule, line.reason = "trailing", rule.reason_other


def _first_chars_of(patterns: tuple[re.Pattern[str], ...]) -> frozenset[str] | None:
    """What `line[0].lower()` can be for one of `patterns` to match at the line
    start (a non-ASCII character: always possible); None when unknown."""
    chars: set[str] = set()
    for pattern in patterns:
        first = first_chars(pattern, fold_case=True) if is_start_anchored(pattern) else None
        if first is None:
            return None
        chars |= first
    return frozenset(chars)


def _any_of(patterns: tuple[re.Pattern[str], ...]) -> tuple[re.Pattern[str], ...]:
    """The patterns as one alternation (same flags, no group references), else as they are."""
    if len(patterns) < 2 or len({p.flags for p in patterns}) != 1:
        return patterns
    if any(has_group_references(p) for p in patterns):
        return patterns
    try:
        return (re.compile("|".join(f"(?:{p.pattern})" for p in patterns), patterns[0].flags),)
    except re.error:
        return patterns


def _key(lowered: str) -> str:
    """A repeat key: the words (runs of \\w) of a lower-cased line, single-spaced."""
    return " ".join(_KEY_DROP.sub(" ", lowered).split())


# Every byte but ASCII letters, digits and "_" (the ASCII characters of \w).
_NOT_ASCII_WORD = bytes(b for b in range(256) if not (b < 128 and (chr(b).isalnum() or b == 95)))


def _signature(lowered: str) -> bytes:
    """The ASCII word characters of a lower-cased line, in order: equal keys have
    equal signatures (a key keeps the line's \\w characters in order and adds only
    spaces), at a fraction of a key's cost (no per-character Unicode lookups)."""
    return lowered.encode("utf-8", "surrogatepass").translate(None, _NOT_ASCII_WORD)


def _title_case_ratio(tokens: list[str]) -> float:
    counted = capitalised = 0
    for token in tokens[1:]:
        word = token.strip(_EDGE_PUNCT)
        if not word or not word[0].isalpha() or word.lower() in _MINOR_WORDS:
            continue
        counted += 1
        if word[0].isupper():
            capitalised += 1
    return capitalised / counted if counted else 0.0


def _byline_names(text: str, suffixes: tuple[str, ...], max_names: int) -> list[str]:
    """Names from the part of a byline after "By": cut at separators, drop roles."""
    text = _BYLINE_CUT.split(text, maxsplit=1)[0].strip().rstrip(".,;")
    # "A and B, Outlet": what follows a comma after the "and" is an affiliation.
    segments = text.split(",")
    for i, segment in enumerate(segments):
        if _AND.search(segment):
            text = ",".join(segments[: i + 1])
            break
    names: list[str] = []
    for part in _NAME_SPLIT.split(text):
        part = _NAME_TAIL.sub("", part).strip(" .,;")
        if not part or part.lower() in suffixes:
            continue
        lowered = part.lower()
        for suffix in suffixes:
            if lowered.endswith(" " + suffix):
                part = part[: -len(suffix) - 1].strip(" ,")
                break
        tokens = part.split()
        if not 1 <= len(tokens) <= 5:
            return []
        if not all(_NAME_TOKEN.match(t) or t.lower() in _NAME_PARTICLES for t in tokens):
            return []
        if not _NAME_TOKEN.match(tokens[0]):
            return []
        names.append(part)
    if not names or len(names) > max_names:
        return []
    return names
