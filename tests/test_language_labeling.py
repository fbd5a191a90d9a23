"""Labelling articles: detection text, the hint check, the record and its schema."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from language_corpus import SENTENCES

from newsbeam import PIPELINE_VERSION
from newsbeam.schemas.article import Article, Source
from newsbeam.transforms.language.codes import parse_languages, supported_languages
from newsbeam.transforms.language.detector import (
    LanguageConfig,
    LanguageDetector,
    LanguageResult,
    LanguageScore,
)
from newsbeam.transforms.language.labeling import (
    detection_text,
    hint_agrees,
    label_articles,
    with_language,
)

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "schemas" / "article.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def shared_dir() -> Path:
    return Path(os.environ.get("NEWSBEAM_SHARED") or REPO.parent / "shared")


def article(text: str, *, title: str | None = None, hint: str | None = None, id: str = "a1"):
    return Article(
        id=id,
        source=Source(kind="file", uri="file:///in.jsonl", line=1),
        raw=json.dumps({"id": id, "title": title, "text": text, "language": hint}),
        text=text,
        title=title,
        language_hint=hint,
        ingested_at="2024-03-16T12:00:00.000Z",
    )


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(LanguageConfig())


def test_detection_text_is_title_and_body():
    assert detection_text(article("Body.", title="Title")) == "Title\n\nBody."
    assert detection_text(article("Body.", title="  ")) == "Body."
    assert detection_text(article("Body.")) == "Body."
    assert detection_text(article("", title="Title only")) == "Title only"


def test_the_title_counts_towards_the_threshold(detector):
    body = "Short body here."  # 13 letters: und on its own
    assert detector.detect(body).und_reason == "too_short"
    [(labelled, _)] = label_articles(
        detector, [article(body, title="Heavy rain expected across the north")]
    )
    assert labelled.language == "en"


@pytest.mark.parametrize(
    ("hint", "language", "agrees"),
    [
        ("en", "en", True),
        ("EN", "en", True),
        ("en-US", "en", True),
        ("en_GB", "en", True),
        ("de", "en", False),
        ("zh-TW", "zh-cn", True),
        ("zh", "zh-tw", True),
        ("english", "en", False),
        ("en", "und", False),
        ("und", "und", False),
    ],
)
def test_hint_agreement(hint, language, agrees):
    assert hint_agrees(hint, language) is agrees


def test_agreeing_hint_is_recorded(detector):
    [(labelled, result)] = label_articles(detector, [article(SENTENCES["de"][0], hint="de-DE")])
    assert (labelled.language, result.language) == ("de", "de")
    record = labelled.to_record(pipeline_version=PIPELINE_VERSION)
    assert record["language_hint"] == {"value": "de-DE", "agrees": True}


def test_disagreeing_hint_is_recorded_not_trusted(detector):
    [(labelled, _)] = label_articles(detector, [article(SENTENCES["fr"][0], hint="en")])
    assert labelled.language == "fr"  # the detector's label, not the hint
    record = labelled.to_record(pipeline_version=PIPELINE_VERSION)
    assert record["language_hint"] == {"value": "en", "agrees": False}


def test_hint_on_an_und_article_does_not_agree(detector):
    [(labelled, _)] = label_articles(detector, [article("12345", hint="en")])
    assert labelled.language == "und"
    assert labelled.to_record(pipeline_version=PIPELINE_VERSION)["language_hint"] == {
        "value": "en",
        "agrees": False,
    }


def test_no_or_blank_hint_gives_no_language_hint(detector):
    labelled = [
        a
        for a, _ in label_articles(
            detector, [article(SENTENCES["en"][0]), article(SENTENCES["en"][1], hint="  ")]
        )
    ]
    for item in labelled:
        assert item.language_hint is None
        assert "language_hint" not in item.to_record(pipeline_version=PIPELINE_VERSION)


def test_unchecked_hint_is_reported_as_not_agreeing():
    # An article that never went through the stage: nothing confirmed its hint.
    record = article("text", hint="en").to_record(pipeline_version=PIPELINE_VERSION)
    assert record["language_hint"] == {"value": "en", "agrees": False}


def test_with_language_sets_every_field():
    result = LanguageResult("de", 0.71, (LanguageScore("en", 0.29),))
    labelled = with_language(article("irrelevant", hint="de"), result)
    assert labelled.language == "de"
    assert labelled.language_score == 0.71
    assert labelled.language_alternatives == [{"language": "en", "score": 0.29}]
    assert labelled.language_hint_agrees is True


def test_label_articles_keeps_order(detector):
    inputs = [article(SENTENCES[lang][1], id=f"a{i}") for i, lang in enumerate(["ru", "en", "es"])]
    labelled = label_articles(detector, inputs)
    assert [(a.id, a.language) for a, _ in labelled] == [("a0", "ru"), ("a1", "en"), ("a2", "es")]


def test_records_with_alternatives_and_hint_validate(detector):
    mixed = SENTENCES["de"][0] + " " + SENTENCES["en"][0]
    inputs = [
        article(mixed, hint="en", id="mixed"),
        article(SENTENCES["ja"][0], hint="ja", id="ja"),
        article("", id="empty"),
        article("99 + 1 = 100", hint="xx-unknown", id="numbers"),
    ]
    records = [
        a.to_record(pipeline_version=PIPELINE_VERSION) for a, _ in label_articles(detector, inputs)
    ]
    assert records[0]["language_alternatives"] == [
        {"language": "en", "score": pytest.approx(0.2857, abs=1e-3)}
    ]
    assert records[0]["language_hint"] == {"value": "en", "agrees": False}
    assert records[2]["language"] == "und" and records[2]["language_alternatives"] == []
    for record in records:
        errors = [e.message for e in VALIDATOR.iter_errors(record)]
        assert not errors, (record["id"], errors)


def test_schema_rejects_a_malformed_hint_or_too_many_alternatives():
    # The check above has teeth: the schema does constrain the two fields.
    record = article("x").to_record(pipeline_version=PIPELINE_VERSION)
    assert not list(VALIDATOR.iter_errors(record))
    bad_hint = dict(record, language_hint="en")
    four = [{"language": x, "score": 0.1} for x in ("a", "b", "c", "d")]
    too_many = dict(record, language_alternatives=four)
    assert list(VALIDATOR.iter_errors(bad_hint))
    assert list(VALIDATOR.iter_errors(too_many))


def test_supported_languages_are_langdetects_55_and_und():
    languages = supported_languages()
    assert len(languages) == 56
    assert {"en", "de", "zh-cn", "zh-tw", "und"} <= languages


def test_parse_languages():
    assert parse_languages("en,de") == {"en", "de"}
    assert parse_languages("en, DE") == {"en", "de"}
    assert parse_languages("zh,und") == {"zh-cn", "zh-tw", "und"}
    assert parse_languages("zh_TW") == {"zh-tw"}
    with pytest.raises(ValueError, match="english"):
        parse_languages("en,english")
    with pytest.raises(ValueError, match="no language"):
        parse_languages(" , ")


def seed_articles():
    seeds = shared_dir() / "seeds"
    gold_path = seeds / "gold.json"
    if not gold_path.is_file():
        return []
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    out = []
    for name, entry in sorted(gold.items()):
        lines = (seeds / name).read_text(encoding="utf-8").splitlines()
        title = lines[entry["title"] - 1] if entry.get("title") else None
        out.append((name, entry["language"], article(entry["gold_text"], title=title, id=name)))
    return out


@pytest.mark.skipif(not seed_articles(), reason="shared/seeds not present")
def test_sample_articles_are_english(detector):
    samples = seed_articles()
    assert len(samples) == 5
    labelled = label_articles(detector, [a for _, _, a in samples])
    for (name, gold_language, _), (result_article, result) in zip(samples, labelled, strict=True):
        assert result_article.language == gold_language == "en", name
        assert result.score > 0.99, name
