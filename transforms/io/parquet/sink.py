"""Parquet output: `{prefix}-SSSSS-of-NNNNN.parquet` under a directory.

The Arrow schema comes from the record's JSON Schema (arrow_schema.py). In batch runs
each batch of `batch_size` records becomes one row group; streaming files are rolled
(files/rolling.py) and their row groups are filled to STREAMING_ROW_GROUP_BYTES of
Arrow data in memory, so small bundles do not make tiny row groups. Readable with pyarrow,
DuckDB (`SELECT * FROM 'DIR/articles-*.parquet'`), Spark, pandas.
"""

from __future__ import annotations

import apache_beam as beam

from newsbeam.transforms.io.files.rolling import RollPolicy
from newsbeam.transforms.io.files.sink import WriteRecordFiles, is_streaming
from newsbeam.transforms.io.parquet.arrow_schema import ARTICLE_SCHEMA_FILE, DEAD_LETTER_SCHEMA_FILE
from newsbeam.transforms.io.parquet.format import ParquetFormat

ARTICLES_PREFIX = "articles"
# In-memory Arrow bytes per row group in streaming files: ~4-8 row groups in a 128 MiB
# zstd file of articles, and bounded memory per open file (one per partition).
STREAMING_ROW_GROUP_BYTES = 64 * 1024 * 1024
DEAD_LETTERS_PREFIX = "dead-letter"


class WriteParquet(beam.PTransform):
    """Write article dicts (or dead-letter dicts) as Parquet.

    Returns DeadLetters for records that do not fit the schema.
    """

    def __init__(
        self,
        directory: str,
        prefix: str = ARTICLES_PREFIX,
        *,
        dead_letter_rows: bool = False,
        streaming: bool | None = None,
        batch_size: int = 2_000,
        roll_policy: RollPolicy | None = None,
    ) -> None:
        super().__init__()
        self._directory = directory
        self._prefix = prefix
        self._dead_letter_rows = dead_letter_rows
        self._streaming = streaming
        self._batch_size = batch_size
        self._roll_policy = roll_policy

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        # Decided here, where an unbounded input is known, so that auto-detected
        # streaming gets filled row groups too (not only an explicit streaming=True).
        streaming = is_streaming(records) if self._streaming is None else self._streaming
        schema_file = DEAD_LETTER_SCHEMA_FILE if self._dead_letter_rows else ARTICLE_SCHEMA_FILE
        file_format = ParquetFormat(
            schema_file,
            batch_size=self._batch_size,
            row_group_bytes=STREAMING_ROW_GROUP_BYTES if streaming else None,
        )
        return records | WriteRecordFiles(
            self._directory,
            self._prefix,
            file_format,
            dead_letter_rows=self._dead_letter_rows,
            streaming=streaming,
            roll_policy=self._roll_policy,
        )
