"""What a file sink needs from a file format (JSON Lines, Parquet).

A format opens a writer on a binary stream; the writer takes records in
batches and returns the rows it refused, so the Beam layer can turn them into
dead letters. The Beam side (files/sink.py) owns file names and finalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO, Protocol

from newsbeam.transforms.io.rejections import Rejection


class RecordFileWriter(Protocol):
    records_written: int

    def write(self, records: Sequence[dict[str, Any]]) -> list[Rejection]:
        """Write what fits; return the refused rows by index into `records`."""
        ...

    def close(self) -> None:
        """Finish the file (footer, flush). Does not close the stream."""
        ...


class RecordFileFormat(Protocol):
    name: str  # used in reason codes and counters: "<name>_rejected"
    suffix: str  # file name suffix, with the dot
    batch_size: int  # records handed to one write() call

    def open(self, stream: BinaryIO) -> RecordFileWriter: ...
