"""A progress line on stderr for long runs."""

from __future__ import annotations

import logging
import os
import threading
import time

import apache_beam as beam

logger = logging.getLogger("newsbeam.progress")

_INTERVAL_SECONDS = 5.0
_lock = threading.Lock()
_state: dict[str, dict[str, float]] = {}  # what is counted -> count, started, last


def resident_bytes() -> int | None:
    """This process's resident memory (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _tick(what: str, count: int = 1) -> None:
    now = time.monotonic()
    with _lock:
        state = _state.setdefault(what, {"count": 0, "started": now, "last": now})
        state["count"] += count
        if now - state["last"] < _INTERVAL_SECONDS:
            return
        state["last"] = now
        done, elapsed = state["count"], now - state["started"]
    rss = resident_bytes()
    logger.info(
        "%s %s (%.0f/s%s)",
        f"{int(done):,}",
        what,
        done / max(elapsed, 1e-9),
        "" if rss is None else f", RSS {rss / 1e9:.2f} GB",
    )


class _CountProgressFn(beam.DoFn):
    def __init__(self, what: str) -> None:
        self._what = what

    def process(self, element):
        _tick(self._what)
        yield element


class ReportProgress(beam.PTransform):
    """Pass-through that logs how many elements went by, their rate and the resident
    memory, every few seconds.

    The count and memory are per worker process: on the DirectRunner with one
    worker that is the whole run; with several, each worker logs its own line.
    """

    def __init__(self, what: str = "articles written") -> None:
        super().__init__()
        self._what = what

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return pcoll | beam.ParDo(_CountProgressFn(self._what))
