"""run-report.json: what happened in a run, from Beam's metrics."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.runner import PipelineResult

from newsbeam.pipelines.timeline import STAGE as TIMELINE_STAGE
from newsbeam.pipelines.timeline import throughput_series

NAMESPACE_PREFIX = "newsbeam."


def counters_by_stage(result: PipelineResult) -> dict[str, dict[str, int]]:
    """{stage: {counter: value}} for every `newsbeam.<stage>` counter."""
    stages: dict[str, dict[str, int]] = defaultdict(dict)
    for counter in result.metrics().query(MetricsFilter())["counters"]:
        namespace = counter.key.metric.namespace
        if not namespace.startswith(NAMESPACE_PREFIX):
            continue
        # Some runners only report attempted values.
        value = counter.committed if counter.committed is not None else counter.attempted
        stage = namespace[len(NAMESPACE_PREFIX) :]
        name = counter.key.metric.name
        stages[stage][name] = stages[stage].get(name, 0) + int(value or 0)
    return {stage: dict(sorted(names.items())) for stage, names in sorted(stages.items())}


def build_report(
    stages: dict[str, dict[str, int]],
    *,
    wall_seconds: float,
    inputs: list[str],
    output_dir: str,
    pipeline_version: str,
    started_at: str,
    options: dict[str, Any] | None = None,
    versions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    stages = dict(stages)
    # Per-second counters are a series of their own, not a stage's counts.
    throughput = throughput_series(stages.pop(TIMELINE_STAGE, {}))
    dead_letters: dict[str, int] = {}
    filtered: dict[str, int] = {}
    for stage, names in stages.items():
        for name, value in names.items():
            if name.startswith("dead_letter."):
                dead_letters[f"{stage}.{name[len('dead_letter.') :]}"] = value
        if stage.startswith("filtered_"):
            for name, value in names.items():
                filtered[f"{stage[len('filtered_') :]}.{name}"] = value
    written = stages.get("write", {})
    articles_written = written.get("articles", 0)
    parsed = stages.get("parse", {}).get("articles", 0)
    later_dead = sum(v for k, v in dead_letters.items() if not k.startswith(("read.", "parse.")))
    return {
        "pipeline_version": pipeline_version,
        "started_at": started_at,
        "wall_seconds": round(wall_seconds, 3),
        "inputs": inputs,
        "output_dir": output_dir,
        "files_read": stages.get("read", {}).get("files", 0),
        "articles_parsed": parsed,
        "articles_written": articles_written,
        "articles_per_second": round(articles_written / wall_seconds, 1) if wall_seconds else None,
        "dead_letters_written": written.get("dead_letters", 0),
        "dead_letters": dict(sorted(dead_letters.items())),
        "filtered": dict(sorted(filtered.items())),
        # Every parsed article is written, filtered on request, or dead-lettered.
        "all_articles_accounted_for": parsed
        == articles_written + sum(filtered.values()) + later_dead,
        "stages": stages,
        # Articles per time bucket since the start (pipelines/timeline.py).
        "throughput": throughput,
        # What the run was asked to do and with what, so that it can be reproduced.
        "options": options or {},
        "versions": versions or {"pipeline": pipeline_version},
    }
