"""In-bundle batching for DoFns whose core works best on many elements at once.

Why not `beam.BatchElements` or a GroupByKey: after an unbounded source on the
local runner a GroupByKey never fires, and BatchElements stamps a whole batch
with the end of its window. Buffering inside the DoFn and flushing when the
batch is full or the bundle ends works in batch and streaming alike, and every
output keeps its own input's timestamp, window and pane.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue


class BatchingDoFn(beam.DoFn, metaclass=abc.ABCMeta):
    """Buffers elements within a bundle and hands them to `handle_batch`.

    (The hook is not called `process_batch`: that name turns a DoFn into one of
    Beam's batched DoFns, which this is not.)

    Subclasses set `max_batch_size` (in `__init__` or `setup`) and yield
    outputs built with `windowed.with_value(...)` (possibly wrapped in a
    `TaggedOutput`), so each output stays in its input's window.
    """

    max_batch_size: int = 1

    def start_bundle(self) -> None:
        self._pending: list[WindowedValue] = []

    def process(
        self,
        element: Any,
        timestamp=beam.DoFn.TimestampParam,
        window=beam.DoFn.WindowParam,
        pane=beam.DoFn.PaneInfoParam,
    ) -> Iterator[Any]:
        self._pending.append(WindowedValue(element, timestamp, (window,), pane))
        if len(self._pending) >= self.max_batch_size:
            yield from self.flush()

    def finish_bundle(self) -> Iterator[Any]:
        yield from self.flush()

    def flush(self) -> Iterator[Any]:
        batch, self._pending = self._pending, []
        if batch:
            yield from self.handle_batch(batch)

    @abc.abstractmethod
    def handle_batch(self, batch: list[WindowedValue]) -> Iterable[Any]:
        """Process buffered elements (`windowed.value`); yield windowed outputs."""


class CounterCache:
    """Beam counters created on first use, for names known only at run time."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace
        self._counters: dict[str, Any] = {}

    def inc(self, name: str, n: int = 1) -> None:
        counter = self._counters.get(name)
        if counter is None:
            counter = self._counters[name] = Metrics.counter(self._namespace, name)
        counter.inc(n)
