"""Every dead-letter reason code the pipeline can write, with when it happens.

The docs' reason table is generated from this list (scripts/gen_docs.py), and
tests/test_docs.py scans the code for reason codes and fails on one that is not listed
here, so the table cannot drift from what the pipeline does.
"""

from __future__ import annotations

from typing import NamedTuple


class Reason(NamedTuple):
    stage: str
    reason: str
    when: str


REASONS: tuple[Reason, ...] = (
    Reason("read", "empty_file", "a file (or a JSON Lines file / JSON array) with no content"),
    Reason("read", "undecodable", "bytes that are not text in any encoding, or binary junk"),
    Reason("read", "unreadable_file", "the file cannot be read or decompressed (corrupt `.gz`)"),
    Reason("read", "unsupported_format", "a file whose suffix is not one of the accepted ones"),
    Reason(
        "read",
        "file_too_large",
        "a file with more than `--max-file-bytes` (default 512 MiB) once decompressed",
    ),
    Reason(
        "read",
        "article_too_large",
        "an article (`.txt`/`.html` file, `.jsonl` line, `.json` object or array element) "
        "over `--max-article-bytes` (default 4 MiB)",
    ),
    Reason("read", "malformed_json", "a `.json` file or a `.jsonl` line that is not valid JSON"),
    Reason("read", "not_an_object", "valid JSON that is not an object"),
    Reason("read", "internal_error", "a bug; the run goes on, the message says what happened"),
    Reason("read", "empty_message", "Kafka: a message without a value"),
    Reason(
        "read",
        "message_too_large",
        "Kafka: a value over `--max-message-bytes`, or a gzip-compressed batch that "
        "inflates past 64 MiB",
    ),
    Reason("read", "invalid_utf8", "Kafka: a value that is not valid in its declared charset"),
    Reason("parse", "no_text", "the record has no non-empty `text` or `html`"),
    Reason("parse", "invalid_field", "a field has the wrong type (e.g. `authors: [1, 2]`)"),
    Reason("parse", "internal_error", "a bug while parsing one record; the file's others go on"),
    Reason(
        "clean",
        "empty_after_cleaning",
        "nothing is left once the boilerplate is removed",
    ),
    Reason(
        "clean",
        "timeout",
        "HTML extraction took longer than the per-record limit; the worker process is replaced",
    ),
    Reason(
        "clean",
        "extraction_failed",
        "the page is binary junk, the parser gave up (e.g. too deeply nested), the extraction "
        "worker died, or no main content was found",
    ),
    Reason("clean", "clean_error", "a bug in the cleaner; the run goes on"),
    Reason(
        "dedup",
        "dedup_error",
        "sketching this article failed (any exception, `MemoryError`, `RecursionError`)",
    ),
    Reason(
        "story",
        "story_error",
        "finding this article's story failed (as above); the other articles get their stories",
    ),
    Reason(
        "classify",
        "classify_error",
        "classifying this article failed (as above); the rest of its batch is classified",
    ),
    Reason("write", "record_too_large", "Kafka: the output topic refused a record as too large"),
    Reason("sink", "jsonl_rejected", "the JSON Lines sink cannot encode the record"),
    Reason("sink", "parquet_rejected", "the record does not fit the Parquet schema"),
    Reason("sink", "postgresql_rejected", "PostgreSQL refused the row (its message and SQLSTATE)"),
)


def reason_codes() -> set[str]:
    return {reason.reason for reason in REASONS}
