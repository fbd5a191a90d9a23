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

from newsbeam.transforms.clean.rules import RuleSet
from newsbeam.transforms.clean.text_normalizer import normalize_line, normalize_text

# Ends like a sentence: . ! ? … or : then optional closing quotes/brackets.
_SENTENCE_END = re.compile(r"[.!?…:][\"'”’»)\]]*$")
_QUESTION_END = re.compile(r"[?!][\"'”’»)\]]*$")
_BULLET = re.compile(r"^([-*•·▪◦‣–—]|\d{1,2}[.)]|[a-zA-Z][.)])\s+")
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
_ELLIPSIS_END = re.compile(r"(…|\.\.\.)[\"'”’)]*$")
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
    title_ratio: float
    bullet: bool
    rule: str | None = None
    reason: str | None = None
    starts_list: bool = False

    @property
    def removed(self) -> bool:
        return self.reason is not None


class TextCleaner:
    """Applies a `RuleSet` to article text. Stateless between calls; thread-safe."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = ruleset
        self._prefilter = _Prefilter(ruleset)
        limits = [rule.max_words for rule in ruleset.patterns]
        self._pattern_max_words = None if None in limits else max(limits, default=0)

    # ------------------------------------------------------------------ public

    def clean(self, text: str, *, title: str | None = None) -> CleanResult:
        """Clean one article text. `title`, when the record already carries one,
        identifies the headline line in the text."""
        normalized = normalize_text(text)
        lines = [self._features(i, t) for i, t in enumerate(normalized.split("\n")) if t]
        self._apply_patterns(lines)
        self._apply_repeats(lines)
        found_title, authors = self._apply_header(lines, normalize_line(title) if title else None)
        self._apply_headline_lists(lines)
        self._apply_trailing(lines)

        kept = [line.text for line in lines if not line.removed]
        removed = Counter(line.reason for line in lines if line.reason is not None)
        decisions = tuple(
            LineDecision(
                number=line.index + 1,
                text=line.text,
                kept=not line.removed,
                rule=line.rule,
                reason=line.reason,
            )
            for line in lines
        )
        return CleanResult(
            text="\n\n".join(kept),
            removed=dict(sorted(removed.items())),
            title=found_title,
            authors=authors,
            decisions=decisions,
        )

    # ---------------------------------------------------------------- features

    def _features(self, index: int, text: str) -> _Line:
        t = self.rules.thresholds
        tokens = text.split()
        words = len(tokens)
        # Only short lines are judged by their capitalisation.
        ratio = _title_case_ratio(tokens) if words <= t.short_line_max_words else 0.0
        sentence = bool(_SENTENCE_END.search(text))
        prose = (sentence and words >= t.sentence_min_words) or (
            words >= t.prose_min_words_unpunctuated
        )
        # A title-case question or exclamation is a headline, not a sentence.
        if prose and _QUESTION_END.search(text) and ratio >= 0.8 and words <= 15:
            prose = False
        return _Line(
            index=index,
            text=text,
            words=words,
            sentence=sentence,
            prose=prose,
            short=not prose and words <= t.short_line_max_words,
            title_ratio=ratio,
            bullet=bool(_BULLET.match(text)),
        )

    # ----------------------------------------------------------- pattern rules

    def _apply_patterns(self, lines: list[_Line]) -> None:
        t = self.rules.thresholds
        total = len(lines)
        max_words = self._pattern_max_words
        for position, line in enumerate(lines):
            if len(line.text) > t.pattern_max_chars:
                continue
            if max_words is not None and line.words > max_words:
                continue
            if not self._prefilter.may_match(line.text, line.words):
                continue
            lower = line.text.lower()
            for rule in self.rules.patterns:
                if rule.max_words is not None and line.words > rule.max_words:
                    continue
                if rule.zone == "header" and position >= t.header_lines:
                    continue
                if rule.zone == "tail" and position < total - t.tail_lines:
                    continue
                if rule.matches(line.text, lower):
                    line.rule, line.reason, line.starts_list = (
                        rule.name,
                        rule.reason,
                        rule.starts_list,
                    )
                    break
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

    def _repeat_key(self, text: str) -> str:
        for prefix in self.rules.repeat.prefixes:
            stripped = prefix.sub("", text, count=1)
            if stripped != text:
                text = stripped
                break
        return " ".join(_KEY_DROP.sub(" ", text.lower()).split())

    def _apply_repeats(self, lines: list[_Line]) -> None:
        rule = self.rules.repeat
        candidates = [line for line in lines if not line.removed and line.words >= rule.min_words]
        keys = {id(line): self._repeat_key(line.text) for line in candidates}
        seen: set[str] = set()
        for position, line in enumerate(candidates):
            key = keys[id(line)]
            if key in seen:
                line.rule, line.reason = "repeat", rule.reason
                continue
            seen.add(key)
            # A teaser cut short with an ellipsis repeats the start of a longer line
            # close to it (a bounded look, so that a text of many "…" lines stays linear).
            if _ELLIPSIS_END.search(line.text) and len(key.split()) >= rule.min_words:
                nearby = candidates[max(0, position - 5) : position + 6]
                for other in nearby:
                    other_key = keys[id(other)]
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
        if line.words > 16 or (_QUESTION_END.search(line.text)):
            return None
        for pattern in rule.patterns:
            match = pattern.match(line.text)
            if match:
                names = _byline_names(match.group("names"), rule.name_suffixes, rule.max_names)
                if names:
                    return names
        return None

    def _is_date_line(self, line: _Line) -> bool:
        return line.words <= 14 and any(p.match(line.text) for p in self.rules.date_line.patterns)

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
        role_at = {
            p for p in range(scan) if open_lines[p].text.lower() in byline_rule.name_suffixes
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
            for position, line in enumerate(scan):
                if self._repeat_key(line.text) == key:
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


class _Prefilter:
    """Answers "could any pattern rule match this line?" cheaply.

    Most lines are article prose that no rule matches; running every rule's
    case-insensitive regexes on every line made pattern rules most of the
    cleaning time. Here patterns are grouped by their rule's `max_words`, so a
    long prose line is only tried against the few rules that allow long lines;
    within a group, patterns anchored at the line start are combined into one
    `match`; the others run one by one without a leading \\b (so that `re`
    can jump to their first literal); lower-case patterns run without
    IGNORECASE on the lower-cased line. All of this only widens what matches:
    a hit means the rules are then checked in order, as written.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        groups: dict[float, tuple[list[str], list[str], list[re.Pattern[str]], list]] = {}
        for rule in ruleset.patterns:
            limit = float("inf") if rule.max_words is None else float(rule.max_words)
            anchored_lower, anchored_other, floating_lower, floating_other = groups.setdefault(
                limit, ([], [], [], [])
            )
            for pattern in rule.patterns:
                source = pattern.pattern
                insensitive = bool(pattern.flags & re.IGNORECASE)
                # No upper-case letters means no \\S, \\W, [A-Z]...: safe on lower-cased text.
                lower_safe = insensitive and source == source.lower()
                if source.startswith("^"):
                    if lower_safe:
                        anchored_lower.append(f"(?:{source})")
                    else:
                        anchored_other.append(f"(?{'i' if insensitive else '-i'}:{source})")
                elif lower_safe:
                    floating_lower.append(re.compile(source.removeprefix("\\b")))
                else:
                    floating_other.append(pattern)
        self._groups = [
            (
                limit,
                re.compile("|".join(al)) if al else None,
                re.compile("|".join(ao)) if ao else None,
                tuple(fl),
                tuple(fo),
            )
            for limit, (al, ao, fl, fo) in sorted(groups.items())
        ]

    def may_match(self, text: str, words: int) -> bool:
        lower = text.lower()
        for limit, anchored_lower, anchored_other, floating_lower, floating_other in reversed(
            self._groups
        ):
            if words > limit:
                return False  # groups are visited from the largest limit down
            if anchored_lower is not None and anchored_lower.match(lower):
                return True
            if anchored_other is not None and anchored_other.match(text):
                return True
            for pattern in floating_lower:
                if pattern.search(lower):
                    return True
            for pattern in floating_other:
                if pattern.search(text):
                    return True
        return False


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
