"""Released schema versions: frozen files, the live one equal to the newest, minors additive."""

import copy
from importlib import resources

import pytest
from jsonschema import Draft202012Validator
from schema_fixtures import fixture_records, next_article_minor

from newsbeam.schemas.article import SCHEMA_VERSION
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.schemas.versions import (
    ARTICLE,
    DEAD_LETTER,
    KINDS,
    Version,
    comparable,
    compatibility_problems,
    dereferenced,
    load_schema_file,
)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_live_schema_is_the_newest_release(kind):
    live = load_schema_file(kind.live_file)
    released = load_schema_file(kind.released_file(kind.current))
    assert comparable(live) == comparable(released), (
        f"{kind.live_file} changed: release it as a new version (schemas/versions.py)"
    )
    assert released["$id"].endswith("/" + kind.released_file(kind.current))


def test_every_released_file_is_registered_and_the_other_way_round():
    shipped = {
        entry.name
        for entry in resources.files("newsbeam.schemas").iterdir()
        if entry.name.endswith(".schema.json") and "-" in entry.name
    }
    registered = {kind.released_file(v) for kind in KINDS for v in kind.versions}
    assert shipped == registered
    for kind in KINDS:
        assert list(kind.versions) == sorted(set(kind.versions)), "oldest first, no repeats"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_each_release_is_a_superset_of_the_previous_unless_the_major_changed(kind):
    versions = kind.versions
    for older, newer in zip(versions, versions[1:], strict=False):
        if newer.major != older.major:
            continue
        problems = compatibility_problems(
            load_schema_file(kind.released_file(older)),
            load_schema_file(kind.released_file(newer)),
        )
        assert problems == [], f"{kind.name} {older} -> {newer} is not additive: {problems}"


def test_released_files_are_self_contained_snapshots():
    # A released file may only refer to released files: the live ones keep changing.
    for kind in KINDS:
        for version in kind.versions:
            text = (resources.files("newsbeam.schemas") / kind.released_file(version)).read_text()
            for other in KINDS:
                assert f'"{other.live_file}#' not in text


