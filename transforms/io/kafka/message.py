"""Kafka messages to articles and records to Kafka messages (pure, no Beam).

Incoming: a message value is a JSON article (the fields of a `.jsonl` line) or raw
text/HTML, told apart by the `content-type` header or, without one, by sniffing. The
key, when the value carries no `id`, becomes the article id. Anything that cannot
become an article -- an empty value, a value over the size limit, bytes that are not
UTF-8, broken JSON, a JSON value that is not an object -- becomes a `DeadLetter` with
a reason code and the original bytes; decoding never raises.

Outgoing: article records and dead-letter records become (key, value, headers)
triples, JSON-encoded with the article id as key. The value carries the major schema
version (`schema_version`); the `newsbeam-schema` header names kind and full version
(`article/1.0`) so a consumer can route or skip without parsing the value.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from newsbeam.schemas.article import Article, Source
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.schemas.versions import ARTICLE, DEAD_LETTER
from newsbeam.transforms.io.files.decoding import bytes_for_dead_letter
from newsbeam.transforms.io.files.limits import (
    DEFAULT_MAX_ARTICLE_BYTES,
    RAW_PREFIX_BYTES,
    raw_prefix,
)
from newsbeam.transforms.io.files.reading import Payload
from newsbeam.transforms.parse import parse_payload

STAGE = "read"

# Values above this are refused: no article needs it, and a 10 MB value would be
# carried through every stage. Configurable per source (`max_message_bytes`); the
# same cap, with the same default, as a file article's (`--max-article-bytes`).
DEFAULT_MAX_MESSAGE_BYTES = DEFAULT_MAX_ARTICLE_BYTES

Header = tuple[str, bytes]

SCHEMA_HEADER = "newsbeam-schema"
_ARTICLE_SCHEMA = f"{ARTICLE.name}/{ARTICLE.current}".encode()
_DEAD_LETTER_SCHEMA = f"{DEAD_LETTER.name}/{DEAD_LETTER.current}".encode()

_JSON_TYPES = ("application/json", "application/x-ndjson", "text/json")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain",)
# Opening tags that make an untyped value HTML rather than plain text.
_HTML_SNIFF = ("<!doctype html", "<html", "<head", "<body", "<article", "<div", "<p", "<h1")


@dataclass(frozen=True, slots=True)
class KafkaMessage:
    """One consumed record, detached from the client library."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int  # CreateTime or LogAppendTime; -1 when the broker has none
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    # Set when `value` holds only the start of something larger (a compressed batch
    # that inflated past its cap): the size seen.
    value_size: int | None = None
    last_offset: int | None = None  # with value_size: the batch's last offset

    def header(self, name: str) -> bytes | None:
        """The last header called `name` (case-insensitive), as Kafka allows repeats."""
        found = None
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    key: bytes | None
    value: bytes
    headers: tuple[Header, ...] = ()


def source_uri(topic: str) -> str:
    """The article's source uri. Broker addresses are left out on purpose: ids derived
    from the uri must not change when the bootstrap list does."""
    return f"kafka:{topic}"


def message_source(message: KafkaMessage) -> Source:
    return Source(
        kind="kafka",
        uri=source_uri(message.topic),
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
    )


