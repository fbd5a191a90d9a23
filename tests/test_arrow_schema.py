"""The Parquet schema is derived from the JSON Schemas and keeps tracking them."""

import copy

import pyarrow as pa
import pytest
from sink_helpers import article_records, dead_letter_records

from newsbeam.transforms.io.parquet.arrow_schema import (
    ARTICLE_SCHEMA_FILE,
    DEAD_LETTER_SCHEMA_FILE,
    RecordShapeError,
    RecordShaper,
    SchemaDerivationError,
    load_json_schema,
)


def _resolve(node):
    ref = node.get("$ref")
    if ref:
        file_name, _, pointer = ref.partition("#")
        node = load_json_schema(file_name)
        for token in filter(None, pointer.split("/")):
            node = node[token]
    return node


def _assert_tracks(node, arrow_type, path):
    """Check one JSON Schema node against the Arrow type derived for it."""
    node = _resolve(node)
    types = node.get("type")
    types = [types] if isinstance(types, str) else types or []
    concrete = [t for t in types if t != "null"]
    if "const" in node:
        assert arrow_type == pa.int64(), path  # schema_version
    elif "enum" in node and not types:
        assert arrow_type == pa.string(), path
    elif concrete == ["object"] and "properties" in node:
        assert pa.types.is_struct(arrow_type), path
        names = [arrow_type.field(i).name for i in range(arrow_type.num_fields)]
        assert names == list(node["properties"]), path
        required = set(node.get("required", ()))
        for name, child in node["properties"].items():
            field = arrow_type.field(name)
            child_types = _resolve(child).get("type")
            may_be_null = name not in required or "null" in (child_types or [])
            assert field.nullable == may_be_null, f"{path}.{name}"
            _assert_tracks(child, field.type, f"{path}.{name}")
    elif concrete == ["object"]:
        assert pa.types.is_map(arrow_type), path
        _assert_tracks(node["additionalProperties"], arrow_type.item_type, f"{path}{{}}")
    elif concrete == ["array"]:
        assert pa.types.is_list(arrow_type), path
        _assert_tracks(node["items"], arrow_type.value_type, f"{path}[]")
    elif concrete == ["string"] and node.get("format") == "date-time":
        assert arrow_type == pa.timestamp("us", tz="UTC"), path
    else:
        expected = {
            "string": pa.string(),
            "integer": pa.int64(),
            "number": pa.float64(),
            "boolean": pa.bool_(),
        }[concrete[0]]
        assert arrow_type == expected, path


@pytest.mark.parametrize("schema_file", [ARTICLE_SCHEMA_FILE, DEAD_LETTER_SCHEMA_FILE])
def test_every_json_schema_property_has_its_arrow_field(schema_file):
    json_schema = load_json_schema(schema_file)
    arrow_schema = RecordShaper(json_schema).arrow_schema
    _assert_tracks(json_schema, pa.struct(list(arrow_schema)), "record")
    assert arrow_schema.metadata[b"newsbeam.json_schema_id"] == json_schema["$id"].encode()


def test_a_field_added_to_the_contract_appears_in_parquet():
    json_schema = copy.deepcopy(load_json_schema(ARTICLE_SCHEMA_FILE))
    json_schema["properties"]["sentiment"] = {"type": ["number", "null"]}
    json_schema["properties"]["source"]["properties"]["region"] = {"type": "string"}
    json_schema["properties"]["entities"] = {
        "type": "array",
        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
    }
    schema = RecordShaper(json_schema).arrow_schema
    assert schema.field("sentiment").type == pa.float64()
    assert schema.field("source").type.field("region").type == pa.string()
    assert schema.field("entities").type.value_type.field("name").type == pa.string()


def test_unmappable_schema_is_refused():
    with pytest.raises(SchemaDerivationError, match="cannot map"):
        RecordShaper({"type": "object", "properties": {"x": {"type": ["string", "integer"]}}})


def test_records_round_trip_through_shape_and_restore():
    shaper = RecordShaper.from_schema_file(ARTICLE_SCHEMA_FILE)
    records = article_records(6)
    rows = shaper.to_table(records).to_pylist()
    restored = shaper.from_arrow_rows(rows)
    for original, back in zip(records, restored, strict=True):
        assert back["removed"] == original["removed"]  # a map, not a list of pairs
        assert back.keys() == original.keys()  # optional fields absent stay absent
        for name in ("published_at", "ingested_at"):
            if original[name] is None:
                assert back[name] is None
            else:
                assert back[name].endswith("Z")
        assert {k: v for k, v in back.items() if not k.endswith("_at")} == {
            k: v for k, v in original.items() if not k.endswith("_at")
        }
    assert restored[0]["published_at"] == "2024-03-10T06:00:00Z"  # +02:00 -> UTC


def test_dead_letters_shape_too():
    shaper = RecordShaper.from_schema_file(DEAD_LETTER_SCHEMA_FILE)
    records = dead_letter_records()
    assert shaper.to_table(records).num_rows == len(records)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sentiment": 0.4}, "not in the schema: sentiment"),
        ({"id": None}, "id: null is not allowed"),
        ({"published_at": "2024-03-10 08:00"}, "no UTC offset"),
        ({"published_at": "yesterday"}, "not an RFC 3339"),
        ({"topics": "economy"}, "topics: expected a list"),
        (
            {"duplicate": {"status": "unique", "of": None, "similarity": None, "x": 1}},
            "duplicate: field",
        ),
    ],
)
def test_shape_errors_name_the_field(change, message):
    shaper = RecordShaper.from_schema_file(ARTICLE_SCHEMA_FILE)
    record = {**article_records(1)[0], **change}
    with pytest.raises(RecordShapeError, match=message):
        shaper.shape(record)


def test_missing_required_field():
    shaper = RecordShaper.from_schema_file(ARTICLE_SCHEMA_FILE)
    record = article_records(1)[0]
    del record["language"]
    with pytest.raises(RecordShapeError, match="language: required field is missing"):
        shaper.shape(record)
