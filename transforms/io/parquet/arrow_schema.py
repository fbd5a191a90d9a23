"""Arrow schemas derived from the record JSON Schemas, and records shaped to fit.

The Parquet sink never keeps its own copy of the record layout: it reads
schemas/article.schema.json (or dead_letter.schema.json) and derives the Arrow
schema from it, so a field added to the contract shows up in Parquet without
touching this module (tests/test_arrow_schema.py checks that they agree).

Mapping (nested objects stay nested, so DuckDB/pyarrow users get real columns):

- string -> string; string with `format: date-time` -> timestamp[us, UTC]
- integer -> int64, number -> float64, boolean -> bool; `const`/`enum` by value
- array -> list<item>
- object with `properties` -> struct (property order kept)
- object with only `additionalProperties` (e.g. `removed`) -> map<string, value>
- `["T", "null"]` or a property not in `required` -> nullable field

`RecordShaper` checks a record against that shape (unknown keys when the schema
forbids them, missing required fields, nulls where none are allowed, date-times
without an offset) and converts it to what pyarrow expects (datetimes, map
entries); pyarrow then type-checks the leaves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pyarrow as pa

from newsbeam.schemas.versions import version_of_file

ARTICLE_SCHEMA_FILE = "article.schema.json"
DEAD_LETTER_SCHEMA_FILE = "dead_letter.schema.json"
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")


class SchemaDerivationError(ValueError):
    """The JSON Schema uses a construct with no Arrow equivalent here."""


class RecordShapeError(ValueError):
    """A record does not fit the derived schema; str() names the field (`a.b[2]: ...`)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path

    def inside(self, segment: str) -> RecordShapeError:
        """The same error, one level further out (`segment` is a key or `[i]`)."""
        if not self.path:
            path = segment
        elif self.path.startswith("["):
            path = segment + self.path
        else:
            path = f"{segment}.{self.path}"
        return RecordShapeError(self.message, path)


# JSON-style value (never None) -> what pyarrow accepts; None = pass through
# unchanged (scalars: pyarrow checks their type itself). Paths are only built
# when something is wrong, to keep the common case cheap.
Converter = Callable[[Any], Any]
Restorer = Callable[[Any], Any]


@dataclass(frozen=True)
class _Derived:
    arrow_type: pa.DataType
    nullable: bool
    convert: Converter | None  # JSON-style value -> what pyarrow accepts
    restore: Restorer  # what pyarrow returns -> JSON-style value


def load_json_schema(name: str) -> dict[str, Any]:
    """A schema file shipped in the newsbeam.schemas package."""
    text = resources.files("newsbeam.schemas").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


