"""Rolling record files for streaming jobs: few, large files, final only when complete.

A streaming file sink that wrote one file per bundle would leave tens of files a second
at a few hundred articles a second: a data lake of tiny files that query engines read
slowly and object stores bill per request. `RollingFiles` keeps one file open per
partition and *rolls* it — closes it and renames it to its final name — when the first of
the policy's limits is reached: size, age or record count (as Flink's FileSink, Kafka
Connect's S3 sink and Spark's file sink do).

- While open, a file is hidden: `.{final name}.inprogress` in the final folder. Readers
  that skip hidden files (DuckDB, Spark, Trino, pyarrow datasets, `articles-*` globs) never
  see it. A crash leaves in-progress files behind; `remove_in_progress` deletes them when
  the job starts again (their records are read again from Kafka: see below).
- Each open file takes a hold on the process's CommitGate, released after the rename, so
  the Kafka offsets of the records in it are committed only once the file is final.
- Final names: `{prefix}-{UTC start time}-{random}{suffix}`, under `dt=YYYY-MM-DD/` and
  `language=xx/` folders (Hive-style partitions) when the policy asks for them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from apache_beam.io.filesystems import FileSystems

from newsbeam.transforms.io.commit_gate import CommitGate, Hold
from newsbeam.transforms.io.files.record_format import RecordFileFormat, RecordFileWriter
from newsbeam.transforms.io.rejections import Rejection

logger = logging.getLogger(__name__)

IN_PROGRESS_SUFFIX = ".inprogress"
PARTITION_KEYS = ("date", "language")
_MIB = 1024 * 1024


@dataclass(frozen=True)
class RollPolicy:
    """When a streaming file is closed and made final: the first limit reached.

    `max_bytes` counts bytes written to the file (compressed, for Parquet); `max_seconds`
    bounds how long records wait in an open file, and so the commit lag; `max_records`
    is off by default. `partition_by`: any of "date" (the record's event date: published,
    else ingested, else failed) and "language".
    """

    max_bytes: int | None = 128 * _MIB
    max_seconds: float | None = 300.0
    max_records: int | None = None
    partition_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [key for key in self.partition_by if key not in PARTITION_KEYS]
        if unknown:
            raise ValueError(f"cannot partition by {', '.join(unknown)}")
        for name in ("max_bytes", "max_seconds", "max_records"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive")

    def partition(self, record: dict[str, Any]) -> str:
        """The record's partition folder, '' when not partitioned."""
        parts = []
        for key in self.partition_by:
            if key == "date":
                stamp = (
                    record.get("published_at")
                    or record.get("ingested_at")
                    or record.get("failed_at")
                    or ""
                )
                day = stamp[:10] if len(stamp) >= 10 and stamp[4:5] == "-" else "unknown"
                parts.append(f"dt={day}")
            else:
                parts.append(f"language={record.get('language') or 'und'}")
        return "/".join(parts)


class _CountingStream:
    """Counts the bytes a format writes (the file's size so far, on any file system)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.bytes_written = 0

    def write(self, data: Any) -> int:
        written = self._stream.write(data)
        self.bytes_written += len(data) if written is None else written
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@dataclass
class _OpenFile:
    final_path: str
    temp_path: str
    stream: _CountingStream
    writer: RecordFileWriter
    opened: float
    hold: Hold


class RollingFiles:
    """Open files per partition under `directory`; `write`, `roll_due`, `close_all`."""

    def __init__(
        self,
        directory: str,
        prefix: str,
        file_format: RecordFileFormat,
        policy: RollPolicy,
        gate: CommitGate,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._prefix = prefix
        self._format = file_format
        self._policy = policy
        self._gate = gate
        self._clock = clock
        self._open: dict[str, _OpenFile] = {}
        self.files_finalized: list[str] = []
        self.records_written = 0

    def write(self, records: Sequence[dict[str, Any]]) -> list[Rejection]:
        """Write records to their partitions' files; returns refused rows by index."""
        by_partition: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            by_partition.setdefault(self._policy.partition(record), []).append(index)
        rejections: list[Rejection] = []
        for partition, indexes in by_partition.items():
            handle = self._open.get(partition) or self._open_file(partition)
            before = handle.writer.records_written
            refused = handle.writer.write([records[i] for i in indexes])
            self.records_written += handle.writer.records_written - before
            rejections += [Rejection(indexes[r.index], r.error) for r in refused]
            if self._full(handle):
                self._finalize(partition)
        rejections.sort(key=lambda rejection: rejection.index)
        return rejections

    def roll_due(self) -> None:
        """Finalise files that reached their age limit (called at every bundle's end)."""
        if self._policy.max_seconds is None:
            return
        now = self._clock()
        for partition in [
            p for p, h in self._open.items() if now - h.opened >= self._policy.max_seconds
        ]:
            self._finalize(partition)

    def close_all(self) -> None:
        """Finalise every open file (the job is stopping)."""
        for partition in list(self._open):
            self._finalize(partition)

    @property
    def open_files(self) -> int:
        return len(self._open)

    def _full(self, handle: _OpenFile) -> bool:
        policy = self._policy
        return (
            policy.max_bytes is not None and handle.stream.bytes_written >= policy.max_bytes
        ) or (
            policy.max_records is not None and handle.writer.records_written >= policy.max_records
        )

    def _open_file(self, partition: str) -> _OpenFile:
        folder = FileSystems.join(self._directory, partition) if partition else self._directory
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{self._prefix}-{stamp}-{uuid.uuid4().hex[:8]}{self._format.suffix}"
        final_path = FileSystems.join(folder, name)
        temp_path = FileSystems.join(folder, f".{name}{IN_PROGRESS_SUFFIX}")
        # The hold comes first: records of this file are not durable until the rename.
        hold = self._gate.hold(final_path)
        stream = _CountingStream(FileSystems.create(temp_path))
        handle = _OpenFile(
            final_path=final_path,
            temp_path=temp_path,
            stream=stream,
            writer=self._format.open(stream),
            opened=self._clock(),
            hold=hold,
        )
        self._open[partition] = handle
        return handle

    def _finalize(self, partition: str) -> None:
        handle = self._open.pop(partition)
        handle.writer.close()
        handle.stream.close()
        if handle.writer.records_written == 0:
            FileSystems.delete([handle.temp_path])
        else:
            FileSystems.rename([handle.temp_path], [handle.final_path])
            self.files_finalized.append(handle.final_path)
            logger.debug(
                "rolled %s: %d records, %d bytes",
                handle.final_path,
                handle.writer.records_written,
                handle.stream.bytes_written,
            )
        self._gate.release(handle.hold)


def remove_in_progress(directory: str, prefix: str) -> int:
    """Delete in-progress files a stopped or crashed job left (their records were never
    committed, so they are read again). One streaming job per folder, as documented."""
    patterns = [
        FileSystems.join(directory, f".{prefix}-*{IN_PROGRESS_SUFFIX}"),
        FileSystems.join(directory, "*", f".{prefix}-*{IN_PROGRESS_SUFFIX}"),
        FileSystems.join(directory, "*", "*", f".{prefix}-*{IN_PROGRESS_SUFFIX}"),
    ]
    found = [meta.path for result in FileSystems.match(patterns) for meta in result.metadata_list]
    if found:
        FileSystems.delete(found)
        logger.info(
            "removed %d unfinished file(s) of an earlier run under %s", len(found), directory
        )
    return len(found)
