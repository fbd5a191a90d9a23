"""The wire format of one stream window entry (pure): what a durable window store holds.

A durable store (the Kafka changelog topic, see `transforms/io/kafka/changelog.py`)
keeps one value per article id. The value is data anyone with write access to the
topic can produce, so it is decoded field by field and checked, never unpickled.
This module is the ONLY place that knows `StreamEntry`'s fields on the wire: a new
entry field (or a new fingerprint version) means changing `encode_entry` /
`decode_entry` here and bumping `FORMAT` when old values can no longer be read.

Layout (format 1), little-endian:

    b"NBW" FORMAT(u8) | header length (u32) | header (JSON) | payload bytes

The header holds the fingerprint version the sketch was made with and every scalar
field; the payload concatenates the sketch's binary parts (shingle set, lead set,
LSH band keys of one width), whose sizes the header gives. ~2.3 KB for a 500-word article
(JSON with base64 would be a third larger).
"""

from __future__ import annotations

import math
import struct
from typing import Any

import orjson

from newsbeam.transforms.dedup.labels import STATUSES
from newsbeam.transforms.dedup.sketch import ArticleSketch
from newsbeam.transforms.dedup.stream_index import StreamEntry

MAGIC = b"NBW"
FORMAT = 1
_PREFIX = struct.Struct("<3sBI")

FingerprintVersion = tuple[int, ...]


class EntryCodecError(ValueError):
    """A stored value that is not a window entry this code can read."""


def encode_entry(entry: StreamEntry, fingerprint_version: FingerprintVersion) -> bytes:
    if not math.isfinite(entry.event_time):
        raise EntryCodecError(f"entry {entry.id!r} has a non-finite event time")
    header: dict[str, Any] = {
        "fp": list(fingerprint_version),
        "id": entry.id,
        "seq": entry.seq,
        "t": entry.event_time,
        "hash": entry.content_hash,
        "label": entry.label,
        "rep": entry.rep_seq,
        "text": entry.has_text,
        "sk": None,
    }
    payload: list[bytes] = []
    sketch = entry.sketch
    if sketch is not None:
        # Candidate keys: 8-byte LSH bands and 9-byte anchors / opening keys
        # (sketch.py); "band_width" is their common width, 0 with "band_widths".
        widths = [len(band) for band in sketch.bands]
        width = widths[0] if widths and all(w == widths[0] for w in widths) else 0
        header["sk"] = {
            "order": list(sketch.order),
            "words": sketch.words,
            "near": sketch.near_eligible,
            # Byte lengths of the shingle set and the lead set, then the band keys
            # (all one width) as one block: one slice each to decode, not one per part.
            "shingles": len(sketch.shingles),
            "lead": len(sketch.lead),
            "bands": len(sketch.bands),
            "band_width": width,
        }
        if sketch.bands and not width:
            header["sk"]["band_widths"] = widths
        payload = [sketch.shingles, sketch.lead, *sketch.bands]
    body = orjson.dumps(header)
    return _PREFIX.pack(MAGIC, FORMAT, len(body)) + body + b"".join(payload)


def decode_entry(value: bytes) -> tuple[FingerprintVersion, StreamEntry]:
    """(fingerprint version, entry); EntryCodecError for anything else."""
    if len(value) < _PREFIX.size:
        raise EntryCodecError(f"{len(value)}-byte value is too short for a window entry")
    magic, version, header_length = _PREFIX.unpack_from(value)
    if magic != MAGIC:
        raise EntryCodecError("not a newsbeam window entry (bad magic bytes)")
    if version != FORMAT:
        raise EntryCodecError(f"window entry format {version}, this version reads {FORMAT}")
    start = _PREFIX.size
    end = start + header_length
    if end > len(value):
        raise EntryCodecError("window entry header is truncated")
    try:
        header = orjson.loads(value[start:end])
        return _fingerprint(header["fp"]), _entry(header, memoryview(value)[end:])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, EntryCodecError):
            raise
        raise EntryCodecError(f"malformed window entry: {type(exc).__name__}: {exc}") from exc


def _fingerprint(value: Any) -> FingerprintVersion:
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        raise EntryCodecError("fingerprint version is not a list of integers")
    return tuple(value)


def _entry(header: dict[str, Any], payload: memoryview) -> StreamEntry:
    label = header["label"]
    if (
        not isinstance(label, dict)
        or label.get("status") not in STATUSES
        or set(label) - {"containment"} != {"status", "of", "similarity"}
    ):
        raise EntryCodecError(f"bad label {label!r}")
    article_id = _typed(header, "id", str)
    content_hash = _typed(header, "hash", str)
    event_time = header["t"]
    if not isinstance(event_time, int | float) or not math.isfinite(event_time):
        raise EntryCodecError("event time is not a finite number")
    if not _is_int(header["seq"]) or not _is_int(header["rep"]):
        raise EntryCodecError("seq / rep are not integers")
    sketch = None
    if header["sk"] is not None:
        sketch = _sketch(header["sk"], article_id, content_hash, payload)
    elif len(payload):
        raise EntryCodecError("payload bytes after an entry without a sketch")
    return StreamEntry(
        id=article_id,
        seq=header["seq"],
        event_time=float(event_time),
        content_hash=content_hash,
        label=label,
        rep_seq=header["rep"],
        sketch=sketch,
        has_text=_typed(header, "text", bool),
    )


def _sketch(
    fields: dict[str, Any], article_id: str, content_hash: str, payload: memoryview
) -> ArticleSketch:
    shingles, lead, bands, width = (fields[k] for k in ("shingles", "lead", "bands", "band_width"))
    widths = fields.get("band_widths", [width] * bands if _is_int(bands) else None)
    if (
        not all(_is_int(n) and n >= 0 for n in (shingles, lead, bands, width))
        or not isinstance(widths, list)
        or len(widths) != bands
        or not all(_is_int(w) and w > 0 for w in widths)
    ):
        raise EntryCodecError("bad sketch part lengths")
    if shingles + lead + sum(widths) != len(payload):
        raise EntryCodecError(
            f"sketch payload is {len(payload)} bytes, header says {shingles + lead + sum(widths)}"
        )
    data = payload.tobytes()
    start = shingles + lead
    order = fields["order"]
    if (
        not isinstance(order, list)
        or len(order) != 3
        or not isinstance(order[0], bool)
        or not isinstance(order[1], int | float)
        or not isinstance(order[2], str)
    ):
        raise EntryCodecError("bad sketch order key")
    words = fields["words"]
    if not _is_int(words) or words < 0:
        raise EntryCodecError("bad sketch word count")
    return ArticleSketch(
        id=article_id,
        content_hash=content_hash,
        order=(order[0], float(order[1]), order[2]),
        words=words,
        shingles=data[:shingles],
        lead=data[shingles:start],
        bands=_split(data, start, widths),
        near_eligible=_typed(fields, "near", bool),
    )


def _split(data: bytes, start: int, widths: list[int]) -> tuple[bytes, ...]:
    keys = []
    for w in widths:
        keys.append(data[start : start + w])
        start += w
    return tuple(keys)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _typed(fields: dict[str, Any], name: str, kind: type) -> Any:
    value = fields[name]
    if not isinstance(value, kind):
        raise EntryCodecError(f"field {name!r} is not a {kind.__name__}")
    return value
