"""Bytes to text: UTF-8 first, then a charset detector, never an exception.

charset-normalizer is used because it is maintained, pure Python (with an
optional speedup), and is what `requests` relies on for the same job.
"""

from __future__ import annotations

import base64
import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

# A decoded text with more than this share of control characters is binary
# junk that happened to decode, not an article.
MAX_CONTROL_CHAR_RATIO = 0.05

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALLOWED_CONTROL = frozenset("\n\r\t\f\v")


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str | None
    encoding: str | None
    error: str | None = None


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:20_000]
    controls = sum(1 for ch in sample if ch < " " and ch not in _ALLOWED_CONTROL)
    return controls / len(sample)


def decode_bytes(data: bytes) -> Decoded:
    """Decode `data`; on failure `text` is None and `error` says why."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data.decode(encoding), encoding)
            except UnicodeDecodeError:
                break
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        return Decoded(None, None, "bytes are not text in any encoding the detector knows")
    return _checked(str(best), best.encoding)


def _checked(text: str, encoding: str) -> Decoded:
    if "\x00" in text or _control_ratio(text) > MAX_CONTROL_CHAR_RATIO:
        return Decoded(None, encoding, f"content looks binary (decoded as {encoding})")
    return Decoded(text, encoding)


def bytes_for_dead_letter(data: bytes) -> str:
    """Keep an undecodable payload in a JSON-safe, reversible form."""
    return "base64:" + base64.b64encode(data).decode("ascii")
