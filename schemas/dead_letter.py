"""A record that could not become an article, with why and what was received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from newsbeam.schemas.article import Source
from newsbeam.schemas.versions import DEAD_LETTER

SCHEMA_VERSION = DEAD_LETTER.current.major

# Cap on the payload copied into a dead letter; the reason and source still
# identify the original. 1 MiB keeps a 10 MB poison message from bloating sinks.
MAX_RAW_CHARS = 1_048_576


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class DeadLetter:
    stage: str
    reason: str
    error: str
    source: Source
    raw: str
    id: str | None = None
    failed_at: str = ""
    # The payload's real size when `raw` holds only its start (an over-cap input:
    # the whole of it was never in memory).
    raw_length: int | None = None

    def __post_init__(self) -> None:
        if not self.failed_at:
            self.failed_at = utc_now()

    def to_record(self, *, pipeline_version: str) -> dict[str, Any]:
        raw = self.raw
        length = len(raw) if self.raw_length is None else max(self.raw_length, len(raw))
        truncated = length > min(len(raw), MAX_RAW_CHARS)
        return {
            "stage": self.stage,
            "reason": self.reason,
            "error": self.error,
            "id": self.id,
            "source": self.source.to_dict(),
            "raw": raw[:MAX_RAW_CHARS],
            "raw_truncated": truncated,
            "raw_length": length,
            "failed_at": self.failed_at,
            "pipeline_version": pipeline_version,
            "schema_version": SCHEMA_VERSION,
        }
