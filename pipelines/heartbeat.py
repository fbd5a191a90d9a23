"""Heartbeat: a pass-through transform that keeps the health file fresh (see health.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from newsbeam.pipelines.health import DEFAULT_INTERVAL_S, HealthFile


class _HeartbeatFn(beam.DoFn):
    def __init__(self, path: str, interval_s: float) -> None:
        self._path = path
        self._interval_s = interval_s

    def setup(self) -> None:
        self._health = HealthFile(self._path, self._interval_s)
        self._health.beat()

    def process(self, element: Any) -> Iterator[Any]:
        yield element

    def finish_bundle(self) -> None:
        # Called for every bundle of the fused stage, with or without elements.
        self._health.beat()


class Heartbeat(beam.PTransform):
    """Pass elements through unchanged; touch `path` as bundles finish.

    Apply it right after the source of a streaming job, e.g.
    `articles | Heartbeat(args.health_file)`.
    """

    def __init__(self, path: str, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        super().__init__()
        self._path = path
        self._interval_s = interval_s

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return pcoll | "Touch health file" >> beam.ParDo(_HeartbeatFn(self._path, self._interval_s))
