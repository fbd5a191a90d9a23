"""Large JSON Lines files read as line-aligned ranges: the same payloads and dead
letters, line numbers included, as reading the file whole."""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import orjson
import pytest

from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.files.limits import ReadLimits
from newsbeam.transforms.io.files.reading import (
    read_line_range,
    read_payloads,
    split_json_lines,
)

LIMITS = ReadLimits(max_article_bytes=400)


def _lines() -> list[bytes]:
    lines = [codecs.BOM_UTF8 + orjson.dumps({"id": "first", "text": "with a byte-order mark"})]
    for number in range(60):
        lines.append(orjson.dumps({"id": f"a{number}", "text": "word " * (number % 7 + 1)}))
        if number % 9 == 0:
            lines.append(b"")  # blank lines are skipped but counted
        if number % 13 == 0:
            lines.append(b"{not json")
        if number % 17 == 0:
            lines.append(b'"a string, not an object"')
        if number % 19 == 0:
            lines.append(orjson.dumps({"id": f"big{number}", "text": "x" * 1000}))  # too large
        if number == 30:
            lines.append('{"id": "latin", "text": "caf\u00e9"}'.encode("latin-1"))  # not UTF-8
    return lines


def _summary(item) -> tuple:
    if isinstance(item, DeadLetter):
        return ("dead", item.reason, item.source.line, item.raw, item.raw_length)
    return ("payload", item.source.uri, item.source.line, item.raw, item.content)


def test_ranges_give_what_the_whole_file_gives(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\r\n".join(_lines()) + b"\n")
    whole = [_summary(item) for item in read_payloads(str(path), limits=LIMITS)]
    ranges = split_json_lines(str(path), 300, LIMITS)
    assert ranges is not None and len(ranges) > 5
    assert ranges[0].start == 0 and ranges[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    pieces = [
        _summary(item)
        for line_range in ranges
        for item in read_line_range(str(path), line_range, limits=LIMITS)
    ]
    assert pieces == whole
    reasons = {item[1] for item in whole if item[0] == "dead"}
    assert reasons >= {"malformed_json", "not_an_object", "article_too_large"}


def test_no_final_newline_and_a_range_of_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "blank-middle.jsonl"
    body = orjson.dumps({"id": "a", "text": "one"}) + b"\n" + b"\n" * 500
    path.write_bytes(body + orjson.dumps({"id": "b", "text": "two"}))
    ranges = split_json_lines(str(path), 100, LIMITS)
    assert ranges is not None
    pieces = [
        _summary(item) for r in ranges for item in read_line_range(str(path), r, limits=LIMITS)
    ]
    assert pieces == [_summary(item) for item in read_payloads(str(path), limits=LIMITS)]
    assert [item[2] for item in pieces] == [1, 502]


@pytest.mark.parametrize(
    ("name", "content", "limits"),
    [
        ("small.jsonl", b'{"id": "a"}\n', LIMITS),  # not larger than a range
        ("blank.jsonl", b"\n" * 1000, LIMITS),  # no text: the whole file's empty_file
        ("over-cap.jsonl", b'{"id": "a"}\n' * 100, ReadLimits(max_file_bytes=500)),
        ("notes.txt", b"text\n" * 200, LIMITS),
    ],
)
def test_files_read_whole(tmp_path: Path, name: str, content: bytes, limits: ReadLimits) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert split_json_lines(str(path), 100, limits) is None


def test_compressed_files_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"id": "a"}\n' * 1000))
    assert split_json_lines(str(path), 100, LIMITS) is None
