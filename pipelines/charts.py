"""The run report's charts: matplotlib figures rendered to inline SVG.

matplotlib because it is the long-maintained standard for static charts in Python,
renders SVG itself (no browser, no JavaScript, nothing fetched when the page is
viewed) and escapes the text it writes into the SVG. Text stays text
(`svg.fonttype: none`) so the page is searchable and small; math parsing is off so
a `$` in a label is drawn as is; the hash salt and the empty date make the SVG of the
same numbers byte-identical from run to run.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "newsbeam-run-report",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_BAR = "#3b6ea8"
_SERIES_COLOURS = ("#3b6ea8", "#d9822b", "#4a9c5d", "#a8433b")
_MAX_BARS = 25
_MAX_LABEL = 48


def bar_chart(items: Sequence[tuple[str, int]], *, xlabel: str, name: str = "chart") -> str:
    """Horizontal bars, largest first as given; past 25 bars the rest become "other"."""
    items = list(items)
    if len(items) > _MAX_BARS:
        rest = sum(value for _, value in items[_MAX_BARS - 1 :])
        items = [*items[: _MAX_BARS - 1], (f"other ({len(items) - _MAX_BARS + 1})", rest)]
    labels = [_short(label) for label, _ in items]
    values = [value for _, value in items]
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(6.4, 0.9 + 0.28 * max(len(items), 1)), layout="constrained")
        axes = figure.subplots()
        positions = range(len(items))
        bars = axes.barh(positions, values, color=_BAR)
        axes.set_yticks(list(positions), labels)
        axes.invert_yaxis()
        axes.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3)
        axes.set_xlabel(xlabel)
        axes.set_xlim(0, max(values, default=0) * 1.15 or 1)
        axes.xaxis.get_major_locator().set_params(integer=True)
        return _svg(figure, name)


def line_chart(
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    name: str = "chart",
) -> str:
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(6.4, 2.8), layout="constrained")
        axes = figure.subplots()
        for (name, values), colour in zip(series.items(), _SERIES_COLOURS, strict=False):
            axes.step(x, values, where="post", label=name, color=colour)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=0)
        if series:
            axes.legend(frameon=False)
        return _svg(figure, name)


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


# Inside a tag (text nodes cannot hold "<" or ">": matplotlib escapes them).
_TAG = re.compile(r"<[^<>]*>")
_REFERENCE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def _svg(figure: Figure, name: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Inline in HTML: drop the XML declaration and DOCTYPE before <svg.
    text = text[text.index("<svg") :]
    # Every chart names its parts figure_1, axes_1, ...: several on one page would share
    # ids (invalid HTML, and url(#clip) would resolve to another chart's clip path).
    return _TAG.sub(lambda tag: _REFERENCE.sub(rf"\1{name}-\2", tag.group(0)), text)
