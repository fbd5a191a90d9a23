"""`newsbeam inspect`: each stage's view of one article."""

import json

import pytest

from conftest import EXAMPLES
from newsbeam.cli import main


def _inspect_json(capsys, *argv):
    assert main(["inspect", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_text_article_shows_removed_lines_with_rules_language_and_record(capsys):
    view = _inspect_json(capsys, str(EXAMPLES / "harbour-strike-rotterdam.txt"))
    dropped = {d["text"]: d["reason"] for d in view["clean"]["decisions"] if not d["kept"]}
    assert dropped["Home » Business » Shipping"] == "breadcrumb"
    assert dropped["Strike Threat Looms Over French Ports"] == "related-headlines"
    assert any(r == "copyright" for r in dropped.values())
    assert view["language"]["language"] == "en" and view["language"]["score"] > 0.9
    record = view["record"]
    assert record["title"].startswith("Dock Workers in Rotterdam")
    assert "Related Articles" not in record["text"]
    assert record["removed"] == view["clean"]["removed"]
    assert view["dedup"]["content_hash"] == record["content_hash"]
    dedup = view["dedup"]
    assert dedup["near_eligible"] and dedup["can_be_contained"]
    # 160 distinct shingles or more: no LSH band keys, ~1 in 8 shingles as anchors.
    assert dedup["shingles"] >= 160 and dedup["lsh_band_keys"] == []
    assert 0 < len(dedup["containment_anchors"]) <= dedup["shingles"] // 4
    assert view["topics"] == record["topics"] and record["topics"]
    # Alone, the article founds its own story; the terms are what it is matched on.
    assert record["story"] == {"id": record["id"], "similarity": 1.0}
    terms = [t["term"] for t in view["story"]["heaviest_terms"]]
    assert "rotter" in terms  # a name, cut to the 6-character prefix


def test_jsonl_line_and_language_hint(capsys):
    view = _inspect_json(capsys, str(EXAMPLES / "wire-feed.jsonl"), "--line", "4")
    assert view["record"]["id"] == "bahn-sanierung"
    assert view["language"]["language"] == "de"
    assert view["language"]["hint"] == "en" and view["language"]["hint_agrees"] is False


def test_bad_record_shows_its_dead_letter(capsys):
    view = _inspect_json(capsys, str(EXAMPLES / "wire-feed.jsonl"), "--line", "8")
    assert view["dead_letter"]["reason"] == "malformed_json"
    assert "record" not in view


def test_text_output_has_a_section_per_stage(capsys):
    assert main(["inspect", str(EXAMPLES / "harbour-strike-rotterdam.txt")]) == 0
    out = capsys.readouterr().out
    headings = ("== clean", "== detect-language", "== deduplicate", "== story", "== classify")
    for heading in (*headings, "== record"):
        assert heading in out
    assert "breadcrumb" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([str(EXAMPLES / "wire-feed.jsonl"), "--line", "99"], "no record on line 99"),
        ([str(EXAMPLES)], "inspect takes one"),
        (["missing.txt"], "does not exist"),
    ],
)
def test_bad_usage_exits_2(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["inspect", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
