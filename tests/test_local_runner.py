"""The in-process runner keeps its metrics bounded however many bundles run."""

import gc
from types import GeneratorType

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.metrics import Metrics
from apache_beam.metrics.monitoring_infos import consolidate
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration

from newsbeam.pipelines.local_runner import streaming_fn_api_runner

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


def _consolidate_generators() -> int:
    """Generators of monitoring_infos.consolidate alive in this process."""
    code = consolidate.__code__
    return sum(1 for o in gc.get_objects() if isinstance(o, GeneratorType) and o.gi_code is code)


_AT_FIRST_TICK: list[int] = []


def _lazy_metric_layers(position):
    # Other pipelines run earlier in the same process may hold some; count the growth
    # over this run's bundles only (the runner is in-process).
    if position == 1:
        _AT_FIRST_TICK[:] = [_consolidate_generators()]
    if position != BUNDLES - 1:
        return []
    return [_consolidate_generators() - _AT_FIRST_TICK[0]]


def test_metrics_do_not_pile_up_per_bundle():
    pipeline = beam.Pipeline(runner=streaming_fn_api_runner())
    layers = (
        pipeline
        | beam.Create([BUNDLES])
        | beam.ParDo(_OneTickPerBundleFn())
        | beam.FlatMap(_lazy_metric_layers)
    )
    # Unfixed, two lazy layers per bundle: ~600 here, and without bound in a stream.
    assert_that(layers | beam.Map(lambda n: n < 10), equal_to([True]))
    result = pipeline.run()
    result.wait_until_finish()
    ticks = result.metrics().query(beam.metrics.MetricsFilter().with_name("ticks"))["counters"]
    assert sum(c.committed for c in ticks) == BUNDLES  # totals unchanged by the fix