def test_the_record_carries_the_major_version_as_the_integer_consumers_know():
    assert SCHEMA_VERSION == ARTICLE.current.major == 1
    live = load_schema_file(ARTICLE.live_file)
    assert live["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    letter = DeadLetter(stage="parse", reason="no_text", error="e", source=_source(), raw="x")
    record = letter.to_record(pipeline_version="newsbeam/test")
    assert record["schema_version"] == DEAD_LETTER.current.major == 1
    assert _validator(load_schema_file(DEAD_LETTER.live_file)).is_valid(record)


def _source():
    from newsbeam.schemas.article import Source

    return Source(kind="file", uri="file:///a.txt")


def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(dereferenced(schema))


@pytest.mark.parametrize(
    ("kind", "fixture"),
    [(ARTICLE, "article-1.0.jsonl"), (DEAD_LETTER, "dead_letter-1.0.jsonl")],
    ids=["article", "dead_letter"],
)
def test_records_written_at_1_0_stay_valid_under_every_later_minor(kind, fixture):
    records = fixture_records(fixture)
    assert records
    for version in kind.versions:
        validator = _validator(load_schema_file(kind.released_file(version)))
        for record in records:
            assert list(validator.iter_errors(record)) == [], f"{kind.name} {version}"


def test_the_1_0_dead_letter_fixture_has_no_version_and_the_new_one_has():
    old = fixture_records("dead_letter-1.0.jsonl")[0]
    assert "schema_version" not in old
    old_schema = load_schema_file(DEAD_LETTER.released_file(Version(1, 0)))
    letter = DeadLetter(stage="read", reason="x", error="e", source=_source(), raw="y")
    new = letter.to_record(pipeline_version="newsbeam/test")
    # Readers that validate with the old, closed schema see the new field: that is why the
    # policy says to validate with the newest schema of the major (README).
    assert not _validator(old_schema).is_valid(new)


def test_a_synthetic_next_minor_with_the_announced_fields_is_additive():
    current = load_schema_file(ARTICLE.live_file)
    proposed = next_article_minor()
    assert compatibility_problems(current, proposed) == []
    validator = _validator(proposed)
    for record in fixture_records("article-1.0.jsonl"):
        assert validator.is_valid(record)
    record = fixture_records("article-1.0.jsonl")[3]
    record["duplicate"] = {"status": "contained", "of": "a", "similarity": 0.7, "containment": 0.95}
    record["story"] = {"id": "story-1", "similarity": 0.5, "size": 3}
    assert validator.is_valid(record)


def _edit(path: str, change):
    schema = copy.deepcopy(load_schema_file(ARTICLE.live_file))
    node = schema
    for token in path.split("/"):
        node = node[token]
    change(node)
    return schema


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (
            _edit("properties/word_count", lambda n: n.update(type="string")),
            "word_count: type narrowed",
        ),
        (_edit("properties", lambda n: n.pop("topics")), "topics: removed"),
        (
            _edit("properties/duplicate/properties/status/enum", lambda n: n.remove("near")),
            "duplicate.status: allowed values narrowed",
        ),
        (_edit("required", lambda n: n.append("language_hint")), "language_hint: became required"),
        (
            _edit("properties/language_score", lambda n: n.update(maximum=0.5)),
            "language_score: maximum lowered",
        ),
        (
            _edit("properties/title", lambda n: n.update(type="string")),
            "title: type narrowed",
        ),
        (
            _edit("properties/url", lambda n: n.update(pattern="^https://")),
            "url: pattern changed",
        ),
        (
            _edit("properties/topics/items/properties/score", lambda n: n.update(minimum=0.1)),
            "topics[].score: minimum raised",
        ),
        (
            _edit("properties/removed/additionalProperties", lambda n: n.update(type="string")),
            "removed{}: type narrowed",
        ),
        (
            _edit("properties/schema_version", lambda n: n.update(const=2)),
            "schema_version: allowed values narrowed",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_breaking_changes_are_named(schema, problem):
    problems = compatibility_problems(load_schema_file(ARTICLE.live_file), schema)
    assert any(p.startswith(problem) for p in problems), problems


def test_a_new_required_field_inside_an_object_is_breaking():
    schema = next_article_minor()
    schema["properties"]["duplicate"]["required"].append("containment")
    problems = compatibility_problems(load_schema_file(ARTICLE.live_file), schema)
    assert problems == ["duplicate.containment: became required"]


def test_an_integer_field_may_widen_to_number_but_not_back():
    live = load_schema_file(ARTICLE.live_file)
    wider = _edit("properties/word_count", lambda n: n.update(type="number"))
    assert compatibility_problems(live, wider) == []
    assert compatibility_problems(wider, live) != []


@pytest.mark.parametrize("text", ["1", "v1.0", "1.0.0", "", "one.two"])
def test_versions_are_major_dot_minor(text):
    with pytest.raises(ValueError, match="not a schema version"):
        Version.parse(text)


def test_versions_order_numerically():
    assert Version.parse("1.10") > Version.parse("1.9") > Version.parse("1.0")
    assert str(Version.parse("2.3")) == "2.3"


def test_validation_knows_every_released_file():
    # What a consumer holding old data does: validate with the release the data was written at.
    from newsbeam.schemas.validation import validation_errors

    old = fixture_records("dead_letter-1.0.jsonl")[1]
    for version in DEAD_LETTER.versions:
        assert validation_errors(old, DEAD_LETTER.released_file(version)) == []
    broken = {**old, "source": {**old["source"], "kind": "ftp"}}  # through the $ref
    errors = validation_errors(broken, DEAD_LETTER.released_file(Version(1, 0)))
    assert errors and errors[0].startswith("source/kind")


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_release_tool_reproduces_the_frozen_files(kind):
    from newsbeam.schemas.versions import release_text

    frozen = (resources.files("newsbeam.schemas") / kind.released_file(kind.current)).read_text()
    assert release_text(kind, kind.current) == frozen


def test_the_release_tool_refuses_a_version_that_is_not_newer(capsys):
    from newsbeam.schemas.versions import main

    with pytest.raises(SystemExit):
        main(["release", "dead_letter", "1.1"])
    assert "not newer than 1.1" in capsys.readouterr().err
