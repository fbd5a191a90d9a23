"""Throughput over a run: elements counted per time bucket, as Beam counters.

Counters are the one metric every runner collects and sums (DirectRunner, Flink,
Dataflow), so the run report can draw "articles per second over the run" wherever
the job ran. Each element increments `newsbeam.timeline` / `<series>.<start>`,
where `<start>` is the bucket's start in whole seconds after the run started.
Buckets widen as the run gets older so a long run stays at a few hundred counters:
1 s for the first two minutes, 10 s up to 20 minutes, 60 s after that.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

NAMESPACE = "newsbeam.timeline"
STAGE = "timeline"  # the namespace without "newsbeam.", as counters_by_stage reports it

# (bucket width in seconds, up to this many seconds after the start)
_WIDTHS = ((1, 120), (10, 1200), (60, None))


def bucket_start(elapsed_seconds: float) -> int:
    """Start (whole seconds after the run's start) of the bucket `elapsed_seconds` falls in."""
    elapsed = max(0.0, elapsed_seconds)
    for width, until in _WIDTHS:
        if until is None or elapsed < until:
            return int(elapsed // width) * width
    raise AssertionError("unreachable: the last width has no end")


def bucket_width(start: int) -> int:
    for width, until in _WIDTHS:
        if until is None or start < until:
            return width
    raise AssertionError("unreachable: the last width has no end")


def throughput_series(counters: Mapping[str, int]) -> list[dict[str, Any]]:
    """`{"written.3": 40, "parsed.3": 52, ...}` -> one row per bucket, oldest first:
    `{"start": 3, "width": 1, "parsed": 52, "written": 40}` (counts, not rates)."""
    rows: dict[int, dict[str, Any]] = {}
    for name, value in counters.items():
        series, _, start_text = name.rpartition(".")
        if not series or not start_text.isdigit():
            continue
        start = int(start_text)
        row = rows.setdefault(start, {"start": start, "width": bucket_width(start)})
        row[series] = row.get(series, 0) + int(value)
    return [rows[start] for start in sorted(rows)]


class _CountOverTimeFn(beam.DoFn):
    def __init__(self, series: str, origin_epoch: float) -> None:
        self._series = series
        self._origin = origin_epoch

    def setup(self) -> None:
        self._counters: dict[int, Any] = {}

    def process(self, element: Any) -> Iterator[Any]:
        start = bucket_start(time.time() - self._origin)
        counter = self._counters.get(start)
        if counter is None:
            counter = self._counters[start] = Metrics.counter(NAMESPACE, f"{self._series}.{start}")
        counter.inc()
        yield element


class CountOverTime(beam.PTransform):
    """Pass-through that counts elements per time bucket since `origin_epoch`
    (wall clock, seconds since the epoch: the run's start)."""

    def __init__(self, series: str, origin_epoch: float) -> None:
        super().__init__()
        if "." in series:
            raise ValueError("series names cannot contain '.'")
        self._series = series
        self._origin = origin_epoch

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return pcoll | beam.ParDo(_CountOverTimeFn(self._series, self._origin))