class RecordShaper:
    """The Arrow schema of one JSON Schema, and the record conversion for it."""

    def __init__(self, json_schema: dict[str, Any], *, version: str = "") -> None:
        self.json_schema = json_schema
        root = _derive(json_schema, json_schema, path="")
        if not pa.types.is_struct(root.arrow_type):
            raise SchemaDerivationError("the top level of a record schema must be an object")
        fields = [root.arrow_type.field(i) for i in range(root.arrow_type.num_fields)]
        metadata = {
            "newsbeam.json_schema_id": str(json_schema.get("$id", "")),
            "newsbeam.json_schema_title": str(json_schema.get("title", "")),
        }
        if version:
            # kind/major.minor, as in the Kafka header: which release wrote this file.
            metadata["newsbeam.schema_version"] = version
        self.arrow_schema = pa.schema(fields, metadata=metadata)
        self._convert_root = root.convert
        self._restore_root = root.restore

    @classmethod
    def from_schema_file(cls, name: str) -> RecordShaper:
        found = version_of_file(name)
        version = f"{found[0].name}/{found[1]}" if found else ""
        return cls(load_json_schema(name), version=version)

    def shape(self, record: Any) -> dict[str, Any]:
        """The record as pyarrow's `from_pylist` wants it; RecordShapeError if it cannot be."""
        return self._convert_root(record)

    def to_table(self, records: list[dict[str, Any]]) -> pa.Table:
        """Shape and convert a batch; raises on the first record that does not fit."""
        return pa.Table.from_pylist([self.shape(r) for r in records], schema=self.arrow_schema)

    def from_arrow_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows read back from Parquet (`Table.to_pylist()`) as JSON-style records.

        Maps come back as dicts, timestamps as RFC 3339 strings in UTC (`Z`), and
        optional fields that were absent (null) are left out again.
        """
        return [self._restore_root(row) for row in rows]


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with `Z`, microseconds only when present."""
    value = value.astimezone(UTC)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise RecordShapeError(f"{value!r} is not an RFC 3339 date-time") from None
    else:
        raise RecordShapeError(f"expected an RFC 3339 string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        raise RecordShapeError(f"{value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` (same file `#/...`, or a sibling schema file `x.json#/...`)."""
    ref = node.get("$ref")
    if ref is None:
        return node
    file_part, _, pointer = ref.partition("#")
    target = load_json_schema(file_part) if file_part else root
    for token in filter(None, pointer.split("/")):
        target = target[token.replace("~1", "/").replace("~0", "~")]
    return _resolve(target, target if file_part else root)


def _derive(node: dict[str, Any], root: dict[str, Any], *, path: str) -> _Derived:
    node = _resolve(node, root)
    types = node.get("type")
    if types is None:
        types = _types_of_values(node, path)
    if isinstance(types, str):
        types = [types]
    nullable = "null" in types
    concrete = [t for t in types if t != "null"]
    if len(concrete) != 1:
        raise SchemaDerivationError(f"{path or '<root>'}: cannot map type {types!r} to Arrow")
    kind = concrete[0]
    if kind == "object":
        return _derive_object(node, root, path=path, nullable=nullable)
    if kind == "array":
        item = _derive(node.get("items", {}), root, path=f"{path}[]")
        item_field = pa.field("element", item.arrow_type, nullable=item.nullable)
        return _Derived(
            pa.list_(item_field),
            nullable,
            _list_converter(item),
            _skip_none(lambda rows: [item.restore(row) for row in rows]),
        )
    if kind == "string" and node.get("format") == "date-time":
        return _Derived(TIMESTAMP_TYPE, nullable, parse_timestamp, _skip_none(format_timestamp))
    scalar = {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
    }.get(kind)
    if scalar is None:
        raise SchemaDerivationError(f"{path or '<root>'}: unknown JSON type {kind!r}")
    return _Derived(scalar, nullable, None, _identity_restore)


def _types_of_values(node: dict[str, Any], path: str) -> list[str]:
    """The JSON type of a `const` or `enum` with no `type` (e.g. schema_version)."""
    values = [node["const"]] if "const" in node else list(node.get("enum", ()))
    if not values:
        raise SchemaDerivationError(f"{path or '<root>'}: no type, const or enum")
    names = set()
    for value in values:
        if value is None:
            names.add("null")
        elif isinstance(value, bool):
            names.add("boolean")
        elif isinstance(value, int):
            names.add("integer")
        elif isinstance(value, float):
            names.add("number")
        elif isinstance(value, str):
            names.add("string")
        else:
            raise SchemaDerivationError(f"{path}: cannot map value {value!r} to Arrow")
    return sorted(names)


def _derive_object(
    node: dict[str, Any], root: dict[str, Any], *, path: str, nullable: bool
) -> _Derived:
    properties = node.get("properties")
    additional = node.get("additionalProperties", True)
    if not properties:
        if not isinstance(additional, dict):
            raise SchemaDerivationError(f"{path}: an object needs properties or a value schema")
        value = _derive(additional, root, path=f"{path}{{}}")
        map_type = pa.map_(pa.string(), pa.field("value", value.arrow_type, value.nullable))
        return _Derived(
            map_type,
            nullable,
            _map_converter(value),
            _skip_none(lambda pairs: {key: value.restore(item) for key, item in pairs}),
        )
    required = set(node.get("required", ()))
    children: dict[str, _Derived] = {}
    fields = []
    for name, child_node in properties.items():
        child = _derive(child_node, root, path=f"{path}.{name}" if path else name)
        # A property that may be absent is null in Arrow even if its type is not.
        may_be_null = child.nullable or name not in required
        child = _Derived(child.arrow_type, may_be_null, child.convert, child.restore)
        children[name] = child
        fields.append(pa.field(name, child.arrow_type, nullable=child.nullable))
    closed = additional is False
    return _Derived(
        pa.struct(fields),
        nullable,
        _object_converter(children, required, closed),
        _skip_none(_object_restorer(children, required)),
    )


def _identity_restore(value: Any) -> Any:
    return value


def _skip_none(restore: Restorer) -> Restorer:
    return lambda value: None if value is None else restore(value)


def _object_restorer(children: dict[str, _Derived], required: set[str]) -> Restorer:
    def restore(row: dict[str, Any]) -> dict[str, Any]:
        record = {}
        for name, child in children.items():
            value = row.get(name)
            # to_record leaves optional fields out rather than writing null.
            if value is None and name not in required:
                continue
            record[name] = child.restore(value)
        return record

    return restore


def _convert_child(child: _Derived, value: Any) -> Any:
    if value is None:
        if child.nullable:
            return None
        raise RecordShapeError("null is not allowed")
    return value if child.convert is None else child.convert(value)


def _list_converter(item: _Derived) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise RecordShapeError(f"expected a list, got {type(value).__name__}")
        if item.convert is None and not any(element is None for element in value):
            return value
        shaped = []
        for index, element in enumerate(value):
            try:
                shaped.append(_convert_child(item, element))
            except RecordShapeError as error:
                raise error.inside(f"[{index}]") from None
        return shaped

    return convert


def _map_converter(value_schema: _Derived) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            raise RecordShapeError(f"expected an object, got {type(value).__name__}")
        shaped = []
        for key, item in value.items():
            try:
                shaped.append((str(key), _convert_child(value_schema, item)))
            except RecordShapeError as error:
                raise error.inside(str(key)) from None
        return shaped

    return convert


def _object_converter(children: dict[str, _Derived], required: set[str], closed: bool) -> Converter:
    names = frozenset(children)
    plan = [(name, child, name in required) for name, child in children.items()]

    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            raise RecordShapeError(f"expected an object, got {type(value).__name__}")
        if closed and not names.issuperset(value):
            unknown = ", ".join(str(key) for key in value if key not in names)
            raise RecordShapeError(f"field(s) not in the schema: {unknown}")
        shaped = {}
        for name, child, is_required in plan:
            if name not in value:
                if is_required:
                    raise RecordShapeError("required field is missing", name)
                shaped[name] = None
                continue
            item = value[name]
            if item is not None and child.convert is None:
                shaped[name] = item  # the common case: a scalar pyarrow will check
                continue
            try:
                shaped[name] = _convert_child(child, item)
            except RecordShapeError as error:
                raise error.inside(name) from None
        return shaped

    return convert
