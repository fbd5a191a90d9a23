"""Released versions of the record schemas, and what may change between two of them.

The policy (docs, "Schema versions"):

- An additive change -- a new property that is not `required` (top level or nested), a new
  enum value, a looser bound -- is a new *minor* version: every record valid under the
  previous version stays valid, so readers of the old data and of the new data agree.
- Anything else -- removing, renaming or retyping a property, making one required, narrowing a
  type, an enum or a bound -- is a new *major* version and ships with a migration.

Every released version is kept as a frozen copy `{kind}-{major}.{minor}.schema.json` in this
package; the live file `{kind}.schema.json` is what the code writes and must equal the newest
release (tests/test_schema_versions.py). The record itself carries only the major version
(`schema_version`, an integer): that is what a consumer must branch on, and it is the type
consumers of schema_version 1 already rely on.

Releasing an additive change: edit the live file, run
`python -m newsbeam.schemas.versions release KIND M.m` (the frozen copy, with its own `$id`
and cross-file `$ref`s naming released files), and add the version to `released` below. The
Parquet columns, the PostgreSQL migration and the version stamps follow.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_VERSION = re.compile(r"^(\d+)\.(\d+)$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a schema version (MAJOR.MINOR, e.g. 1.0)")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True)
class RecordKind:
    """One kind of record (article, dead letter) and its released schema versions."""

    name: str
    released: tuple[str, ...]  # oldest first

    @property
    def live_file(self) -> str:
        return f"{self.name}.schema.json"

    @property
    def versions(self) -> tuple[Version, ...]:
        return tuple(Version.parse(text) for text in self.released)

    @property
    def current(self) -> Version:
        return self.versions[-1]

    def released_file(self, version: Version) -> str:
        return f"{self.name}-{version}.schema.json"


ARTICLE = RecordKind("article", released=("1.0", "1.1", "1.2"))
DEAD_LETTER = RecordKind("dead_letter", released=("1.0", "1.1"))
KINDS = (ARTICLE, DEAD_LETTER)


def version_of_file(name: str) -> tuple[RecordKind, Version] | None:
    """The kind and version a schema file describes (the live file: the current version)."""
    for kind in KINDS:
        if name == kind.live_file:
            return kind, kind.current
        for version in kind.versions:
            if name == kind.released_file(version):
                return kind, version
    return None


def load_schema_file(name: str) -> dict[str, Any]:
    """A schema file shipped in the newsbeam.schemas package."""
    return json.loads(resources.files("newsbeam.schemas").joinpath(name).read_text("utf-8"))


@cache
def _cached(name: str) -> str:
    return json.dumps(load_schema_file(name))


def dereferenced(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `$ref` (same file or a sibling file) replaced by its target."""
    return _inline(schema, schema)


