"""Parquet as a record file format, with the Arrow schema derived from the JSON Schema.

One `write()` batch becomes one row group, unless `row_group_bytes` is set: then batches
are converted (so refused rows are known at once) and buffered, and written as one row
group when they reach that many bytes in memory, or at close — how the long-lived files of
a streaming job get sensibly sized row groups from small bundles. zstd compression: text-heavy
records shrink well and pyarrow, DuckDB, Spark and Trino all read it.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from newsbeam.transforms.io.parquet.arrow_schema import RecordShapeError, RecordShaper
from newsbeam.transforms.io.rejections import Rejection

logger = logging.getLogger(__name__)

DEFAULT_COMPRESSION = "zstd"
# Errors pyarrow raises for a value of the wrong type or range.
_CONVERSION_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)


class ParquetFormat:
    """Parquet files of the records described by one schema file in newsbeam.schemas.

    Holds the schema's file name, not the derived schema, so that it pickles
    small and each worker derives the schema once, on first use.
    """

    name = "parquet"
    suffix = ".parquet"

    def __init__(
        self,
        schema_file: str,
        *,
        batch_size: int = 2_000,
        compression: str = DEFAULT_COMPRESSION,
        row_group_bytes: int | None = None,
    ) -> None:
        self.schema_file = schema_file
        self.batch_size = batch_size
        self.compression = compression
        self.row_group_bytes = row_group_bytes
        self._shaper: RecordShaper | None = None

    @property
    def shaper(self) -> RecordShaper:
        if self._shaper is None:
            self._shaper = RecordShaper.from_schema_file(self.schema_file)
        return self._shaper

    def open(self, stream: BinaryIO) -> ParquetFileWriter:
        return ParquetFileWriter(stream, self.shaper, self.compression, self.row_group_bytes)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_shaper": None}


class ParquetFileWriter:
    def __init__(
        self,
        stream: BinaryIO,
        shaper: RecordShaper,
        compression: str,
        row_group_bytes: int | None = None,
    ) -> None:
        self._shaper = shaper
        self._writer = pq.ParquetWriter(stream, shaper.arrow_schema, compression=compression)
        self._row_group_bytes = row_group_bytes
        self._buffered: list[pa.Table] = []
        self._buffered_bytes = 0
        self.records_written = 0

    def write(self, records: Sequence[dict[str, Any]]) -> list[Rejection]:
        rejections: list[Rejection] = []
        shaped: list[tuple[int, dict[str, Any]]] = []
        for index, record in enumerate(records):
            try:
                shaped.append((index, self._shaper.shape(record)))
            except RecordShapeError as error:
                rejections.append(Rejection(index, f"does not fit the Parquet schema: {error}"))
        table = self._to_table([row for _, row in shaped])
        if table is None:
            # Some leaf has the wrong type: find which rows, keep the rest.
            kept = []
            for index, row in shaped:
                if self._to_table([row]) is None:
                    rejections.append(Rejection(index, self._conversion_error(row)))
                else:
                    kept.append(row)
            table = self._to_table(kept)
        if table is not None and table.num_rows:
            self.records_written += table.num_rows
            if self._row_group_bytes is None:
                self._writer.write_table(table, row_group_size=table.num_rows)
            else:
                self._buffered.append(table)
                self._buffered_bytes += table.nbytes
                if self._buffered_bytes >= self._row_group_bytes:
                    self._flush_row_group()
        rejections.sort(key=lambda rejection: rejection.index)
        return rejections

    def close(self) -> None:
        self._flush_row_group()
        self._writer.close()

    def _flush_row_group(self) -> None:
        if not self._buffered:
            return
        table = pa.concat_tables(self._buffered)
        self._buffered, self._buffered_bytes = [], 0
        self._writer.write_table(table, row_group_size=table.num_rows)

    def _to_table(self, rows: list[dict[str, Any]]) -> pa.Table | None:
        try:
            return pa.Table.from_pylist(rows, schema=self._shaper.arrow_schema)
        except _CONVERSION_ERRORS:
            return None

    def _conversion_error(self, row: dict[str, Any]) -> str:
        # Name the column: convert field by field to find the culprit.
        for field in self._shaper.arrow_schema:
            try:
                pa.array([row.get(field.name)], type=field.type)
            except _CONVERSION_ERRORS as error:
                return f"does not fit the Parquet schema: {field.name}: {error}"
        return "does not fit the Parquet schema"


def read_parquet_records(path: str, shaper: RecordShaper) -> list[dict[str, Any]]:
    """Every record of one Parquet file, as JSON-style dicts (see RecordShaper)."""
    return shaper.from_arrow_rows(pq.read_table(path).to_pylist())


def record_dataset(directory: str, prefix: str) -> ds.Dataset:
    """The `{prefix}-*.parquet` files of a folder as one dataset, whatever version wrote each.

    Its schema is the union of the files' schemas (pyarrow.unify_schemas, nested struct
    fields included), so a column or struct field that an older file lacks reads as null.
    A plain `ds.dataset(directory)` takes the first file's schema and silently drops the
    columns newer files added -- hence this helper (docs, "Schema versions").
    """
    found = ds.dataset(directory, format="parquet", ignore_prefixes=[".", "_"])
    files = sorted(
        path for path in found.files if posixpath.basename(path).startswith(f"{prefix}-")
    )
    if not files:
        raise FileNotFoundError(f"no {prefix}-*.parquet files in {directory}")
    schemas = [pq.read_schema(path, filesystem=found.filesystem) for path in files]
    return ds.dataset(
        files,
        schema=pa.unify_schemas(schemas),
        format="parquet",
        filesystem=found.filesystem,
    )
