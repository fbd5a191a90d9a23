"""Rows a sink refused, and how they still reach the user.

A sink that cannot store a record (a type the Parquet schema does not allow, a
value PostgreSQL rejects) reports a `Rejection`; the record then becomes a
`DeadLetter` (stage `sink`, reason `<sink>_rejected`, the sink's own message,
the record as the payload). Dead-letter rows themselves may carry bytes a store
cannot hold (PostgreSQL refuses NUL characters): `armored_dead_letter` keeps
them by moving the payload to base64, the convention of dead_letter.schema.json.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import orjson

from newsbeam.schemas.article import Source
from newsbeam.schemas.dead_letter import DeadLetter

SINK_STAGE = "sink"


@dataclass(frozen=True)
class Rejection:
    """Row `index` of a batch handed to a sink was refused with `error`."""

    index: int
    error: str


def record_payload(record: Any) -> str:
    """The record as JSON text, for a dead letter's `raw` field.

    Falls back to the standard library (with repr for odd values) when orjson
    refuses, because a record that broke a sink must still be shown somehow.
    """
    try:
        return orjson.dumps(record).decode()
    except (TypeError, ValueError):
        return json.dumps(record, default=repr, ensure_ascii=True)


def rejected_dead_letter(record: Any, *, sink: str, error: str) -> DeadLetter:
    """The dead letter for a record that sink `sink` refused."""
    record_id = None
    source = Source(kind="file", uri="unknown")
    if isinstance(record, dict):
        raw_id = record.get("id")
        record_id = raw_id if isinstance(raw_id, str) else None
        source = _source_of(record.get("source"))
    return DeadLetter(
        stage=SINK_STAGE,
        reason=f"{sink}_rejected",
        error=error,
        source=source,
        raw=record_payload(record),
        id=record_id,
    )


def _source_of(value: Any) -> Source:
    if isinstance(value, dict):
        try:
            return Source(
                kind=str(value.get("kind") or "file"),
                uri=str(value.get("uri") or "unknown"),
                line=value.get("line"),
                topic=value.get("topic"),
                partition=value.get("partition"),
                offset=value.get("offset"),
            )
        except (TypeError, ValueError):
            pass
    return Source(kind="file", uri="unknown")


def armored_dead_letter(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of a dead-letter record that any text store accepts.

    `raw` becomes `base64:` + base64 of its UTF-8 bytes (lone surrogates kept
    via surrogatepass, so the payload is recoverable byte for byte); every
    other string has NUL characters replaced by U+FFFD and lone surrogates by '?'.
    """
    armored = {key: _clean_text(value) for key, value in record.items() if key != "raw"}
    raw = record.get("raw")
    if isinstance(raw, str) and not raw.startswith("base64:"):
        encoded = base64.b64encode(raw.encode("utf-8", "surrogatepass")).decode("ascii")
        armored["raw"] = "base64:" + encoded
    else:
        armored["raw"] = _clean_text(raw)
    return armored


def _clean_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_clean_text(key): _clean_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean_text(item) for item in value]
    return value
