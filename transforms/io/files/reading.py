"""Finding article files and splitting them into payloads (pure, no Beam).

A payload is one article's raw content plus where it came from. Anything that
cannot become a payload (an empty file, undecodable bytes, a malformed JSON
line) becomes a `DeadLetter` instead; nothing is dropped silently.
"""

from __future__ import annotations

import codecs
import contextlib
import glob
import gzip
import io
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from newsbeam.schemas.article import Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.files.decoding import bytes_for_dead_letter, decode_bytes
from newsbeam.transforms.io.files.limits import (
    RAW_PREFIX_BYTES,
    CappedReader,
    Chunk,
    FileTooLarge,
    ReadLimits,
    iter_lines,
    raw_prefix,
    read_whole,
)

logger = logging.getLogger(__name__)

STAGE = "read"

# Format by file suffix (after stripping an optional .gz).
FORMATS = {".txt": "text", ".html": "html", ".htm": "html", ".json": "json", ".jsonl": "jsonl"}


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


def read_payloads(
    path: str, data: bytes | None = None, *, limits: ReadLimits | None = None
) -> Iterator[Payload | DeadLetter]:
    """Split one file into payloads; problems become dead letters.

    The file is read as a stream (gzip inflated on the fly) under `limits`: past
    `max_file_bytes` the rest of the file becomes one `file_too_large` dead letter,
    an article (file, line, object) over `max_article_bytes` an `article_too_large`
    one with its start and size; what came before, and the lines after an
    oversized line, are read as usual. `data` may be given when the caller has
    already read the (possibly compressed) file.
    """
    limits = limits or ReadLimits()
    uri = file_uri(path)
    source = Source(kind="file", uri=uri)
    fmt = file_format(path)
    try:
        with _open(path, data) as stream:
            if path.lower().endswith(".gz"):
                stream = gzip.GzipFile(fileobj=stream, mode="rb")
            reader = CappedReader(stream, limits.max_file_bytes)
            if fmt is None:
                head = reader.read(4096)
                yield _dead(
                    source,
                    "unsupported_format",
                    f"unsupported file type {Path(path).name!r}; expected one of "
                    + ", ".join(sorted(FORMATS))
                    + " (optionally .gz)",
                    bytes_for_dead_letter(head),
                )
            elif fmt == "jsonl":
                yield from _json_lines(reader, uri, limits)
            else:
                # One document: an article (.txt/.html/a .json object) or a .json array.
                cap = limits.max_file_bytes if fmt == "json" else limits.max_article_bytes
                yield from _document(read_whole(reader, cap), fmt, source, limits)
    except FileTooLarge as exc:
        letter = _dead(source, "file_too_large", f"{Path(path).name}: {exc}", raw_prefix(exc.head))
        letter.raw_length = exc.limit + 1  # what was seen: the cap and one byte more
        yield letter
    except (OSError, EOFError, zlib.error) as exc:
        yield _unreadable(path, data, source, exc)


def _unreadable(path: str, data: bytes | None, source: Source, error: BaseException) -> DeadLetter:
    """The file's own bytes (its first MiB, base64) go with the dead letter when they
    can be read at all: a corrupt .gz stays recoverable."""
    raw, size = "", None
    try:
        with _open(path, data) as stream:
            head = stream.read(RAW_PREFIX_BYTES + 1)
        raw = bytes_for_dead_letter(head[:RAW_PREFIX_BYTES])
        if len(head) > RAW_PREFIX_BYTES:
            size = len(data) if data is not None else None
            if size is None and not is_remote(path):
                size = os.path.getsize(path)
    except OSError:
        pass
    letter = _dead(source, "unreadable_file", f"cannot read {path}: {error}", raw)
    letter.raw_length = size
    return letter


@contextlib.contextmanager
def _open(path: str, data: bytes | None) -> Iterator[BinaryIO]:
    if data is not None:
        yield io.BytesIO(data)
    elif is_remote(path):
        from apache_beam.io.filesystem import BeamIOError, CompressionTypes
        from apache_beam.io.filesystems import FileSystems

        try:
            # Compression is handled by suffix, for local and remote files alike.
            handle = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        except BeamIOError as exc:
            raise OSError(str(exc)) from exc
        with handle:
            yield handle
    else:
        with open(path, "rb") as handle:
            yield handle


def _too_large(source: Source, chunk: Chunk, limit: int, what: str) -> DeadLetter:
    letter = _dead(
        source,
        "article_too_large",
        f"{what} is {chunk.size} bytes, over the {limit}-byte cap (--max-article-bytes)",
        raw_prefix(chunk.data),
    )
    letter.raw_length = chunk.size
    return letter


def _document(
    chunk: Chunk, fmt: str, source: Source, limits: ReadLimits
) -> Iterator[Payload | DeadLetter]:
    if chunk.oversized:
        yield _too_large(source, chunk, limits.max_article_bytes, "the article")
        return
    data = chunk.data
    if not data.strip():
        yield _dead(source, "empty_file", "file is empty", data.decode("utf-8", "replace"))
        return
    if fmt == "json" and len(data) > limits.max_article_bytes and data.lstrip()[:1] != b"[":
        yield _too_large(source, chunk, limits.max_article_bytes, "the JSON object")
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
    else:
        yield from _json_document(text, source, limits)


