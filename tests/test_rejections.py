"""Refused rows become dead letters; dead letters become storable anywhere."""

import base64

from sink_helpers import article_records, dead_letter_records

from newsbeam.schemas.validation import DEAD_LETTER_SCHEMA, validation_errors
from newsbeam.transforms.io.rejections import (
    armored_dead_letter,
    record_payload,
    rejected_dead_letter,
)


def test_a_refused_record_becomes_a_sink_dead_letter_with_the_record_as_payload():
    record = article_records(2)[1]
    letter = rejected_dead_letter(record, sink="postgresql", error="PostgreSQL refused the row")
    assert (letter.stage, letter.reason, letter.id) == ("sink", "postgresql_rejected", record["id"])
    assert letter.source.to_dict() == record["source"]
    assert letter.raw == record_payload(record)
    out = letter.to_record(pipeline_version="newsbeam/test")
    assert validation_errors(out, DEAD_LETTER_SCHEMA) == []


def test_anything_refused_still_gets_a_dead_letter():
    letter = rejected_dead_letter(["not", "a", "record"], sink="jsonl", error="x")
    assert letter.id is None and letter.source.uri == "unknown"
    # orjson refuses a 70-bit integer; the payload falls back to the standard library.
    assert record_payload({"n": 2**70}) == '{"n": 1180591620717411303424}'


def test_armoring_keeps_the_payload_byte_for_byte():
    letter = {**dead_letter_records()[0], "raw": "a\x00b \udcff", "error": "bad \x00"}
    armored = armored_dead_letter(letter)
    assert armored["raw"].startswith("base64:")
    assert base64.b64decode(armored["raw"][7:]).decode("utf-8", "surrogatepass") == letter["raw"]
    assert armored["error"] == "bad \ufffd"
    assert {k: v for k, v in armored.items() if k not in ("raw", "error")} == {
        k: v for k, v in letter.items() if k not in ("raw", "error")
    }
    # Already armoured payloads are not wrapped twice.
    assert armored_dead_letter(armored)["raw"] == armored["raw"]
