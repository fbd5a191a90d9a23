"""Size caps for untrusted input, and the bounded streams that enforce them (pure, no Beam).

Two caps, one meaning each, shared by every reader:

- `max_file_bytes`: decompressed bytes read from one file. A gzip bomb is stopped
  here, after at most this many bytes were inflated (in fixed-size chunks: memory
  stays at one chunk, whatever the file holds).
- `max_article_bytes`: raw bytes of one article -- a `.txt`/`.html` file, one
  `.jsonl` line, one `.json` object or array element, one Kafka message value
  (the stream job's `--max-message-bytes` is this cap under its own name).

Everything downstream (cleaning rules, MinHash sketches, language detection,
classification) therefore works on input of bounded size by construction.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MiB = 1024 * 1024

# 512 MiB decompressed: well above any real feed file, and a 2 GB gzip bomb is
# refused after ~1 s of inflating. A `.jsonl` file's cap counts every byte, the
# skipped bytes of an over-cap line included.
DEFAULT_MAX_FILE_BYTES = 512 * MiB
# 4 MiB: a long article is ~50 KB of text, a heavy saved page 1-3 MB of HTML.
DEFAULT_MAX_ARTICLE_BYTES = 4 * MiB
# How much of an over-cap payload a dead letter keeps (the DeadLetter record's cap).
RAW_PREFIX_BYTES = MiB
# Read size: bounds the memory a read needs besides what it keeps. Small enough that
# a .gz damaged near its end still yields the lines before the damage (gzip raises
# for the whole read that meets it).
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ReadLimits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES

    def __post_init__(self) -> None:
        if self.max_file_bytes <= 0 or self.max_article_bytes <= 0:
            raise ValueError("read limits must be positive")


class FileTooLarge(Exception):
    """More than `max_file_bytes` were read from one file."""

    def __init__(self, limit: int, head: bytes) -> None:
        super().__init__(f"more than {limit} bytes (decompressed); the cap is --max-file-bytes")
        self.limit = limit
        self.head = head  # the file's first RAW_PREFIX_BYTES, for the dead letter


class CappedReader:
    """A binary stream that raises FileTooLarge once more than `limit` bytes were read."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.consumed = 0
        self._head = bytearray()

    def read(self, size: int = CHUNK_BYTES) -> bytes:
        # Never ask for more than one byte past the cap: a decompressor then
        # inflates at most that much.
        data = self._stream.read(min(size, self._limit + 1 - self.consumed))
        self.consumed += len(data)
        if len(self._head) < RAW_PREFIX_BYTES:
            self._head += data[: RAW_PREFIX_BYTES - len(self._head)]
        if self.consumed > self._limit:
            raise FileTooLarge(self._limit, bytes(self._head))
        return data


@dataclass(frozen=True, slots=True)
class Chunk:
    """One article-sized piece of a stream: all of it, or (over the cap) its start."""

    data: bytes  # the whole piece, or its first RAW_PREFIX_BYTES when `oversized`
    size: int  # bytes the piece really has
    oversized: bool


def read_whole(reader: CappedReader, max_bytes: int) -> Chunk:
    """The rest of the stream as one piece; past `max_bytes` only its start is kept
    and the rest is counted (up to the reader's own cap)."""
    parts: list[bytes] = []
    size = 0
    while chunk := reader.read(CHUNK_BYTES):
        size += len(chunk)
        if size <= max_bytes:
            parts.append(chunk)
            continue
        # Over the cap: keep the start, count the rest as it streams by.
        kept = b"".join([*parts, chunk])[:RAW_PREFIX_BYTES]
        while more := reader.read(CHUNK_BYTES):
            size += len(more)
        return Chunk(kept, size, True)
    return Chunk(b"".join(parts), size, False)


def iter_lines(reader: CappedReader, max_line_bytes: int) -> Iterator[Chunk]:
    """Lines split on b"\\n" (a trailing \\r dropped), each at most `max_line_bytes`
    in memory: a longer line comes out as its first RAW_PREFIX_BYTES plus its size,
    and the lines after it are read as usual."""
    buffer = bytearray()
    size = 0
    prefix: bytes | None = None  # set once the current line went over the cap
    while chunk := reader.read(CHUNK_BYTES):
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            end = len(chunk) if newline < 0 else newline
            size += end - start
            if prefix is None:
                buffer += chunk[start:end]
                if size > max_line_bytes:
                    prefix = bytes(buffer[:RAW_PREFIX_BYTES])
                    buffer = bytearray()
            if newline < 0:
                break
            yield _line(buffer, size, prefix)
            buffer, size, prefix = bytearray(), 0, None
            start = newline + 1
    if size or buffer:
        yield _line(buffer, size, prefix)


def _line(buffer: bytearray, size: int, prefix: bytes | None) -> Chunk:
    if prefix is not None:
        return Chunk(prefix, size, True)
    data = bytes(buffer)
    if data.endswith(b"\r"):
        data = data[:-1]
    return Chunk(data, len(data), False)


def raw_prefix(data: bytes) -> str:
    """The start of an over-cap payload for a dead letter: text when it is UTF-8
    (a character cut at the end is dropped), else base64."""
    for cut in range(4):
        try:
            return data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return "base64:" + base64.b64encode(data).decode("ascii")
