import gzip
import json

import pytest

from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.io.files.reading import InputError, Payload, discover_inputs, read_payloads


def _read(path):
    return list(read_payloads(str(path)))


def test_discover_walks_folders_recursively_and_skips_hidden(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("x")
    (tmp_path / "two.jsonl").write_text("{}")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("x")
    found = discover_inputs([str(tmp_path)])
    assert [p.rsplit("/", 1)[1] for p in found] == ["one.txt", "two.jsonl"]


def test_discover_globs_and_dedupes(tmp_path):
    (tmp_path / "one.txt").write_text("x")
    found = discover_inputs([str(tmp_path / "*.txt"), str(tmp_path / "one.txt")])
    assert len(found) == 1


@pytest.mark.parametrize("bad", ["does/not/exist", "nothing-*.matches"])
def test_discover_reports_missing_inputs(tmp_path, bad):
    with pytest.raises(InputError, match="does not exist|matches no files"):
        discover_inputs([str(tmp_path / bad)])


def test_text_file_is_one_payload(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("A story.\n\nSecond paragraph.")
    (payload,) = _read(path)
    assert isinstance(payload, Payload)
    assert payload.kind == "text" and payload.content.startswith("A story.")
    assert payload.source.uri == path.as_uri() and payload.source.line is None


def test_html_and_gzip(tmp_path):
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress(b"<html><body><p>Hi</p></body></html>"))
    (payload,) = _read(path)
    assert payload.kind == "html" and "<p>Hi</p>" in payload.content


def test_jsonl_lines_keep_their_line_numbers_and_bad_lines_become_dead_letters(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text('{"text": "one"}\n\n{oops\n"a string"\n{"text": "four"}\n')
    items = _read(path)
    assert [type(i).__name__ for i in items] == ["Payload", "DeadLetter", "DeadLetter", "Payload"]
    assert [i.source.line for i in items] == [1, 3, 4, 5]
    assert items[1].reason == "malformed_json" and items[1].raw == "{oops"
    assert items[2].reason == "not_an_object"


def test_json_document_object_and_array(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"text": "x"}))
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"text": "a"}, {"text": "b"}]))
    assert [p.source.line for p in _read(one)] == [None]
    assert [p.source.line for p in _read(many)] == [1, 2]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty_file"),
        ("blank.jsonl", b"\n\n  \n", "empty_file"),
        ("junk.txt", bytes(range(256)) * 4, "undecodable"),
        ("broken.json", b'{"text": ', "malformed_json"),
        ("notes.md", b"# hello", "unsupported_format"),
        ("bad.txt.gz", b"not gzip at all", "unreadable_file"),
    ],
)
def test_bad_files_become_dead_letters(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    (item,) = _read(path)
    assert isinstance(item, DeadLetter)
    assert item.reason == reason and item.stage == "read" and item.error
