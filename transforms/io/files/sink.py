"""Writing records to files of one format, in batch and in streaming pipelines.

Each bundle writes its records to one temporary file through Beam's
FileSystems (so DIR may be local, gs://, s3://, ...), in batches of the
format's `batch_size`; rows the format refuses come out as DeadLetters.

- Batch (bounded input): the temporary files of successful bundles are
  collected after the last bundle and renamed to
  `{prefix}-00000-of-0000N{suffix}`; files left by failed bundle attempts and
  older shards of the same prefix from an earlier run are deleted, so the
  directory holds exactly this run's output. No records -> one empty shard
  (a valid, empty file), so readers find a file either way.
- Streaming (unbounded input, or --streaming): a grouping step never fires
  after an unbounded source on the local runner, so files are rolled inside the
  DoFn (rolling.py): one hidden `.NAME.inprogress` file per partition stays open
  across bundles and is renamed to `{prefix}-{UTC time}-{random}{suffix}` when
  the roll policy says (size, age, records). Each open file holds the process's
  CommitGate, so the source commits the offsets of its records only after the
  rename: delivery stays at least once; a crash leaves in-progress files whose
  records are read again.
"""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.transforms.window import GlobalWindow, GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.transforms.batching import BatchingDoFn
from newsbeam.transforms.io.commit_gate import commit_gate
from newsbeam.transforms.io.files.record_format import RecordFileFormat, RecordFileWriter
from newsbeam.transforms.io.files.rolling import RollingFiles, RollPolicy
from newsbeam.transforms.io.rejections import armored_dead_letter, rejected_dead_letter

logger = logging.getLogger(__name__)

SINK_NAMESPACE = "newsbeam.sink"
DEAD_LETTER = "dead_letter"
DEFAULT_MAX_RECORDS_PER_FILE = 200_000


def is_streaming(pcoll: beam.PCollection) -> bool:
    """Unbounded input, or a pipeline run with --streaming."""
    if not pcoll.is_bounded:
        return True
    options = pcoll.pipeline.options
    return bool(options is not None and options.view_as(StandardOptions).streaming)


class WriteRecordFiles(beam.PTransform):
    """Write dict records to `{directory}/{prefix}-*{suffix}`.

    Returns a PCollection of DeadLetters for the rows the format refused.
    With `dead_letter_rows=True` the records are dead letters themselves: a
    refused one is retried in base64-armoured form instead of being returned.
    """

    def __init__(
        self,
        directory: str,
        prefix: str,
        file_format: RecordFileFormat,
        *,
        dead_letter_rows: bool = False,
        streaming: bool | None = None,
        max_records_per_file: int = DEFAULT_MAX_RECORDS_PER_FILE,
        roll_policy: RollPolicy | None = None,
    ) -> None:
        super().__init__()
        self._directory = directory
        self._prefix = prefix
        self._format = file_format
        self._dead_letter_rows = dead_letter_rows
        self._streaming = streaming
        self._max_records_per_file = max_records_per_file
        self._roll_policy = roll_policy or RollPolicy()
        self.max_batch_size = file_format.batch_size

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        streaming = is_streaming(records) if self._streaming is None else self._streaming
        # Batch: one temporary folder per pipeline construction; bundles of
        # this run write there, and nothing else does.
        temp_dir = FileSystems.join(self._directory, f".temp-{self._prefix}-{uuid.uuid4().hex}")
        written = records | "Write files" >> beam.ParDo(
            _WriteFilesFn(
                temp_dir=temp_dir,
                directory=self._directory,
                prefix=self._prefix,
                file_format=self._format,
                dead_letter_rows=self._dead_letter_rows,
                streaming=streaming,
                max_records_per_file=self._max_records_per_file,
                roll_policy=self._roll_policy,
            )
        ).with_outputs(DEAD_LETTER, main="main")
        if not streaming:
            _ = (
                written.main
                | "All files" >> beam.combiners.ToList()
                | "Name shards"
                >> beam.Map(
                    # Bound here, not as Map's keyword arguments: Beam >= 2.78 checks
                    # those against the hints and cannot check a Protocol.
                    functools.partial(
                        finalize_shards,
                        directory=self._directory,
                        prefix=self._prefix,
                        file_format=self._format,
                        temp_dir=temp_dir,
                    )
                )
            )
        return written[DEAD_LETTER]


