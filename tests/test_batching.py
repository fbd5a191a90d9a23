"""BatchingDoFn: batches within a bundle, each output in its input's window."""

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import FixedWindows, TimestampedValue

from newsbeam.transforms.batching import BatchingDoFn


class _RecordBatchSizes(BatchingDoFn):
    max_batch_size = 2

    def handle_batch(self, batch):
        for windowed in batch:
            yield windowed.with_value((windowed.value, len(batch)))


class _WithWindowStart(beam.DoFn):
    def process(self, element, window=beam.DoFn.WindowParam, timestamp=beam.DoFn.TimestampParam):
        yield (element[0], int(window.start), int(timestamp))


def test_batches_are_bounded_and_outputs_keep_timestamp_and_window():
    with TestPipeline() as p:
        out = (
            p
            | beam.Create([(i, i * 10) for i in range(5)])
            | beam.Map(lambda x: TimestampedValue(x[0], x[1]))
            | beam.WindowInto(FixedWindows(20))
            | beam.ParDo(_RecordBatchSizes())
        )
        assert_that(
            out | "Sizes" >> beam.Map(lambda v: v[1] <= 2), equal_to([True] * 5), label="sizes"
        )
        assert_that(
            out | "Windows" >> beam.ParDo(_WithWindowStart()),
            equal_to([(0, 0, 0), (1, 0, 10), (2, 20, 20), (3, 20, 30), (4, 40, 40)]),
            label="windows",
        )