def _json_document(
    text: str, source: Source, limits: ReadLimits | None = None
) -> Iterator[Payload | DeadLetter]:
    limits = limits or ReadLimits()
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
            raw = orjson.dumps(item)
            if len(raw) > limits.max_article_bytes:
                chunk = Chunk(raw[:RAW_PREFIX_BYTES], len(raw), True)
                yield _too_large(item_source, chunk, limits.max_article_bytes, "the array element")
                continue
            yield _json_payload(item, raw.decode(), item_source)
    else:
        yield _json_payload(value, text, source)


def _json_lines(
    reader: CappedReader, uri: str, limits: ReadLimits, first_line: int = 1
) -> Iterator[Payload | DeadLetter]:
    any_line = False
    lines = iter_lines(reader, limits.max_article_bytes)
    for number, chunk in enumerate(lines, start=first_line):
        source = Source(kind="file", uri=uri, line=number)
        if chunk.oversized:
            any_line = True
            yield _too_large(source, chunk, limits.max_article_bytes, f"line {number}")
            continue
        line = chunk.data
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        if not line.strip():
            continue  # blank lines separate nothing and carry nothing
        any_line = True
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            # JSON Lines are UTF-8; a line in another charset gets the detector.
            decoded = decode_bytes(line)
            if decoded.text is None:
                error = f"line {number}: {decoded.error or 'undecodable'}"
                yield _dead(source, "undecodable", error, bytes_for_dead_letter(line))
                continue
            text = decoded.text
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield _dead(source, "malformed_json", f"line {number}: invalid JSON: {exc}", text)
            continue
        yield _json_payload(value, text, source)
    # A range of a larger file (first_line > 1, or a later range) may be all blank; the
    # splitter only splits files with text, so the whole file is never empty then.
    if not any_line and first_line == 1 and not isinstance(reader, _RangeReader):
        yield _dead(Source(kind="file", uri=uri), "empty_file", "file has only blank lines", "")


@dataclass(frozen=True, slots=True)
class LineRange:
    """A line-aligned byte range of a JSON Lines file: [start, end), whose first line
    is line number `first_line` of the file (1-based)."""

    start: int
    end: int
    first_line: int


class _RangeReader(CappedReader):
    """A CappedReader over one range: the file is under its cap, the range ends here."""


def split_json_lines(path: str, target_bytes: int, limits: ReadLimits) -> list[LineRange] | None:
    """Line-aligned ranges of about `target_bytes` of a local, uncompressed .jsonl file,
    so that one large file is read by several workers, each line once, with its own
    line number. None (read it whole) for any other file, one not larger than
    `target_bytes` or over `max_file_bytes` (its cap applies to the whole file), and
    one with no text at all (its `empty_file` dead letter is the whole file's)."""
    if file_format(path) != "jsonl" or path.lower().endswith(".gz") or is_remote(path):
        return None
    try:
        size = os.path.getsize(path)
        if size <= target_bytes or size > limits.max_file_bytes:
            return None
        ranges: list[LineRange] = []
        start, first_line, any_text = 0, 1, False
        with open(path, "rb") as handle:
            while start < size:
                end = _line_start_after(handle, start + target_bytes, size)
                handle.seek(start)
                newlines, left = 0, end - start
                while left:
                    block = handle.read(min(left, 1 << 20))
                    if not block:
                        return None  # the file shrank while being read
                    newlines += block.count(b"\n")
                    any_text = any_text or bool(block.strip())
                    left -= len(block)
                ranges.append(LineRange(start, end, first_line))
                start, first_line = end, first_line + newlines
    except OSError:
        return None  # read whole, where the error becomes its dead letter
    return ranges if any_text and len(ranges) > 1 else None


def _line_start_after(handle: BinaryIO, offset: int, size: int) -> int:
    """The offset just past the first newline at or after `offset` (or the file's end)."""
    if offset >= size:
        return size
    handle.seek(offset)
    position = offset
    while block := handle.read(1 << 16):
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return size


def read_line_range(
    path: str, line_range: LineRange, *, limits: ReadLimits | None = None
) -> Iterator[Payload | DeadLetter]:
    """The payloads of one range from `split_json_lines`, as `read_payloads` gives
    them for the whole file (same sources and line numbers, same dead letters)."""
    limits = limits or ReadLimits()
    uri = file_uri(path)
    try:
        with open(path, "rb") as handle:
            handle.seek(line_range.start)
            data = handle.read(line_range.end - line_range.start)
        if len(data) != line_range.end - line_range.start:
            raise OSError(f"{path} changed while being read")
        reader = _RangeReader(io.BytesIO(data), len(data))
        yield from _json_lines(reader, uri, limits, first_line=line_range.first_line)
    except OSError as exc:
        yield _unreadable(path, None, Source(kind="file", uri=uri), exc)


def _json_payload(value: Any, raw: str, source: Source) -> Payload | DeadLetter:
    if not isinstance(value, dict):
        return _dead(
            source, "not_an_object", f"expected a JSON object, got {type(value).__name__}", raw
        )
    return Payload(kind="json", content=value, raw=raw, source=source)


def _dead(source: Source, reason: str, error: str, raw: str) -> DeadLetter:
    return DeadLetter(stage=STAGE, reason=reason, error=error, source=source, raw=raw)
