"""The Wikinews topic data (shared/data/wikinews_topics.jsonl) made fit to train on (pure).

Each line is the opening sentence(s) of a Wikinews article in one of 16
languages with its category mapped to an IPTC Media Topics top-level label.
The data is noisy in ways a model would learn from, so `prepare` cleans it:

- wiki markup: category lists ("Catégorie:SportCatégorie:Football...", which
  spell out the label and never occur in real articles), image options
  ("230 px|rechts|"), links, templates, HTML tags and section headings are
  stripped; what is left of a line that was mostly markup is usually a
  fragment, which the length rule below drops;
- fragments: fewer than `MIN_LETTERS` letters ("George W.", "J.", a lone
  caption) cannot tell a topic;
- repeats: the same text (after normalisation) more than once is kept once,
  and not at all when its copies disagree on the label;
- imbalance (training part only; English is mostly politics, Catalan mostly
  sport): `cell_weights`, what the default recipe uses, weighs each
  (language, label) cell down to at most `cap` items' worth and evens out
  the labels, so every item still trains; `cap_cells`, the previous recipe,
  kept to measure against, drops the items above `cap` per cell instead.

Every dropped line is counted by reason, so the choices can be measured
(benchmarks/README.md).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newsbeam.transforms.classify.features import normalize_text
from newsbeam.transforms.classify.training import LabelledExample, TrainingDataError

# Category namespace names of the 16 editions (and interwiki prefixes before
# them, "ru:Категория:"), plus portals, which are category-like boxes.
_NAMESPACES = (
    "Category|Categoria|Categoría|Catégorie|Kategorie|Kategoria|Kategori|Kategorio|"
    "Категория|Категорія|تصنيف|رده|カテゴリ|분류|Portal|Portail|Портал|درگاه"
)
# Category links are glued together without separators and run to the end of
# the line, so everything from the first one on goes.
_CATEGORY_RUN = re.compile(rf"(?:\b[a-z]{{2,3}}:)?(?:{_NAMESPACES})\s*:.*", re.IGNORECASE | re.S)
_TAG = re.compile(r"<[^<>]{0,200}>")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
# [[target|shown]] -> shown, [[target]] -> target
_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_HEADING = re.compile(r"={2,}[^=]{0,80}={2,}")
# Image sizes and placement options of an inline picture ("230 px|", "rechts|",
# "miniaturadeimagen|izquierda|"): a pipe never occurs in news prose.
_IMAGE_OPTION = re.compile(r"\b\d{2,4}\s*px\b|[^\s|]{0,30}\|")
_LEFTOVER = re.compile(r"\[\[|\]\]|\{\{|\}\}|\||^[\s*#:=]+")
_SPACES = re.compile(r"\s+")
# A Han, kana or Hangul character is a syllable or a word: it counts as three letters.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
MIN_LETTERS = 20
DEFAULT_CAP = 600


def strip_markup(text: str) -> str:
    """The text without wiki markup (category links, images, links, templates, tags)."""
    text = _CATEGORY_RUN.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _TEMPLATE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _HEADING.sub(" ", text)
    text = _IMAGE_OPTION.sub(" ", text)
    text = _LEFTOVER.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def letter_count(text: str) -> int:
    letters = sum(1 for ch in text if ch.isalpha())
    return letters + 2 * len(_CJK.findall(text))


@dataclass(frozen=True, slots=True)
class WikinewsItem:
    lang: str
    text: str
    label: str

    def example(self) -> LabelledExample:
        return LabelledExample(self.text, (self.label,))


@dataclass
class PreparedData:
    items: list[WikinewsItem]
    dropped: Counter[str] = field(default_factory=Counter)
    stripped: int = 0  # lines that kept their text after markup was removed


def read_wikinews(path: str | Path) -> list[WikinewsItem]:
    """Every line of the file; a malformed line raises `TrainingDataError` naming it."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TrainingDataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingDataError(f"{path}: cannot read: {exc}") from None
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            items.append(WikinewsItem(str(obj["lang"]), str(obj["text"]), str(obj["label"])))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TrainingDataError(f"{path}:{number}: not a Wikinews topic item ({exc})") from None
    if not items:
        raise TrainingDataError(f"{path}: no items")
    return items


def prepare(
    items: Sequence[WikinewsItem],
    *,
    strip: bool = True,
    min_letters: int = MIN_LETTERS,
    dedupe: bool = True,
) -> PreparedData:
    """Clean, filter and deduplicate the items (each step can be turned off to measure it)."""
    out = PreparedData(items=[])
    kept: list[WikinewsItem] = []
    for item in items:
        text = strip_markup(item.text) if strip else item.text.strip()
        if letter_count(text) < min_letters:
            out.dropped["markup" if letter_count(item.text) >= min_letters else "fragment"] += 1
            continue
        if text != _SPACES.sub(" ", item.text).strip():  # not mere whitespace
            out.stripped += 1
        kept.append(WikinewsItem(item.lang, text, item.label))
    if dedupe:
        labels_of: dict[str, set[str]] = defaultdict(set)
        keys = [normalize_text(item.text, fold_digits=False) for item in kept]
        for key, item in zip(keys, kept, strict=True):
            labels_of[key].add(item.label)
        seen: set[str] = set()
        unique = []
        for key, item in zip(keys, kept, strict=True):
            if len(labels_of[key]) > 1:
                out.dropped["repeat_conflicting_label"] += 1
            elif key in seen:
                out.dropped["repeat"] += 1
            else:
                seen.add(key)
                unique.append(item)
        kept = unique
    out.items = kept
    return out


def cap_cells(
    items: Sequence[WikinewsItem], cap: int | None, *, seed: int
) -> tuple[list[WikinewsItem], int]:
    """At most ``cap`` items per (language, label), drawn with a fixed seed; and how many went.

    Applied to the training part only: held-out figures keep the data's own mix.
    """
    if cap is None:
        return list(items), 0
    cells: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        cells[(item.lang, item.label)].append(index)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for cell in sorted(cells):
        rows = cells[cell]
        if len(rows) > cap:
            rows = rng.choice(rows, size=cap, replace=False).tolist()
        chosen.extend(rows)
    return [items[i] for i in sorted(chosen)], len(items) - len(chosen)


def cell_weights(
    items: Sequence[WikinewsItem], cap: float, *, label_balance: float = 0.0
) -> np.ndarray:
    """A training weight per item that evens out languages and labels without dropping any.

    An item of a (language, label) cell with n items weighs min(1, cap / n):
    every cell counts as if it held at most ``cap`` items (English politics
    and Catalan sport no longer drown the rest) while every item still adds
    its words. Then each label's total is moved towards the mean total by
    (mean / total) ** ``label_balance`` (0: not at all, 1: every label weighs
    the same), a prior correction: real streams are not 31% politics.
    Normalised to mean 1, so the solver's regularisation means the same as
    with unit weights.
    """
    if cap <= 0:
        raise ValueError(f"cap must be > 0, got {cap}")
    if not items:
        return np.zeros(0, dtype=np.float64)
    cell_sizes = Counter((item.lang, item.label) for item in items)
    weights = np.array(
        [min(1.0, cap / cell_sizes[(item.lang, item.label)]) for item in items], dtype=np.float64
    )
    if label_balance:
        totals: dict[str, float] = defaultdict(float)
        for weight, item in zip(weights.tolist(), items, strict=True):
            totals[item.label] += weight
        mean = sum(totals.values()) / len(totals)
        weights *= np.array([(mean / totals[item.label]) ** label_balance for item in items])
    return weights * (len(weights) / weights.sum())
