"""JSON Lines output: `{prefix}-SSSSS-of-NNNNN.jsonl` under a directory."""

from __future__ import annotations

import apache_beam as beam

from newsbeam.transforms.io.files.jsonl_format import JsonLinesFormat
from newsbeam.transforms.io.files.rolling import RollPolicy
from newsbeam.transforms.io.files.sink import WriteRecordFiles

ARTICLES_PREFIX = "articles"
DEAD_LETTERS_PREFIX = "dead-letter"


class WriteJsonLines(beam.PTransform):
    """Write record dicts as JSON Lines; returns DeadLetters for unencodable rows.

    `dead_letter_rows=True` for dead-letter dicts (refused ones are kept in
    base64 form instead of being returned). See files/sink.py for batch/streaming
    file naming.
    """

    def __init__(
        self,
        directory: str,
        prefix: str = ARTICLES_PREFIX,
        *,
        dead_letter_rows: bool = False,
        streaming: bool | None = None,
        roll_policy: RollPolicy | None = None,
    ) -> None:
        super().__init__()
        self._write = WriteRecordFiles(
            directory,
            prefix,
            JsonLinesFormat(),
            dead_letter_rows=dead_letter_rows,
            streaming=streaming,
            roll_policy=roll_policy,
        )

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | self._write
