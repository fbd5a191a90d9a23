"""JSON Lines as a record file format: one orjson-encoded object per line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO

import orjson

from newsbeam.transforms.io.rejections import Rejection


class JsonLinesFormat:
    """Records as UTF-8 JSON, one per line (orjson: fast, and strict about
    what it will not encode, e.g. lone surrogates or integers beyond 64 bits)."""

    name = "jsonl"
    suffix = ".jsonl"

    def __init__(self, batch_size: int = 500) -> None:
        self.batch_size = batch_size

    def open(self, stream: BinaryIO) -> JsonLinesFileWriter:
        return JsonLinesFileWriter(stream)


class JsonLinesFileWriter:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.records_written = 0

    def write(self, records: Sequence[dict[str, Any]]) -> list[Rejection]:
        lines = []
        rejections = []
        for index, record in enumerate(records):
            try:
                lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            except orjson.JSONEncodeError as error:
                rejections.append(Rejection(index, f"not encodable as JSON: {error}"))
        self._stream.write(b"".join(lines))
        self.records_written += len(lines)
        return rejections

    def close(self) -> None:
        self._stream.flush()


def read_json_lines(stream: BinaryIO) -> list[dict[str, Any]]:
    """Every record of one JSON Lines file (blank lines skipped)."""
    return [orjson.loads(line) for line in stream if line.strip()]
