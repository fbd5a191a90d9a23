"""The in-process runner keeps its metrics bounded however many bundles run."""

import gc
from types import GeneratorType

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.metrics import Metrics
from apache_beam.metrics.cells import GaugeData
from apache_beam.metrics.monitoring_infos import (
    consolidate,
    extract_gauge_value,
    int64_user_gauge,
)
from apache_beam.runners.portability.fn_api_runner import worker_handlers
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec
from apache_beam.utils.timestamp import Duration

from newsbeam.pipelines.local_runner import _consolidate_now, streaming_fn_api_runner

BUNDLES = 300


class _Ticks(RestrictionProvider):
    def initial_restriction(self, element):
        return OffsetRange(0, element)

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element, restriction):
        return restriction.size()


class _OneTickPerBundleFn(beam.DoFn):
    """Claims one position per call and checkpoints: one bundle per tick, like the
    Kafka read does between polls."""

    def process(self, element, tracker=beam.DoFn.RestrictionParam(_Ticks())):  # noqa: B008
        position = tracker.current_restriction().start
        if tracker.try_claim(position):
            Metrics.counter("test", "ticks").inc()
            yield position
            tracker.defer_remainder(Duration(0))


def _live_consolidate_generators() -> int:
    # Generators of monitoring_infos.consolidate still alive in this process.
    code = consolidate.__code__
    return sum(1 for o in gc.get_objects() if isinstance(o, GeneratorType) and o.gi_code is code)


def _lazy_metric_layers(position, baseline):
    if position != BUNDLES - 1:
        return []
    # Relative to before the run: earlier tests' pipelines may leave some behind.
    return [_live_consolidate_generators() - baseline]


def test_metrics_do_not_pile_up_per_bundle():
    pipeline = beam.Pipeline(runner=streaming_fn_api_runner())
    layers = (
        pipeline
        | beam.Create([BUNDLES])
        | beam.ParDo(_OneTickPerBundleFn())
        | beam.FlatMap(_lazy_metric_layers, _live_consolidate_generators())
    )
    # Unfixed, two lazy layers per bundle: ~600 here, and without bound in a stream.
    assert_that(layers | beam.Map(lambda n: n < 10), equal_to([True]))
    result = pipeline.run()
    result.wait_until_finish()
    ticks = result.metrics().query(beam.metrics.MetricsFilter().with_name("ticks"))["counters"]
    assert sum(c.committed for c in ticks) == BUNDLES  # totals unchanged by the fix


class _GaugePerBundleFn(beam.DoFn):
    """Sets a gauge in every bundle (one tick each), as the dedup window gauge does."""

    def process(self, element, tracker=beam.DoFn.RestrictionParam(_Ticks())):  # noqa: B008
        position = tracker.current_restriction().start
        if tracker.try_claim(position):
            Metrics.gauge("test", "position").set(position)
            yield position
            tracker.defer_remainder(Duration(0))


def test_gauges_keep_only_their_latest_value():
    newest_first = [
        int64_user_gauge("test", "g", GaugeData(value, timestamp=1000 + value), ptransform="s")
        for value in range(50, 0, -1)
    ]
    other = int64_user_gauge("test", "h", GaugeData(7, timestamp=5), ptransform="s")
    merged = _consolidate_now([*newest_first, other])
    # Unfixed, `consolidate` keeps all 51: one more per bundle, forever.
    assert sorted(extract_gauge_value(info)[1] for info in merged) == [7, 50]


def test_gauge_set_per_bundle_reports_the_last_value():
    pipeline = beam.Pipeline(runner=streaming_fn_api_runner())
    _ = pipeline | beam.Create([BUNDLES]) | beam.ParDo(_GaugePerBundleFn())
    result = pipeline.run()
    result.wait_until_finish()
    gauges = result.metrics().query(beam.metrics.MetricsFilter().with_name("position"))["gauges"]
    assert [g.committed.value for g in gauges] == [BUNDLES - 1]


class _BagAfterClearFn(beam.DoFn):
    """Clears its bag every 10 elements, then appends: the pattern whose cached
    list the SDK re-measured on every append. Emits the bag size and the state
    cache setting seen while running."""

    BAG = BagStateSpec("bag", VarIntCoder())
    SEEN = ReadModifyWriteStateSpec("seen", VarIntCoder())

    def process(
        self,
        element,
        bag=beam.DoFn.StateParam(BAG),  # noqa: B008
        seen=beam.DoFn.StateParam(SEEN),  # noqa: B008
    ):
        count = (seen.read() or 0) + 1
        seen.write(count)
        if count % 10 == 1:
            bag.clear()
        bag.add(element[1])
        yield len(list(bag.read())), worker_handlers.STATE_CACHE_SIZE_MB


def test_streaming_runner_turns_the_user_state_cache_off_for_its_run_only():
    before = worker_handlers.STATE_CACHE_SIZE_MB
    pipeline = beam.Pipeline(runner=streaming_fn_api_runner())
    seen = pipeline | beam.Create([("k", i) for i in range(30)]) | beam.ParDo(_BagAfterClearFn())
    # State stays right without the cache: 1..10 after each clear.
    assert_that(seen, equal_to([(size, 0) for size in range(1, 11)] * 3))
    pipeline.run().wait_until_finish()
    assert worker_handlers.STATE_CACHE_SIZE_MB == before > 0
