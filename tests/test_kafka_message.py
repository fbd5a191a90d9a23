"""Kafka message <-> article/record codec (pure: no broker, no Beam)."""

import base64

import orjson
import pytest

from newsbeam.schemas.article import Article
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.kafka.message import (
    KafkaMessage,
    article_message,
    dead_letter_message,
    decode_message,
)

BODY = "The city council approved the budget on Tuesday after a long debate."


def message(value, *, key=None, headers=(), offset=7, timestamp_ms=1_700_000_000_123):
    return KafkaMessage(
        topic="raw-articles",
        partition=2,
        offset=offset,
        timestamp_ms=timestamp_ms,
        key=key,
        value=value,
        headers=tuple(headers),
    )


def test_json_article_keeps_its_fields_and_kafka_coordinates():
    value = orjson.dumps({"id": "a1", "title": "Budget", "text": BODY, "url": "https://x/1"})
    article = decode_message(message(value, key=b"ignored-key"))
    assert isinstance(article, Article)
    assert (article.id, article.title, article.text, article.url) == (
        "a1",
        "Budget",
        BODY,
        "https://x/1",
    )
    source = article.source
    assert (source.kind, source.topic, source.partition, source.offset) == (
        "kafka",
        "raw-articles",
        2,
        7,
    )
    assert source.uri == "kafka:raw-articles"
    assert article.raw == value.decode()
    # ingested_at is the record timestamp, so a redelivery decodes identically.
    assert article.ingested_at == "2023-11-14T22:13:20.123Z"
    assert decode_message(message(value)).ingested_at == article.ingested_at


def test_key_becomes_the_id_when_the_value_has_none():
    json_value = orjson.dumps({"text": BODY})
    assert decode_message(message(json_value, key=b"story-42")).id == "story-42"
    text = decode_message(message(BODY.encode(), key=b"story-43"))
    assert isinstance(text, Article) and text.id == "story-43" and text.text == BODY


def test_without_id_or_key_the_id_is_stable_per_position():
    first = decode_message(message(BODY.encode(), offset=5))
    again = decode_message(message(BODY.encode(), offset=5))
    other = decode_message(message(BODY.encode(), offset=6))
    assert first.id == again.id != other.id


@pytest.mark.parametrize(
    ("value", "headers", "kind"),
    [
        (b"<html><body><p>" + BODY.encode() + b"</p></body></html>", (), "html"),
        (b"  <!DOCTYPE html><html><p>x y z</p></html>", (), "html"),
        (BODY.encode(), (("Content-Type", b"text/html; charset=utf-8"),), "html"),
        (b"<p>not markup really</p>", (("content-type", b"text/plain"),), "text"),
        (BODY.encode(), (), "text"),
        (b"[Reuters] " + BODY.encode(), (), "text"),
    ],
)
def test_text_or_html_by_header_or_sniffing(value, headers, kind):
    article = decode_message(message(value, headers=headers))
    assert isinstance(article, Article)
    assert (article.html is not None) == (kind == "html")


def test_json_content_type_wins_over_sniffing():
    headers = (("content-type", b"application/json"),)
    letter = decode_message(message(b"  not json", headers=headers))
    assert isinstance(letter, DeadLetter) and letter.reason == "malformed_json"


def test_declared_charset_is_honoured():
    value = "Café crème: le budget est voté.".encode("latin-1")
    article = decode_message(
        message(value, headers=(("content-type", b"text/plain; charset=ISO-8859-1"),))
    )
    assert isinstance(article, Article) and article.text.startswith("Café crème")


@pytest.mark.parametrize(
    ("value", "reason", "stage"),
    [
        (b"", "empty_message", "read"),
        (None, "empty_message", "read"),
        (b"   \n ", "empty_message", "read"),
        (b"\xff\xfe\xfa broken bytes", "invalid_utf8", "read"),
        (b'{"title": "cut off', "malformed_json", "read"),
        (b'{"title": "no body"}', "no_text", "parse"),
        (b'{"text": ["not", "a", "string"]}', "invalid_field", "parse"),
    ],
)
def test_poison_messages_become_dead_letters(value, reason, stage):
    letter = decode_message(message(value, key=b"k1"))
    assert isinstance(letter, DeadLetter)
    assert (letter.reason, letter.stage) == (reason, stage)
    assert letter.source.offset == 7 and letter.source.topic == "raw-articles"
    assert letter.id == "k1"


def test_invalid_utf8_keeps_the_original_bytes():
    value = b"\xff\xfe\xfa broken bytes"
    letter = decode_message(message(value))
    assert letter.raw.startswith("base64:")
    assert base64.b64decode(letter.raw[len("base64:") :]) == value


def test_oversized_value_is_refused_before_decoding():
    value = b"x" * 10_000_001
    letter = decode_message(message(value))
    assert isinstance(letter, DeadLetter) and letter.reason == "message_too_large"
    # Only its start is kept (the record's raw cap); the size seen is recorded.
    assert letter.raw == "x" * 1_048_576 and letter.raw_length == len(value)
    record = letter.to_record(pipeline_version="t")
    assert record["raw_truncated"] and record["raw_length"] == len(value)
    small = decode_message(message(b"word " * 30), max_message_bytes=100)
    assert small.reason == "message_too_large"


def test_unknown_charset_is_undecodable():
    headers = (("content-type", b"text/plain; charset=nope"),)
    letter = decode_message(message(b"abc", headers=headers))
    assert isinstance(letter, DeadLetter) and letter.reason == "undecodable"


def test_article_record_message_is_keyed_by_id():
    record = {"id": "a1", "title": "Ünïcode", "text": BODY}
    out = article_message(record)
    assert out.key == b"a1"
    assert orjson.loads(out.value) == record


def test_dead_letter_message_carries_reason_and_stage_headers():
    letter = decode_message(message(b"{broken", key=b"k9"))
    record = letter.to_record(pipeline_version="test")
    out = dead_letter_message(record)
    assert dict(out.headers)["reason"] == b"malformed_json"
    assert dict(out.headers)["stage"] == b"read"
    assert out.key == b"k9"  # the message key identifies the unusable message
    assert orjson.loads(out.value)["raw"] == "{broken"


def test_every_output_message_carries_the_schema_version():
    # In the value: the major version consumers branch on; in a header: kind/major.minor.
    from newsbeam.schemas.versions import ARTICLE, DEAD_LETTER

    article = decode_message(message(b'{"id": "a1", "text": "Some body text here."}'))
    record = article.to_record(pipeline_version="test")
    out = article_message(record)
    assert orjson.loads(out.value)["schema_version"] == ARTICLE.current.major
    assert dict(out.headers)["newsbeam-schema"] == f"article/{ARTICLE.current}".encode()
    letter = decode_message(message(b"{broken")).to_record(pipeline_version="test")
    out = dead_letter_message(letter)
    assert orjson.loads(out.value)["schema_version"] == DEAD_LETTER.current.major
    assert dict(out.headers)["newsbeam-schema"] == f"dead_letter/{DEAD_LETTER.current}".encode()