def message_time(message: KafkaMessage) -> str | None:
    """The record timestamp as RFC 3339 (it is the article's `ingested_at`: a
    redelivered message then yields the identical record)."""
    if message.timestamp_ms < 0:
        return None
    moment = datetime.fromtimestamp(message.timestamp_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decode_message(
    message: KafkaMessage, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> Article | DeadLetter:
    """One Kafka message to an Article, or a DeadLetter saying why not."""
    source = message_source(message)
    key = _key_id(message.key)
    value = message.value
    if value is None or not value.strip():
        raw = "" if value is None else value.decode("utf-8", "replace")
        return _dead(source, "empty_message", "message value is empty or null", raw, key)
    size = len(value) if message.value_size is None else message.value_size
    if size > max_message_bytes:
        letter = _dead(
            source,
            "message_too_large",
            f"value is {size} bytes, over the {max_message_bytes}-byte limit"
            if message.value_size is None
            else f"compressed record batch inflates to more than {size - 1} bytes "
            f"(offsets {message.offset}-{message.last_offset}); it is skipped whole",
            # Its start only: a 100 MB value is not copied into a 100 MB string.
            raw_prefix(value[:RAW_PREFIX_BYTES]),
            key,
        )
        letter.raw_length = size
        return letter
    content_type, charset = _content_type(message.header("content-type"))
    try:
        text = _decode_text(value, charset)
    except (UnicodeDecodeError, LookupError) as exc:
        reason = "invalid_utf8" if charset in (None, "utf-8") else "undecodable"
        error = f"value is not {charset or 'UTF-8'} text: {exc}"
        return _dead(source, reason, error, _raw_text(value), key)

    kind = _kind(content_type, text)
    ingested_at = message_time(message)
    if kind == "json":
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return _dead(source, "malformed_json", f"invalid JSON: {exc}", text, key)
        if not isinstance(obj, dict):
            error = f"expected a JSON object, got {type(obj).__name__}"
            return _dead(source, "not_an_object", error, text, key)
        if key is not None and obj.get("id") in (None, ""):
            obj["id"] = key
        return parse_payload(
            Payload(kind="json", content=obj, raw=text, source=source), ingested_at=ingested_at
        )
    parsed = parse_payload(
        Payload(kind=kind, content=text, raw=text, source=source), ingested_at=ingested_at
    )
    if key is not None:
        parsed.id = key
    return parsed


def article_message(record: dict[str, Any]) -> OutgoingMessage:
    """An article record (Article.to_record) as a Kafka message keyed by its id."""
    return OutgoingMessage(
        key=record["id"].encode(),
        value=orjson.dumps(record),
        headers=(("content-type", b"application/json"), (SCHEMA_HEADER, _ARTICLE_SCHEMA)),
    )


def dead_letter_message(record: dict[str, Any]) -> OutgoingMessage:
    """A dead-letter record (DeadLetter.to_record); reason and stage also as headers
    so consumers can route without parsing the value."""
    return OutgoingMessage(
        key=record["id"].encode() if record.get("id") else None,
        value=orjson.dumps(record),
        headers=(
            ("content-type", b"application/json"),
            ("reason", record["reason"].encode()),
            ("stage", record["stage"].encode()),
            (SCHEMA_HEADER, _DEAD_LETTER_SCHEMA),
        ),
    )


def _content_type(header: bytes | None) -> tuple[str | None, str | None]:
    """(media type, charset) from a content-type header; both lower-case or None."""
    if not header:
        return None, None
    text = header.decode("latin-1").strip().lower()
    media, _, params = text.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, val = param.strip().partition("=")
        if name == "charset" and val:
            charset = _normalised_charset(val.strip('"'))
    return media.strip() or None, charset


def _normalised_charset(name: str) -> str:
    """Python's codec name for `name`, kept as given when unknown (decoding then
    fails with LookupError and the message is dead-lettered)."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return name
    return "utf-8" if codec == "utf-8-sig" else codec


def _decode_text(value: bytes, charset: str | None) -> str:
    """Strict decoding: UTF-8 (a BOM is allowed) unless the header names a charset."""
    if charset is None or charset == "utf-8":
        return value.decode("utf-8-sig")
    return value.decode(charset)


def _kind(content_type: str | None, text: str) -> str:
    if content_type in _JSON_TYPES:
        return "json"
    if content_type in _HTML_TYPES:
        return "html"
    if content_type in _TEXT_TYPES:
        return "text"
    head = text.lstrip()[:64].lower()
    if head.startswith("{"):
        return "json"
    if head.startswith(_HTML_SNIFF) or head.startswith("<!--"):
        return "html"
    return "text"


def _key_id(key: bytes | None) -> str | None:
    if not key:
        return None
    try:
        text = key.decode("utf-8").strip()
    except UnicodeDecodeError:
        # A binary key still identifies the message; keep it reversible.
        return key.hex()
    return text or None


def _raw_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return bytes_for_dead_letter(value)


def _dead(source: Source, reason: str, error: str, raw: str, key: str | None) -> DeadLetter:
    # The message key identifies the article even when its value is unusable.
    return DeadLetter(stage=STAGE, reason=reason, error=error, source=source, raw=raw, id=key)
