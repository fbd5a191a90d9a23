"""A progress line on stderr for long runs."""

from __future__ import annotations

import logging
import threading
import time

import apache_beam as beam

logger = logging.getLogger("newsbeam.progress")

_INTERVAL_SECONDS = 5.0
_lock = threading.Lock()
_state = {"count": 0, "started": 0.0, "last": 0.0}


def _tick(count: int = 1) -> None:
    now = time.monotonic()
    with _lock:
        if not _state["started"]:
            _state["started"] = _state["last"] = now
        _state["count"] += count
        if now - _state["last"] < _INTERVAL_SECONDS:
            return
        _state["last"] = now
        done, elapsed = _state["count"], now - _state["started"]
    logger.info("%s articles written (%.0f/s)", f"{done:,}", done / max(elapsed, 1e-9))


class _CountProgressFn(beam.DoFn):
    def process(self, element):
        _tick()
        yield element


class ReportProgress(beam.PTransform):
    """Pass-through that logs how many elements went by, every few seconds.

    The count is per worker process: on the DirectRunner that is the whole run.
    """

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return pcoll | beam.ParDo(_CountProgressFn())