def _inline(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if ref is not None:
        file_part, _, pointer = ref.partition("#")
        target_root = json.loads(_cached(file_part)) if file_part else root
        target: Any = target_root
        for token in filter(None, pointer.split("/")):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        rest = {key: value for key, value in node.items() if key != "$ref"}
        return _inline({**target, **rest}, target_root)
    return {key: _inline(value, root) for key, value in node.items()}


def comparable(schema: dict[str, Any]) -> dict[str, Any]:
    """What must be equal between the live file and its release: all but `$id`."""
    body = dereferenced(schema)
    body.pop("$id", None)
    return body


# --- compatibility -------------------------------------------------------------------

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_MUST_STAY_EQUAL = ("pattern", "format", "multipleOf")


def compatibility_problems(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every way a record valid under `old` could be invalid under `new` (empty: a minor step).

    Works on the constructs the newsbeam schemas use (type, const, enum, properties,
    required, additionalProperties, items, bounds, pattern, format); anything it cannot
    compare is reported rather than assumed compatible.
    """
    problems: list[str] = []
    _compare(dereferenced(old), dereferenced(new), "", problems)
    return problems


def _types(node: dict[str, Any]) -> set[str] | None:
    """The JSON types a node admits (None: any)."""
    declared = node.get("type")
    if declared is not None:
        return {declared} if isinstance(declared, str) else set(declared)
    values = [node["const"]] if "const" in node else node.get("enum")
    if values is None:
        return None
    return {_json_type(value) for value in values}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _values(node: dict[str, Any]) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    return node.get("enum")


def _compare(old: dict[str, Any], new: dict[str, Any], path: str, problems: list[str]) -> None:
    where = path or "<root>"
    old_types, new_types = _types(old), _types(new)
    if new_types is not None:
        widened = set(new_types)
        if "number" in widened:
            widened.add("integer")  # every integer is a number
        if old_types is None or not old_types <= widened:
            problems.append(f"{where}: type narrowed from {old_types or 'any'} to {new_types}")
            return
    old_values, new_values = _values(old), _values(new)
    if new_values is not None and (
        old_values is None or any(value not in new_values for value in old_values)
    ):
        problems.append(f"{where}: allowed values narrowed from {old_values} to {new_values}")
    for keyword in _MUST_STAY_EQUAL:
        if keyword in new and new.get(keyword) != old.get(keyword):
            problems.append(f"{where}: {keyword} changed from {old.get(keyword)!r}")
    for keyword in _LOWER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            problems.append(f"{where}: {keyword} raised to {new[keyword]}")
    for keyword in _UPPER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            problems.append(f"{where}: {keyword} lowered to {new[keyword]}")
    for keyword in ("allOf", "anyOf", "oneOf", "not", "if", "dependentRequired"):
        if keyword in new and new.get(keyword) != old.get(keyword):
            problems.append(f"{where}: {keyword} changed (not comparable: make it a major)")
    if "items" in new:
        if "items" in old:
            _compare(old["items"], new["items"], f"{path}[]", problems)
        else:
            problems.append(f"{where}: items constrained")
    _compare_object(old, new, path, problems)


def _compare_object(
    old: dict[str, Any], new: dict[str, Any], path: str, problems: list[str]
) -> None:
    where = path or "<root>"
    old_properties = old.get("properties", {})
    new_properties = new.get("properties", {})
    for name, old_child in old_properties.items():
        child_path = f"{path}.{name}" if path else name
        if name not in new_properties:
            if new.get("additionalProperties", True) is False:
                problems.append(f"{child_path}: removed")
            continue
        _compare(old_child, new_properties[name], child_path, problems)
    old_required = set(old.get("required", ()))
    for name in new.get("required", ()):
        if name not in old_required:
            problems.append(f"{path + '.' if path else ''}{name}: became required")
    old_extra = old.get("additionalProperties", True)
    new_extra = new.get("additionalProperties", True)
    if new_extra is False and old_extra is not False:
        problems.append(f"{where}: additional properties forbidden")
    elif isinstance(new_extra, dict):
        if isinstance(old_extra, dict):
            _compare(old_extra, new_extra, f"{path}{{}}", problems)
        elif old_extra is True:
            problems.append(f"{where}: additional properties constrained")
    for name, new_child in new_properties.items():
        if name in old_properties:
            continue
        child_path = f"{path}.{name}" if path else name
        if old_extra is not False:
            # The old schema let any value through under this name: the new one must too.
            template = old_extra if isinstance(old_extra, dict) else {}
            _compare(template, new_child, child_path, problems)


# --- releasing ------------------------------------------------------------------------


def _pointed(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _oldest_release_with(other: RecordKind, pointer: str) -> str:
    """The oldest released file of `other` whose definition at `pointer` is the live one:
    a frozen file keeps pointing at the same release while the definition it uses does
    not change (an additive release of the other kind elsewhere does not move it)."""
    package = resources.files("newsbeam.schemas")
    live = _pointed(json.loads(package.joinpath(other.live_file).read_text("utf-8")), pointer)
    for version in other.versions:
        released = json.loads(package.joinpath(other.released_file(version)).read_text("utf-8"))
        try:
            if _pointed(released, pointer) == live:
                return other.released_file(version)
        except (KeyError, TypeError):
            continue
    return other.released_file(other.current)


def release_text(kind: RecordKind, version: Version) -> str:
    """The frozen copy of `kind`'s live file as release `version`: its own `$id`, and
    references to other live files pointed at the oldest release holding the same
    definition (release the other kind first when the definition changed)."""
    package = resources.files("newsbeam.schemas")
    text = package.joinpath(kind.live_file).read_text("utf-8")
    own_id = f'/{kind.live_file}"'
    if text.count(own_id) != 1:
        raise ValueError(f"{kind.live_file}: expected one $id ending in {own_id}")
    text = text.replace(own_id, f'/{kind.released_file(version)}"')
    for other in KINDS:
        if other is kind:
            continue
        for pointer in set(re.findall(rf'"{re.escape(other.live_file)}#([^"]*)"', text)):
            target = _oldest_release_with(other, pointer)
            text = text.replace(f'"{other.live_file}#{pointer}"', f'"{target}#{pointer}"')
    return text


def main(argv: list[str] | None = None) -> int:
    """`python -m newsbeam.schemas.versions release KIND VERSION`: write the frozen copy."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m newsbeam.schemas.versions")
    parser.add_argument("command", choices=["release"])
    parser.add_argument("kind", choices=[kind.name for kind in KINDS])
    parser.add_argument("version", type=Version.parse, help="MAJOR.MINOR")
    args = parser.parse_args(argv)
    kind = next(kind for kind in KINDS if kind.name == args.kind)
    if args.version <= kind.current:
        parser.error(f"{kind.name} {args.version} is not newer than {kind.current}")
    target = Path(str(resources.files("newsbeam.schemas"))) / kind.released_file(args.version)
    target.write_text(release_text(kind, args.version), encoding="utf-8")
    print(f"wrote {target}; now add {str(args.version)!r} to {kind.name.upper()}.released")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
