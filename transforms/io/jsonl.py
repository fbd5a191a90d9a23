"""WriteJsonLines: records as JSON Lines files under an output folder."""

from __future__ import annotations

import os
from typing import Any

import apache_beam as beam
import orjson


def dumps_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record)


class WriteJsonLines(beam.PTransform):
    """Writes dicts to `<directory>/<prefix>-SSSSS-of-NNNNN.jsonl`."""

    def __init__(self, directory: str, prefix: str) -> None:
        super().__init__()
        self._path_prefix = os.path.join(directory, prefix)

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (
            records
            | "ToJson" >> beam.Map(dumps_line)
            | "Write"
            >> beam.io.WriteToText(
                self._path_prefix,
                file_name_suffix=".jsonl",
                shard_name_template="-SSSSS-of-NNNNN",
                coder=beam.coders.BytesCoder(),
            )
        )