class _WriteFilesFn(BatchingDoFn):
    def __init__(
        self,
        *,
        temp_dir: str,
        directory: str,
        prefix: str,
        file_format: RecordFileFormat,
        dead_letter_rows: bool,
        streaming: bool,
        max_records_per_file: int,
        roll_policy: RollPolicy,
    ) -> None:
        self._roll_policy = roll_policy
        self._temp_dir = temp_dir
        self._directory = directory
        self._prefix = prefix
        self._format = file_format
        self._dead_letter_rows = dead_letter_rows
        self._streaming = streaming
        self._max_records_per_file = max_records_per_file
        name = file_format.name
        what = prefix.replace("-", "_")  # articles, dead_letter
        self._written = beam.metrics.Metrics.counter(SINK_NAMESPACE, f"{name}_{what}_written")
        self._rejected = beam.metrics.Metrics.counter(SINK_NAMESPACE, f"{name}_rejected")
        self._unwritable = beam.metrics.Metrics.counter(
            SINK_NAMESPACE, f"{name}_dead_letters_unwritable"
        )

    def setup(self) -> None:
        # Streaming: files stay open across bundles (the DoFn instance lives as long as
        # the worker), rolled by the policy; batch: one temporary file per bundle.
        self._rolling = (
            RollingFiles(
                self._directory, self._prefix, self._format, self._roll_policy, commit_gate()
            )
            if self._streaming
            else None
        )

    def teardown(self) -> None:
        if getattr(self, "_rolling", None) is not None:
            self._rolling.close_all()  # the job is stopping: make every file final

    def start_bundle(self) -> None:
        super().start_bundle()
        self._stream: Any = None
        self._writer: RecordFileWriter | None = None
        self._temp_path: str | None = None

    def finish_bundle(self) -> Iterator[Any]:
        yield from super().finish_bundle()
        if self._rolling is not None:
            self._rolling.roll_due()
        else:
            yield from self._close_file()

    def handle_batch(self, batch: list[WindowedValue]) -> Iterator[Any]:
        writer = self._rolling if self._rolling is not None else self._open_file()
        records = [windowed.value for windowed in batch]
        before = writer.records_written
        rejections = writer.write(records)
        if rejections and self._dead_letter_rows:
            rejections = writer.write([armored_dead_letter(records[r.index]) for r in rejections])
            for rejection in rejections:
                self._unwritable.inc()
                logger.error(
                    "dead letter not writable as %s: %s", self._format.name, rejection.error
                )
            rejections = []
        self._written.inc(writer.records_written - before)
        for rejection in rejections:
            windowed = batch[rejection.index]
            self._rejected.inc()
            dead_letter = rejected_dead_letter(
                windowed.value, sink=self._format.name, error=rejection.error
            )
            yield pvalue.TaggedOutput(DEAD_LETTER, windowed.with_value(dead_letter))
        if self._rolling is None and writer.records_written >= self._max_records_per_file:
            yield from self._close_file()

    def _open_file(self) -> RecordFileWriter:
        if self._writer is None:
            self._temp_path = FileSystems.join(
                self._temp_dir, f"{uuid.uuid4().hex}{self._format.suffix}"
            )
            self._stream = FileSystems.create(self._temp_path)
            self._writer = self._format.open(self._stream)
        return self._writer

    def _close_file(self) -> Iterator[Any]:
        if self._writer is None:
            return
        writer, stream, temp_path = self._writer, self._stream, self._temp_path
        self._writer = self._stream = self._temp_path = None
        writer.close()
        stream.close()
        if writer.records_written == 0:
            FileSystems.delete([temp_path])
            return
        yield GlobalWindows.windowed_value(temp_path, GlobalWindow().max_timestamp())


def shard_name(prefix: str, index: int, count: int, suffix: str) -> str:
    return f"{prefix}-{index:05d}-of-{count:05d}{suffix}"


def finalize_shards(
    temp_paths: list[str],
    *,
    directory: str,
    prefix: str,
    file_format: RecordFileFormat,
    temp_dir: str,
) -> list[str]:
    """Rename this run's files to numbered shards; drop older shards and temp files."""
    temp_paths = sorted(temp_paths)
    if not temp_paths:
        # An empty run still leaves one valid (empty) file behind.
        empty = FileSystems.join(temp_dir, f"empty{file_format.suffix}")
        stream = FileSystems.create(empty)
        file_format.open(stream).close()
        stream.close()
        temp_paths = [empty]
    count = len(temp_paths)
    finals = [
        FileSystems.join(directory, shard_name(prefix, i, count, file_format.suffix))
        for i in range(count)
    ]
    FileSystems.rename(temp_paths, finals)
    suffix = re.escape(file_format.suffix)
    pattern = re.compile(rf"^{re.escape(prefix)}-\d{{5}}-of-\d{{5}}{suffix}$")
    old = FileSystems.join(directory, f"{prefix}-*-of-*{file_format.suffix}")
    stale = [
        meta.path
        for meta in FileSystems.match([old])[0].metadata_list
        if pattern.match(meta.path.rsplit("/", 1)[-1]) and meta.path not in finals
    ]
    if stale:
        logger.info("removing %d shard(s) of an earlier run under %s", len(stale), directory)
        FileSystems.delete(stale)
    _delete_quietly(temp_dir)
    logger.info("wrote %d %s file(s) under %s", count, prefix, directory)
    return finals


def _delete_quietly(temp_dir: str) -> None:
    try:
        leftovers = FileSystems.match([FileSystems.join(temp_dir, "*")])[0].metadata_list
        if leftovers:
            FileSystems.delete([meta.path for meta in leftovers])
        if FileSystems.exists(temp_dir):
            FileSystems.delete([temp_dir])
    except Exception as error:  # a leftover temp folder is untidy, not a failure
        logger.warning("could not remove temporary folder %s: %s", temp_dir, error)
