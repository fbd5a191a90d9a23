import codecs

from newsbeam.transforms.io.files.decoding import bytes_for_dead_letter, decode_bytes

TEXT = "Zürich: Präsident Müller sagte, die Straße bleibe gesperrt – «vorerst»."


def test_utf8_is_decoded_as_is():
    assert decode_bytes(TEXT.encode()).text == TEXT


def test_utf8_bom_is_stripped():
    assert decode_bytes(codecs.BOM_UTF8 + TEXT.encode()).text == TEXT


def test_utf16_with_bom():
    assert decode_bytes(TEXT.encode("utf-16")).text == TEXT


def test_legacy_encoding_is_detected():
    data = (TEXT + " Die Bürger äußerten sich über die Öffnungszeiten. " * 5).encode("cp1252")
    decoded = decode_bytes(data)
    assert decoded.text is not None
    assert "Müller" in decoded.text and "Straße" in decoded.text


def test_binary_junk_is_refused_with_a_reason():
    decoded = decode_bytes(bytes(range(256)) * 8)
    assert decoded.text is None
    assert decoded.error


def test_dead_letter_payload_is_reversible():
    import base64

    data = b"\xff\x00\x10junk"
    kept = bytes_for_dead_letter(data)
    assert base64.b64decode(kept.removeprefix("base64:")) == data
