"""Finding article files and splitting them into payloads (pure, no Beam).

A payload is one article's raw content plus where it came from. Anything that
cannot become a payload (an empty file, undecodable bytes, a malformed JSON
line) becomes a `DeadLetter` instead; nothing is dropped silently.
"""

from __future__ import annotations

import glob
import gzip
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from newsbeam.schemas.article import Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.files.decoding import bytes_for_dead_letter, decode_bytes

logger = logging.getLogger(__name__)

STAGE = "read"

# Format by file suffix (after stripping an optional .gz).
FORMATS = {".txt": "text", ".html": "html", ".htm": "html", ".json": "json", ".jsonl": "jsonl"}

# A file larger than this is refused rather than read into memory whole.
MAX_FILE_BYTES = 512 * 1024 * 1024


class InputError(ValueError):
    """A user-facing problem with the inputs given on the command line."""


@dataclass(frozen=True, slots=True)
class Payload:
    """One article's raw content: text/HTML, or a parsed JSON object."""

    kind: str  # "text" | "html" | "json"
    content: str | dict[str, Any]
    raw: str
    source: Source


def file_format(path: str) -> str | None:
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return FORMATS.get(os.path.splitext(name)[1])


def is_remote(path: str) -> bool:
    """A path on one of Beam's other file systems (gs://, s3://, ...)."""
    return "://" in path and not path.startswith("file://")


def discover_inputs(inputs: list[str]) -> list[str]:
    """Expand files, folders (recursively) and globs into a sorted file list.

    Hidden files and folders are skipped when walking. Raises InputError for an
    input that matches nothing, so a typo is reported before a run starts.
    Remote paths (gs://, s3://, ...) are matched through Beam's FileSystems.
    """
    found: set[str] = set()
    for item in inputs:
        if is_remote(item):
            found.update(_match_remote(item))
        elif glob.has_magic(item):
            matches = [m for m in glob.glob(item, recursive=True) if os.path.isfile(m)]
            if not matches:
                raise InputError(f"input pattern matches no files: {item}")
            found.update(os.path.abspath(m) for m in matches)
        elif os.path.isdir(item):
            found.update(_walk(item))
        elif os.path.isfile(item):
            found.add(os.path.abspath(item))
        else:
            raise InputError(f"input path does not exist: {item}")
    return sorted(found)


def _match_remote(item: str) -> list[str]:
    # Beam's FileSystems only for remote paths: local use needs no Beam import.
    from apache_beam.io.filesystem import BeamIOError
    from apache_beam.io.filesystems import FileSystems

    patterns = [item] if glob.has_magic(item) else [item, item.rstrip("/") + "/**"]
    for pattern in patterns:
        try:
            (result,) = FileSystems.match([pattern])
        except BeamIOError as exc:
            raise InputError(f"cannot list input {item}: {exc}") from exc
        paths = [m.path for m in result.metadata_list if not m.path.endswith("/")]
        if paths:
            return paths
    raise InputError(f"input path does not exist: {item}")


def _walk(folder: str) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.abspath(os.path.join(root, name))


def file_uri(path: str) -> str:
    return path if is_remote(path) else Path(path).resolve().as_uri()


def read_payloads(path: str, data: bytes | None = None) -> Iterator[Payload | DeadLetter]:
    """Split one file into payloads; problems become dead letters.

    `data` may be given when the caller has already read the file.
    """
    uri = file_uri(path)
    source = Source(kind="file", uri=uri)
    fmt = file_format(path)
    try:
        if data is None and is_remote(path):
            data = _read_remote(path)
            if len(data) > MAX_FILE_BYTES:
                yield _dead(source, "file_too_large", f"more than {MAX_FILE_BYTES} bytes", "")
                return
        if data is None:
            size = os.path.getsize(path)
            if size > MAX_FILE_BYTES:
                yield _dead(source, "file_too_large", f"{size} bytes exceeds {MAX_FILE_BYTES}", "")
                return
            with open(path, "rb") as handle:
                data = handle.read()
        if path.lower().endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raw = bytes_for_dead_letter(data) if data else ""
        yield _dead(source, "unreadable_file", f"cannot read {path}: {exc}", raw)
        return

    if fmt is None:
        yield _dead(
            source,
            "unsupported_format",
            f"unsupported file type {Path(path).name!r}; expected one of "
            + ", ".join(sorted(FORMATS))
            + " (optionally .gz)",
            bytes_for_dead_letter(data[:4096]),
        )
        return
    if not data.strip():
        yield _dead(source, "empty_file", "file is empty", data.decode("utf-8", "replace"))
        return
    decoded = decode_bytes(data)
    if decoded.text is None:
        yield _dead(
            source, "undecodable", decoded.error or "undecodable", bytes_for_dead_letter(data)
        )
        return
    text = decoded.text

    if fmt in ("text", "html"):
        yield Payload(kind=fmt, content=text, raw=text, source=source)
    elif fmt == "json":
        yield from _json_document(text, source)
    else:
        yield from _json_lines(text, uri)


def _read_remote(path: str) -> bytes:
    from apache_beam.io.filesystem import BeamIOError, CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    try:
        # Compression is handled by suffix, for local and remote files alike.
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except BeamIOError as exc:
        raise OSError(str(exc)) from exc


def _json_document(text: str, source: Source) -> Iterator[Payload | DeadLetter]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield _dead(source, "malformed_json", f"invalid JSON: {exc}", text)
        return
    # A JSON array of article objects is accepted too; each element is located
    # by its 1-based position in `line`.
    if isinstance(value, list):
        if not value:
            yield _dead(source, "empty_file", "JSON array is empty", text)
        for index, item in enumerate(value, start=1):
            item_source = Source(kind="file", uri=source.uri, line=index)
            yield _json_payload(item, orjson.dumps(item).decode(), item_source)
    else:
        yield _json_payload(value, text, source)


def _json_lines(text: str, uri: str) -> Iterator[Payload | DeadLetter]:
    any_line = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines separate nothing and carry nothing
        any_line = True
        source = Source(kind="file", uri=uri, line=number)
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield _dead(source, "malformed_json", f"line {number}: invalid JSON: {exc}", line)
            continue
        yield _json_payload(value, line, source)
    if not any_line:
        yield _dead(Source(kind="file", uri=uri), "empty_file", "file has only blank lines", text)


def _json_payload(value: Any, raw: str, source: Source) -> Payload | DeadLetter:
    if not isinstance(value, dict):
        return _dead(
            source, "not_an_object", f"expected a JSON object, got {type(value).__name__}", raw
        )
    return Payload(kind="json", content=value, raw=raw, source=source)


def _dead(source: Source, reason: str, error: str, raw: str) -> DeadLetter:
    return DeadLetter(stage=STAGE, reason=reason, error=error, source=source, raw=raw)
