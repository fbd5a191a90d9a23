"""What the run report needs from a finished run's output files, beyond its counters:
the largest duplicate clusters with their titles, and example sources per dead-letter
reason. Reads `articles-*.jsonl` and `dead-letter-*.jsonl` (any Beam file system)
one line at a time, so memory grows with the number of duplicates, not articles.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from apache_beam.io.filesystems import FileSystems

from newsbeam.transforms.io.files.jsonl import ARTICLES_PREFIX, DEAD_LETTERS_PREFIX

logger = logging.getLogger(__name__)

TOP_CLUSTERS = 10
EXAMPLES_PER_REASON = 3


@dataclass(frozen=True)
class Cluster:
    representative_id: str
    title: str | None
    url: str | None
    duplicates: int  # articles labelled exact/near of the representative
    statuses: dict[str, int]
    member_titles: tuple[str | None, ...]  # a few duplicates' titles


@dataclass(frozen=True)
class DeadLetterExample:
    source: str
    error: str


@dataclass
class RunOutputs:
    clusters: list[Cluster] = field(default_factory=list)
    # "stage.reason" -> a few examples (source + error message)
    dead_letter_examples: dict[str, list[DeadLetterExample]] = field(default_factory=dict)
    unreadable_lines: int = 0  # output lines that were not JSON objects (should be 0)


def scan_outputs(
    output_dir: str, *, top_clusters: int = TOP_CLUSTERS, examples: int = EXAMPLES_PER_REASON
) -> RunOutputs:
    outputs = RunOutputs()
    files = _matching(output_dir, f"{ARTICLES_PREFIX}-*.jsonl")
    # Pass 1: duplicates per representative. Pass 2: the top clusters' titles.
    sizes: Counter[str] = Counter()
    statuses: dict[str, Counter[str]] = {}
    for record in _records(files, outputs):
        duplicate = record.get("duplicate") or {}
        representative = duplicate.get("of")
        if duplicate.get("status") in ("exact", "near") and isinstance(representative, str):
            sizes[representative] += 1
            statuses.setdefault(representative, Counter())[duplicate["status"]] += 1
    top = heapq.nlargest(top_clusters, sizes.items(), key=lambda item: (item[1], item[0]))
    wanted = {rep for rep, _ in top}
    heads: dict[str, dict[str, Any]] = {}
    members: dict[str, list[str | None]] = {rep: [] for rep in wanted}
    if wanted:
        for record in _records(files, RunOutputs()):
            if record.get("id") in wanted:
                heads[record["id"]] = record
            of = (record.get("duplicate") or {}).get("of")
            if of in wanted and len(members[of]) < 3:
                members[of].append(_text(record.get("title")))
    outputs.clusters = [
        Cluster(
            representative_id=rep,
            title=_text(heads.get(rep, {}).get("title")),
            url=_text(heads.get(rep, {}).get("url")),
            duplicates=count,
            statuses=dict(sorted(statuses[rep].items())),
            member_titles=tuple(members[rep]),
        )
        for rep, count in top
    ]
    letters = _matching(output_dir, f"{DEAD_LETTERS_PREFIX}-*.jsonl")
    for letter in _records(letters, outputs):
        key = f"{letter.get('stage')}.{letter.get('reason')}"
        kept = outputs.dead_letter_examples.setdefault(key, [])
        if len(kept) < examples:
            kept.append(
                DeadLetterExample(
                    source=_describe_source(letter.get("source")),
                    error=_text(letter.get("error")) or "",
                )
            )
    return outputs


def _matching(directory: str, pattern: str) -> list[str]:
    [result] = FileSystems.match([FileSystems.join(directory, pattern)])
    return sorted(m.path for m in result.metadata_list)


def _records(paths: list[str], outputs: RunOutputs) -> Iterator[dict[str, Any]]:
    for path in paths:
        with FileSystems.open(path) as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    record = None
                if not isinstance(record, dict):
                    outputs.unreadable_lines += 1
                    continue
                yield record


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _describe_source(source: Any) -> str:
    """`file:///in/feed.jsonl line 8` or `kafka:raw-articles partition 0 offset 12`."""
    if not isinstance(source, dict):
        return "unknown source"
    text = str(source.get("uri") or "unknown source")
    for field_name in ("line", "partition", "offset"):
        if source.get(field_name) is not None:
            text += f" {field_name} {source[field_name]}"
    return text
